import ScanCore
import ScanProtocol

/// One session followed to its end (what `scan run --endpoint` shows while the service scans).
///
/// The events subscription is open before the session is started (``ScanClient/start(_:pollInterval:)``)
/// or read (``ScanClient/follow(_:pollInterval:)``); an event published before the subscription
/// reached the service is covered by the next reading (ZeroMQ gives no sign of when that is). Each event
/// updates the state; a `seq` gap, or a quiet spell of `pollInterval` without events, re-reads the
/// session with `GET_SESSION`. ``cancel()`` sends `CANCEL`; the session then ends `cancelled`
/// (or as whatever it ended first) through ``states``.
public final class SessionFollow: Sendable {
    /// The session's id.
    public let id: String
    /// The session when following began (the `RUN_SCAN` or `GET_SESSION` reply).
    public let initial: SessionDocument
    /// Every new state of the session, ending after the first final one (`completed`, `failed`,
    /// `cancelled`). Single consumer. Throws ``ScanClientError`` when a re-read or the `CANCEL`
    /// fails (the service is gone or answered an error).
    public let states: AsyncThrowingStream<SessionDocument, any Error>

    private let client: ScanClient
    private let subscription: EventSubscription
    private let inputs: AsyncStream<Input>.Continuation
    private let tasks: [Task<Void, Never>]

    enum Input: Sendable {
        case event(EventDocument)
        case tick
        case cancel
        case cancelled(Result<SessionDocument, any Error>)
    }

    init(client: ScanClient, subscription: EventSubscription, initial: SessionDocument, pollInterval: Duration) {
        let id = initial.sessionId
        self.id = id
        self.initial = initial
        self.client = client
        self.subscription = subscription
        let (inputs, sink) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .unbounded)
        let (states, out) = AsyncThrowingStream.makeStream(of: SessionDocument.self, bufferingPolicy: .unbounded)
        self.inputs = sink
        self.states = states
        let feeders = FollowPump.start(
            events: subscription.events,
            where: { $0.sessionId == id },
            into: sink,
            event: { .event($0) },
            tick: .tick,
            every: pollInterval
        )
        let driver = Task {
            do {
                try await Self.drive(
                    SessionTracker(initial),
                    inputs: inputs,
                    sink: sink,
                    out: out,
                    client: client,
                    pollInterval: pollInterval
                )
                out.finish()
            } catch {
                out.finish(throwing: error)
            }
            for feeder in feeders { feeder.cancel() }
        }
        tasks = feeders + [driver]
        out.onTermination = { _ in sink.finish() }
    }

    /// Folds the inputs into states until the session is final.
    private static func drive(
        _ start: SessionTracker,
        inputs: AsyncStream<Input>,
        sink: AsyncStream<Input>.Continuation,
        out: AsyncThrowingStream<SessionDocument, any Error>.Continuation,
        client: ScanClient,
        pollInterval: Duration
    ) async throws {
        var tracker = start
        let id = tracker.session.sessionId
        guard !tracker.isFinal else {
            out.yield(tracker.session)
            return
        }
        var quiet = QuietSpell(pollInterval)
        var cancelling = false
        for await input in inputs {
            switch input {
            case .event(let e):
                quiet.heard()
                if !tracker.apply(e) {
                    tracker.replace(with: try await client.session(id))  // missed events (or a restarted service)
                }
            case .tick:
                guard quiet.isOver() else { continue }
                tracker.replace(with: try await client.session(id))
            case .cancel:
                guard !cancelling else { continue }
                cancelling = true
                Task {
                    do {
                        sink.yield(.cancelled(.success(try await client.cancel(id))))
                    } catch {
                        sink.yield(.cancelled(.failure(error)))
                    }
                }
                continue
            case .cancelled(let outcome):
                tracker.replace(with: try outcome.get())
            }
            out.yield(tracker.session)
            if tracker.isFinal { return }
        }
    }

    /// Asks the service to cancel the session (once; later calls do nothing). Returns at once; the
    /// session's end comes through ``states``.
    public func cancel() { inputs.yield(.cancel) }

    /// `GET_RESULT`: the session's whole result (call it after ``states`` ended on a final state).
    public func result() async throws -> ResultDocument { try await client.result(id) }

    /// Stops following and closes the events subscription (``states`` ends). Idempotent.
    public func close() async {
        for task in tasks { task.cancel() }
        inputs.finish()
        await subscription.close()
    }
}

extension ScanClient {
    /// Starts `request` (`RUN_SCAN` without `wait`) and follows its session.
    public func start(
        _ request: ScanRequestDocument,
        pollInterval: Duration = .seconds(1)
    ) async throws
        -> SessionFollow
    {
        let subscription = try await subscribe()
        do {
            let started = try await runScan(request, wait: false)
            return SessionFollow(
                client: self,
                subscription: subscription,
                initial: started.session,
                pollInterval: pollInterval
            )
        } catch {
            await subscription.close()
            throw error
        }
    }

    /// Starts a domain request and follows its session.
    public func start(
        _ request: BatchScanRequest,
        pollInterval: Duration = .seconds(1)
    ) async throws
        -> SessionFollow
    {
        try await start(ScanRequestDocument(request), pollInterval: pollInterval)
    }

    /// Follows a session that already exists (its events from now on; the state so far from `GET_SESSION`).
    public func follow(_ id: String, pollInterval: Duration = .seconds(1)) async throws -> SessionFollow {
        let subscription = try await subscribe(prefix: EventCodec.prefix(sessionId: id))
        do {
            let current = try await session(id)
            return SessionFollow(client: self, subscription: subscription, initial: current, pollInterval: pollInterval)
        } catch {
            await subscription.close()
            throw error
        }
    }
}
