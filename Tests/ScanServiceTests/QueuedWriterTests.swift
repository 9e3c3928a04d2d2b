import Foundation
import ScanCore
import Synchronization
import Testing

@testable import ScanService

/// The writers that keep the store's appends and the watches' event log off the event path
/// (issue 14 part 5).
@Suite struct QueuedWriterTests {
    /// A write that waits until the test lets it finish.
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>], entered: Int)>(
            (false, [], 0)
        )
        func pass() async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let go = state.withLock { s -> Bool in
                    s.entered += 1
                    if s.open { return true }
                    s.waiting.append(c)
                    return false
                }
                if go { c.resume() }
            }
        }
        var entered: Int { state.withLock { $0.entered } }
        func open() {
            let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.open = true
                defer { s.waiting = [] }
                return s.waiting
            }
            for c in waiting { c.resume() }
        }
    }

    /// The batches written, in order.
    final class Log: Sendable {
        private let batches = Mutex<[[Int]]>([])
        func append(_ b: [Int]) { batches.withLock { $0.append(b) } }
        var all: [[Int]] { batches.withLock { $0 } }
    }

    static func writer(_ log: Log, gate: Gate? = nil) -> QueuedWriter<[Int]> {
        QueuedWriter { batch in
            await gate?.pass()
            log.append(batch)
        }
    }

    static func add(_ w: QueuedWriter<[Int]>, _ n: Int, start: Bool = true) {
        w.enqueue(startWriting: start) { pending in
            var list = pending ?? []
            pending = nil
            list.append(n)
            pending = list
        }
    }

    @Test func heldBatchesWaitForStartOrFlush() async {
        let log = Log()
        let w = Self.writer(log)
        Self.add(w, 1, start: false)
        Self.add(w, 2, start: false)
        // Nothing started a write: nothing can have been written.
        #expect(log.all.isEmpty)
        await w.flush()
        #expect(log.all == [[1, 2]])
        Self.add(w, 3, start: false)
        w.startWriting()
        await w.flush()
        #expect(log.all == [[1, 2], [3]])
    }

    @Test func whatIsQueuedDuringAWriteIsTheNextWrite() async throws {
        let log = Log()
        let gate = Gate()
        let w = Self.writer(log, gate: gate)
        Self.add(w, 1)
        let deadline = ContinuousClock.now + .seconds(30)
        while gate.entered == 0, ContinuousClock.now < deadline { await Task.yield() }
        #expect(gate.entered == 1)
        Self.add(w, 2)
        Self.add(w, 3)
        gate.open()
        await w.flush()
        #expect(log.all == [[1], [2, 3]])
    }

    @Test func eventRecordsMergePerWatchUpToASnapshot() {
        func event(_ seq: Int) -> WatchEvent {
            WatchEvent(
                seq: seq,
                kind: .enter,
                entry: WatchEntry(
                    match: SignalMatch(
                        symbol: "S\(seq)",
                        timestamp: BarTimestamp(epochSeconds: 0, utcOffsetSeconds: 0, isIntraday: true),
                        signal: "up",
                        close: 1,
                        values: [:]
                    )
                ),
                time: Date(timeIntervalSince1970: 0)
            )
        }
        let snapshot = [event(2).entry]
        let merged = WatchEventLog.merged([
            .init(watchId: "a", events: [event(1)], seq: 1, entries: nil),
            .init(watchId: "b", events: [event(1)], seq: 1, entries: nil),
            .init(watchId: "a", events: [event(2)], seq: 2, entries: snapshot),
            .init(watchId: "a", events: [event(3)], seq: 3, entries: nil),
            .init(watchId: "a", events: [event(4)], seq: 4, entries: nil),
        ])
        #expect(merged.map(\.watchId) == ["a", "b", "a"])
        #expect(merged.map { $0.events.map(\.seq) } == [[1, 2], [1], [3, 4]])
        #expect(merged.map(\.seq) == [2, 1, 4])
        #expect(merged.map { $0.entries?.count } == [1, nil, nil])
    }
}
