import Logging
import ScanCore

/// Persists the watches' events off the publish path (issue 14 part 5): a round publishes its events
/// and queues them here; one write at a time stores everything queued since the last one, one
/// `WatchRepository.recordEvents` (one transaction) per watch, in the order the events were
/// published. Reads of the log (`GET_WATCH events_after`) and deletions ``flush()`` first.
final class WatchEventLog: Sendable {
    /// One round's changes of one watch: its events, its `seq` after them, and a snapshot of its set
    /// at that `seq` when one is due.
    struct Record: Sendable {
        var watchId: String
        var events: [WatchEvent]
        var seq: Int
        var entries: [WatchEntry]?
    }

    private let queue: QueuedWriter<[Record]>

    init(repository: any WatchRepository, logger: Logger) {
        queue = QueuedWriter { records in
            for r in Self.merged(records) {
                do {
                    try await repository.recordEvents(
                        watchId: r.watchId,
                        events: r.events,
                        seq: r.seq,
                        entries: r.entries
                    )
                } catch {
                    logger.error(
                        "could not persist a watch's events",
                        metadata: ["watch": "\(r.watchId)", "error": "\(error)"]
                    )
                }
            }
        }
    }

    /// Queues a round's changes of one watch.
    func append(_ record: Record) {
        queue.enqueue { pending in
            var list = pending ?? []
            pending = nil  // so `list` is the only reference and grows in place
            list.append(record)
            pending = list
        }
    }

    /// Waits until every record queued before the call is stored (or its write failed and was logged).
    func flush() async { await queue.flush() }

    /// The records of each watch joined into as few as keep the same meaning: a record's events and
    /// `seq` join the watch's previous one unless that one carries a snapshot (which is the set at
    /// its own `seq`); a later snapshot covers every event before it.
    static func merged(_ records: [Record]) -> [Record] {
        var out: [Record] = []
        var lastOf: [String: Int] = [:]
        for r in records {
            if let i = lastOf[r.watchId], out[i].entries == nil {
                out[i].events += r.events
                out[i].seq = r.seq
                out[i].entries = r.entries
            } else {
                lastOf[r.watchId] = out.count
                out.append(r)
            }
        }
        return out
    }
}
