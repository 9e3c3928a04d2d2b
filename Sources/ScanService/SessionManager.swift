import FormulaEngine
import Foundation
import Logging
import ScanCore
import ScanProtocol
import Synchronization

/// Publishes session events (the service's events PUB). `publish` must keep the call order and
/// return at once.
public protocol EventPublisher: Sendable {
    func publish(_ event: EventDocument)
}

/// Runs sessions through ``RunScanUseCase`` (which persists every transition), each in its own
/// task, keeps their live state in memory, and publishes `scan.<id>.<event>` events with a
/// per-session `seq` from 1. On start, resumes sessions left `pending`/`running`.
///
/// Thread-safe: its state sits behind a mutex, so use-case callbacks update it and publish events
/// synchronously, in order, from whatever thread they run on.
final class SessionManager: Sendable {
    struct Active {
        var session: ScanSession
        let token = CancellationToken()
        var seq = 0
        var waiters: [CheckedContinuation<ScanSession?, Never>] = []
        /// Waiting for the final state before it is stored (``waitForFinalState(_:)``).
        var finalWaiters: [CheckedContinuation<ScanSession?, Never>] = []
        var task: Task<Void, Never>?
    }

    struct State {
        var active: [String: Active] = [:]
        var stopping = false
    }

    private let useCase: RunScanUseCase
    private let sessions: any ScanSessionRepository
    private let jobs: any JobRepository
    private let publisher: any EventPublisher
    private let maxRunning: Int
    private let logger: Logger
    private let metrics: ServiceMetrics
    private let state = Mutex(State())
    private let shutdownFlag: ShutdownFlag
    /// Where transitions wait (and are retried) when the store fails.
    private let durable: DurableSessions
    /// Whether storing a final state drops the session's job too (``ScanSessionRepository/finalStateDropsJob``).
    private let storeDropsJobs: Bool

    init(
        symbols: any SymbolRepository,
        bars: any BarRepository,
        sessions: any ScanSessionRepository,
        jobs: any JobRepository,
        engine: any ProcessingEngine,
        publisher: any EventPublisher,
        maxRunning: Int,
        logger: Logger,
        metrics: ServiceMetrics = .discarded
    ) {
        self.metrics = metrics
        self.jobs = jobs
        let flag = ShutdownFlag()
        // A store that drops a job with its session's final state leaves nothing to clean up.
        let dropsJobs = sessions.finalStateDropsJob
        self.storeDropsJobs = dropsJobs
        // A final state stored late: its job's chunks are no longer needed (see `launch`).
        let durable = DurableSessions(inner: sessions, logger: logger, metrics: metrics) { stored in
            guard stored.status.isFinal, !dropsJobs else { return }
            try? await jobs.deleteJob(id: stored.id)
        }
        self.durable = durable
        let guarded = ShutdownGuardedSessions(inner: durable, flag: flag)
        self.shutdownFlag = flag
        self.sessions = guarded
        self.useCase = RunScanUseCase(
            scan: BatchScanUseCase(symbols: symbols, bars: bars, engine: engine),
            sessions: guarded
        )
        self.publisher = publisher
        self.maxRunning = max(1, maxRunning)
        self.logger = logger
    }

    var runningCount: Int { state.withLock { $0.active.count } }

    // MARK: Requests

    /// Creates, persists and starts a session; `plan` is its formula, already checked and compiled.
    func start(_ request: BatchScanRequest, plan: FormulaPlan) async throws(ProtocolError) -> ScanSession {
        let id = UUID().uuidString.lowercased()
        try state.withLock { (s: inout State) throws(ProtocolError) in
            guard !s.stopping else { throw ProtocolError(.busy, "the service is shutting down") }
            guard s.active.count < maxRunning else {
                throw ProtocolError(
                    .busy,
                    "\(s.active.count) sessions are running; the limit is \(maxRunning); try again later"
                )
            }
            // Reserve the slot before the first await so concurrent requests count it.
            s.active[id] = Active(session: ScanSession(id: id, request: request))
        }
        let session: ScanSession
        do {
            session = try await useCase.create(request, sessionId: id)
        } catch {
            _ = state.withLock { $0.active.removeValue(forKey: id) }
            throw ProtocolError(.busy, "could not store the session: \(error)")
        }
        statusChanged(session)
        launch(session, plan: plan)
        return session
    }

    /// The session as it is now: live for running ones, else as stored.
    func snapshot(_ id: String) async throws -> ScanSession? {
        if let live = state.withLock({ $0.active[id]?.session }) { return live }
        return try await sessions.session(id: id)
    }

    func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession] {
        let stored = try await sessions.list(status: status, limit: limit)
        return state.withLock { s in stored.map { s.active[$0.id]?.session ?? $0 } }
    }

    /// Waits until the session ends; `nil` when the service stops first. Unknown ids give the stored
    /// session (or `nil`).
    func waitForEnd(_ id: String) async throws -> ScanSession? {
        try await wait(for: id, in: \.waiters)
    }

    /// The session's final state as soon as it is known, before it is stored — only to prepare what is
    /// sent after ``waitForEnd(_:)`` returns that same state (a reply encoded while the store writes).
    /// `nil` when the service stops first; the stored session when it is not running.
    func waitForFinalState(_ id: String) async throws -> ScanSession? {
        try await wait(for: id, in: \.finalWaiters)
    }

    /// Registers in `list` of the running session `id` and waits to be resumed; the stored session
    /// when it is not running (or stops running meanwhile).
    private func wait(
        for id: String,
        in list: WritableKeyPath<Active, [CheckedContinuation<ScanSession?, Never>]>
    ) async throws -> ScanSession? {
        let isActive = state.withLock { $0.active[id] != nil }
        if !isActive { return try await sessions.session(id: id) }
        return await withCheckedContinuation { (c: CheckedContinuation<ScanSession?, Never>) in
            let registered = state.withLock { s -> Bool in
                guard s.active[id] != nil else { return false }
                s.active[id]?[keyPath: list].append(c)
                return true
            }
            if !registered {
                Task { c.resume(returning: try? await self.sessions.session(id: id)) }
            }
        }
    }

    /// Cancels a running session; it ends `cancelled` with the chunks that finished.
    func cancel(_ id: String) {
        state.withLock { $0.active[id]?.token }?.cancel()
    }

    // MARK: Lifecycle

    /// Restarts every session a previous run left `pending` or `running`.
    func resumeUnfinished() async {
        do {
            let unfinished =
                try await sessions.list(status: .running, limit: 10_000)
                + sessions.list(status: .pending, limit: 10_000)
            for session in unfinished {
                let fresh = state.withLock { s -> Bool in
                    guard !s.stopping, s.active[session.id] == nil else { return false }
                    s.active[session.id] = Active(session: session)
                    return true
                }
                guard fresh else { continue }
                logger.info("resuming session", metadata: ["session": "\(session.id)", "status": "\(session.status)"])
                launch(session, plan: nil)
            }
        } catch {
            logger.error("could not list unfinished sessions", metadata: ["error": "\(error)"])
        }
    }

    /// Stops taking sessions, stops the engine (running sessions keep their stored `running` status
    /// and their persisted chunks, and resume on the next start) and waits for their tasks.
    func shutdown(engineStop: @Sendable () async -> Void) async {
        let tasks = state.withLock { s -> [Task<Void, Never>] in
            s.stopping = true
            return s.active.values.compactMap(\.task)
        }
        shutdownFlag.set()
        await engineStop()
        for t in tasks { await t.value }
        await durable.flush()
        let waiters = state.withLock { s -> [CheckedContinuation<ScanSession?, Never>] in
            defer {
                for id in s.active.keys {
                    s.active[id]?.waiters = []
                    s.active[id]?.finalWaiters = []
                }
            }
            return s.active.values.flatMap { $0.waiters + $0.finalWaiters }
        }
        for w in waiters { w.resume(returning: nil) }
    }

    // MARK: Running

    /// Runs the session in its own task; a resumed session (`plan` nil) compiles its formula there.
    private func launch(_ session: ScanSession, plan: FormulaPlan?) {
        let id = session.id
        guard let token = state.withLock({ $0.active[id]?.token }) else { return }
        let observer = ScanSessionObserver(
            statusChanged: { [weak self] s in self?.statusChanged(s) },
            progress: { [weak self] id, p in self?.progressed(id, p) },
            finishing: { [weak self] s in self?.finishing(s) }
        )
        let task = Task {
            do {
                let final = try await self.useCase.run(
                    session,
                    plan: plan,
                    observer: observer,
                    cancellation: token
                )
                // The final state is stored: waiters (a `"wait": true` reply) get it now; dropping the
                // job's chunk results below is clean-up they need not wait for.
                self.ended(final)
                // The final result is stored whole: the job's chunk results are no longer needed for a
                // resume. (A session stopped by shutdown is not final in the store and keeps them.)
                // (Nor is one whose final state still waits to be stored: a restart would resume it.)
                // A store that dropped them with the final state has done it already.
                if final.status.isFinal, !self.storeDropsJobs, self.durable.isStored(id),
                    !(self.shutdownFlag.isSet && ShutdownGuardedSessions.isShutdownFailure(final))
                {
                    do { try await self.jobs.deleteJob(id: id) } catch {
                        self.metrics.storeWriteFailed("delete_job")
                        self.logger.warning(
                            "could not drop a finished job's chunks",
                            metadata: ["session": "\(id)", "error": "\(error)"]
                        )
                    }
                }
            } catch {
                // Not a store failure (those wait in `durable`): say what happened, and keep it.
                self.logger.error("session could not run", metadata: ["session": "\(id)", "error": "\(error)"])
                var failed = session
                failed.status = .failed
                failed.error = "the session could not run: \(error)"
                failed.finishedAt = Date()
                try? await self.durable.save(failed)
                self.ended(failed)
            }
        }
        state.withLock { $0.active[id]?.task = task }
    }

    private func statusChanged(_ session: ScanSession) {
        state.withLock { s in
            guard var a = s.active[session.id], !(s.stopping && ShutdownGuardedSessions.isShutdownFailure(session))
            else {
                return
            }
            a.session = session
            if session.status.isFinal, let result = session.result {
                a.session.progress.completed = max(a.session.progress.completed, session.progress.completed)
                a.session.progress.matchesSoFar = result.signals.totalMatches
            }
            let kind: ScanEventKind
            switch session.status {
            case .pending, .running: kind = .status
            case .completed: kind = .completed
            case .failed: kind = .failed
            case .cancelled: kind = .cancelled
            }
            a.seq += 1
            s.active[session.id] = a
            publisher.publish(event(a, kind))
        }
    }

    private func finishing(_ session: ScanSession) {
        let waiters = state.withLock { s -> [CheckedContinuation<ScanSession?, Never>] in
            defer { s.active[session.id]?.finalWaiters = [] }
            return s.active[session.id]?.finalWaiters ?? []
        }
        for w in waiters { w.resume(returning: session) }
    }

    private func progressed(_ id: String, _ p: ScanProgress) {
        state.withLock { s in
            guard var a = s.active[id], a.session.status == .running else { return }
            a.session.progress = p
            a.seq += 1
            s.active[id] = a
            publisher.publish(event(a, .progress))
        }
    }

    private func ended(_ session: ScanSession?, id: String? = nil) {
        guard let key = session?.id ?? id else { return }
        let waiters = state.withLock { s -> [CheckedContinuation<ScanSession?, Never>] in
            // During shutdown a session stopped mid-run stays (for the waiters: nil) until shutdown ends.
            if s.stopping, let session, !session.status.isFinal || ShutdownGuardedSessions.isShutdownFailure(session) {
                return []
            }
            guard let a = s.active.removeValue(forKey: key) else { return [] }
            return a.waiters + a.finalWaiters
        }
        if let session {
            if !(shutdownFlag.isSet && ShutdownGuardedSessions.isShutdownFailure(session)) {
                metrics.scanEnded(session)
            }
            logger.info(
                "session ended",
                metadata: [
                    "session": "\(key)", "status": "\(session.status)",
                    "matches": "\(session.result?.signals.totalMatches ?? 0)",
                ]
            )
        }
        for w in waiters { w.resume(returning: session) }
    }

    private func event(_ a: Active, _ kind: ScanEventKind) -> EventDocument {
        let p = a.session.progress
        return EventDocument(
            sessionId: a.session.id,
            event: kind,
            status: a.session.status.rawValue,
            completed: p.completed,
            total: p.total,
            matchesSoFar: p.matchesSoFar,
            seq: a.seq,
            error: a.session.error
        )
    }
}

/// Set once when the service begins to stop.
final class ShutdownFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}

/// A session repository that, once the service is stopping, drops the `failed` transition a
/// session gets because the engine stopped: the stored session stays `running` (with its chunks
/// persisted) and is resumed on the next start instead of being recorded as failed.
struct ShutdownGuardedSessions: ScanSessionRepository {
    let inner: any ScanSessionRepository
    let flag: ShutdownFlag

    static func isShutdownFailure(_ s: ScanSession) -> Bool {
        s.status == .failed && s.error == EngineStopped().description
    }

    func save(_ session: ScanSession) async throws {
        if flag.isSet, Self.isShutdownFailure(session) { return }
        try await inner.save(session)
    }

    func session(id: String) async throws -> ScanSession? { try await inner.session(id: id) }

    func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession] {
        try await inner.list(status: status, limit: limit)
    }

    func prune(_ policy: RetentionPolicy, now: Date) async throws -> Int { try await inner.prune(policy, now: now) }

    var finalStateDropsJob: Bool { inner.finalStateDropsJob }
}
