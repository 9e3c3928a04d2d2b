import ScanCore
import ScanProtocol

/// A watch's set kept up to date from its `enter`/`exit` events (what `scan live follow` shows).
public struct LiveTracker: Sendable {
    /// The watch as last read (`GET_WATCH`), with `matches` kept current by the events since.
    public private(set) var watch: WatchDocument
    private var entries: [String: WatchEntryDocument]

    public init(_ watch: WatchDocument) {
        self.watch = watch
        entries = Dictionary((watch.matches ?? []).map { (Self.key($0), $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func key(_ e: WatchEntryDocument) -> String { "\(e.symbol)\u{1F}\(e.signal)" }

    /// The `seq` the set corresponds to.
    public var seq: Int { watch.seq }

    /// The current set, sorted by symbol and signal.
    public var matches: [WatchEntryDocument] { watch.matches ?? [] }

    /// Applies the next event; `false` (nothing applied) when it is not the one after ``seq``.
    public mutating func apply(_ event: LiveEventDocument) -> Bool {
        guard event.watchId == watch.watchId, event.seq == watch.seq + 1 else { return false }
        watch.seq = event.seq
        guard let entry = event.entry else { return true }
        switch event.event {
        case "enter": entries[Self.key(entry)] = entry
        case "exit": entries[Self.key(entry)] = nil
        default: break
        }
        let sorted = entries.values.sorted { ($0.symbol, $0.signal) < ($1.symbol, $1.signal) }
        watch.matches = sorted
        watch.matchCount = sorted.count
        return true
    }

    /// Starts again from a fresh `GET_WATCH`.
    public mutating func replace(with watch: WatchDocument) { self = LiveTracker(watch) }
}

/// One watch followed until it is stopped (or ``close()``): its events in `seq` order without gaps.
///
/// The subscription to `live.<watch_id>.` is open before the watch is read, so nothing after that
/// read is missed; an event whose `seq` is not the next fetches the missing ones from the watch's log
/// (`GET_WATCH` with `events_after`), and a quiet spell of `pollInterval` re-reads the watch (a
/// restarted service, dropped events).
public final class LiveFollow: Sendable {
    /// What following yields.
    public enum Update: Sendable {
        /// An `enter`, `exit` or `stopped` event, in `seq` order; `watch` is the state after it.
        case event(LiveEventDocument, watch: WatchDocument)
        /// The watch as read from the service (the start, and after a re-read).
        case state(WatchDocument)
    }

    public let id: String
    /// Every update; ends after `stopped`. Throws ``ScanClientError`` when the service cannot be read.
    public let updates: AsyncThrowingStream<Update, any Error>
    private let subscription: EventSubscription
    private let tasks: [Task<Void, Never>]

    init(client: ScanClient, subscription: EventSubscription, initial: WatchDocument, pollInterval: Duration) {
        let id = initial.watchId
        self.id = id
        self.subscription = subscription
        enum Input: Sendable {
            case event(LiveEventDocument)
            case tick
        }
        let (inputs, sink) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .unbounded)
        let (updates, out) = AsyncThrowingStream.makeStream(of: Update.self, bufferingPolicy: .unbounded)
        self.updates = updates
        let feeders = FollowPump.start(
            events: subscription.liveEvents,
            where: { $0.watchId == id },
            into: sink,
            event: { .event($0) },
            tick: .tick,
            every: pollInterval
        )
        let driver = Task {
            var tracker = LiveTracker(initial)
            out.yield(.state(initial))
            var quiet = QuietSpell(pollInterval)
            do {
                loop: for await input in inputs {
                    switch input {
                    case .event(let e):
                        quiet.heard()
                        if e.seq <= tracker.seq { continue }
                        if e.seq > tracker.seq + 1 {
                            // Missed events: fetch them from the log, in order.
                            let missing = try await client.watch(id, eventsAfter: tracker.seq).events ?? []
                            for m in missing where m.seq < e.seq && tracker.apply(m) {
                                out.yield(.event(m, watch: tracker.watch))
                            }
                        }
                        if tracker.apply(e) {
                            out.yield(.event(e, watch: tracker.watch))
                        } else {
                            tracker.replace(with: try await client.watch(id).watch)
                            out.yield(.state(tracker.watch))
                        }
                        if e.event == "stopped" { break loop }
                    case .tick:
                        guard quiet.isOver() else { continue }
                        let current = try await client.watch(id).watch
                        if current.seq != tracker.seq || current.barsApplied != tracker.watch.barsApplied {
                            tracker.replace(with: current)
                            out.yield(.state(current))
                        }
                    }
                }
                out.finish()
            } catch ScanClientError.service(let e) where e.code == .notFound {
                out.finish()  // stopped while we were not looking
            } catch {
                out.finish(throwing: error)
            }
            for feeder in feeders { feeder.cancel() }
        }
        tasks = feeders + [driver]
        out.onTermination = { _ in sink.finish() }
    }

    /// Stops following and closes the subscription (``updates`` ends). Idempotent.
    public func close() async {
        for task in tasks { task.cancel() }
        await subscription.close()
    }
}

extension ScanClient {
    /// Follows a running watch: its set now (`GET_WATCH`), then every event.
    public func followWatch(_ id: String, pollInterval: Duration = .seconds(2)) async throws -> LiveFollow {
        let subscription = try await subscribe(prefix: LiveEventCodec.prefix(watchId: id))
        do {
            let current = try await watch(id).watch
            return LiveFollow(client: self, subscription: subscription, initial: current, pollInterval: pollInterval)
        } catch {
            await subscription.close()
            throw error
        }
    }
}
