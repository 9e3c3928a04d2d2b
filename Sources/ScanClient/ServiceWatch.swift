import ScanCore
import ScanProtocol

/// Every session of a service as its events arrive, and the service's live nodes (what `scan watch`
/// shows).
///
/// ``updates`` yields each event as it arrives and, when refreshing, the whole ``State`` every
/// refresh interval: the running sessions (read with `LIST_SESSIONS` at the start, re-read with
/// `GET_SESSION` on a `seq` gap), finished ones for `keepFinished` after they end, and the last
/// `PING` reply (one a second).
public final class ServiceWatch: Sendable {
    /// What the service is doing.
    public struct State: Sendable, Hashable {
        /// The sessions, in the order they were first seen.
        public var sessions: [SessionDocument]
        /// The last `PING` reply (`nil` before the first).
        public var ping: PingReply?
        /// Why the last `PING` failed, if it did.
        public var pingError: String?
        /// The service's live watches (`LIST_WATCHES`, refreshed with `PING`; empty without live scans).
        public var watches: [WatchDocument] = []
    }

    /// One update.
    public enum Update: Sendable {
        /// An event as it arrived.
        case event(EventDocument)
        /// The state, every refresh interval.
        case state(State)
    }

    /// The updates; end when the events subscription ends or on ``finish()``. Single consumer.
    public let updates: AsyncStream<Update>

    private let subscription: EventSubscription
    private let sink: AsyncStream<Update>.Continuation
    private let tasks: [Task<Void, Never>]

    private enum Input: Sendable {
        case event(EventDocument)
        case session(SessionDocument)
        case sessions([SessionDocument])
        case ping(PingReply?, String?)
        case watches([WatchDocument])
        case refresh
    }

    private struct Row {
        var tracker: SessionTracker
        var finished: ContinuousClock.Instant?
    }

    init(
        client: ScanClient,
        subscription: EventSubscription,
        refreshInterval: Duration?,
        keepFinished: Duration
    ) {
        self.subscription = subscription
        let (updates, out) = AsyncStream.makeStream(of: Update.self, bufferingPolicy: .unbounded)
        let (inputs, sink) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .unbounded)
        self.updates = updates
        self.sink = out
        let events = subscription.events
        var tasks = [
            Task {
                do {
                    for try await e in events { sink.yield(.event(e)) }
                } catch {}
                sink.finish()
            }
        ]
        if let refreshInterval {
            tasks.append(
                Task {
                    if let running = try? await client.listSessions(status: .running) { sink.yield(.sessions(running)) }
                    while !Task.isCancelled {
                        do {
                            let ping = try await client.ping(timeout: .seconds(2))
                            sink.yield(.ping(ping, nil))
                            if ping.watchesRunning != nil {
                                sink.yield(.watches((try? await client.listWatches(timeout: .seconds(2))) ?? []))
                            }
                        } catch {
                            sink.yield(.ping(nil, "\(error)"))
                        }
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            )
            tasks.append(
                Task {
                    while !Task.isCancelled {
                        sink.yield(.refresh)
                        try? await Task.sleep(for: refreshInterval)
                    }
                }
            )
        }
        let refreshing = refreshInterval != nil
        let driver = Task {
            var rows: [String: Row] = [:]
            var order: [String] = []
            var state = State(sessions: [], ping: nil, pingError: nil)
            func merge(_ s: SessionDocument) {
                if rows[s.sessionId] == nil { order.append(s.sessionId) }
                var row = rows[s.sessionId] ?? Row(tracker: SessionTracker(s))
                row.tracker.replace(with: s)
                if row.tracker.isFinal, row.finished == nil { row.finished = .now }
                rows[s.sessionId] = row
            }
            for await input in inputs {
                switch input {
                case .event(let e):
                    out.yield(.event(e))
                    guard refreshing else { continue }
                    var row: Row
                    if let known = rows[e.sessionId] {
                        row = known
                        if !row.tracker.apply(e) { Self.reread(e.sessionId, client: client, into: sink) }
                    } else {
                        order.append(e.sessionId)
                        row = Row(tracker: SessionTracker(event: e))
                        if e.seq != 1 { Self.reread(e.sessionId, client: client, into: sink) }
                    }
                    if row.tracker.isFinal, row.finished == nil { row.finished = .now }
                    rows[e.sessionId] = row
                case .session(let s):
                    merge(s)
                case .sessions(let list):
                    for s in list { merge(s) }
                case .watches(let list):
                    state.watches = list
                case .ping(let reply, let error):
                    state.ping = reply ?? state.ping
                    state.pingError = error
                case .refresh:
                    let now = ContinuousClock.now
                    order.removeAll { id in
                        guard let f = rows[id]?.finished, now - f > keepFinished else { return false }
                        rows[id] = nil
                        return true
                    }
                    state.sessions = order.compactMap { rows[$0]?.tracker.session }
                    out.yield(.state(state))
                }
            }
            out.finish()
        }
        tasks.append(driver)
        self.tasks = tasks
        out.onTermination = { _ in sink.finish() }
    }

    /// Reads a session whose events were missed, in the background.
    private static func reread(_ id: String, client: ScanClient, into sink: AsyncStream<Input>.Continuation) {
        Task { if let s = try? await client.session(id) { sink.yield(.session(s)) } }
    }

    /// Ends ``updates`` (from any thread, e.g. a Ctrl-C handler).
    public func finish() { sink.finish() }

    /// Stops watching and closes the subscription. Idempotent.
    public func close() async {
        sink.finish()
        for task in tasks { task.cancel() }
        await subscription.close()
    }
}

extension ScanClient {
    /// Watches every session of the service and, with a `refreshInterval`, its nodes (see ``ServiceWatch``).
    /// Without one, ``ServiceWatch/updates`` carries only the events.
    public func watchService(
        refreshInterval: Duration? = .milliseconds(250),
        keepFinished: Duration = .seconds(10)
    ) async throws -> ServiceWatch {
        ServiceWatch(
            client: self,
            subscription: try await subscribe(),
            refreshInterval: refreshInterval,
            keepFinished: keepFinished
        )
    }
}
