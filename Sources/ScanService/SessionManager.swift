import Foundation
import Logging
import ScanCore
import ScanProtocol

/// Publishes session events (the service's events PUB). `publish` must keep the call order.
public protocol EventPublisher: Sendable {
    func publish(_ event: EventDocument)
}

/// Runs sessions: creates and persists them, runs each in its own task through the engine, keeps
/// live progress in memory, publishes `scan.<id>.<event>` events with a per-session `seq`, and
/// persists every status transition. On start, resumes sessions left `pending`/`running`.
///
/// An actor; scans run in their own tasks, so no request waits behind a scan.
actor SessionManager {
    struct Active {
        var session: ScanSession
        let token = CancellationToken()
        var seq = 0
        var waiters: [CheckedContinuation<ScanSession?, Never>] = []
        var task: Task<Void, Never>?
    }

    private let symbols: any SymbolRepository
    private let bars: any BarRepository
    private let sessions: any ScanSessionRepository
    private let jobs: any JobRepository
    private let engine: any ProcessingEngine
    private let publisher: any EventPublisher
    private let maxRunning: Int
    private let logger: Logger
    private var active: [String: Active] = [:]
    private var stopping = false

    init(
        symbols: any SymbolRepository, bars: any BarRepository, sessions: any ScanSessionRepository, jobs: any JobRepository,
        engine: any ProcessingEngine, publisher: any EventPublisher, maxRunning: Int, logger: Logger
    ) {
        self.symbols = symbols
        self.bars = bars
        self.sessions = sessions
        self.jobs = jobs
        self.engine = engine
        self.publisher = publisher
        self.maxRunning = max(1, maxRunning)
        self.logger = logger
    }

    var runningCount: Int { active.count }

    // MARK: Requests

    /// Creates, persists and starts a session (its formula was already checked).
    func start(_ request: BatchScanRequest) async throws(ProtocolError) -> ScanSession {
        guard !stopping else { throw ProtocolError(.busy, "the service is shutting down") }
        guard active.count < maxRunning else {
            throw ProtocolError(.busy, "\(active.count) sessions are running; the limit is \(maxRunning); try again later")
        }
        let session = ScanSession(id: UUID().uuidString.lowercased(), status: .pending, request: request)
        active[session.id] = Active(session: session)
        do {
            try await sessions.save(session)
        } catch {
            active[session.id] = nil
            throw ProtocolError(.busy, "could not store the session: \(error)")
        }
        publish(session.id, .status)
        launch(session.id)
        return session
    }

    /// The session as it is now: live for running ones, else as stored.
    func snapshot(_ id: String) async throws -> ScanSession? {
        if let a = active[id] { return a.session }
        return try await sessions.session(id: id)
    }

    func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession] {
        try await sessions.list(status: status, limit: limit).map { active[$0.id]?.session ?? $0 }
    }

    /// Waits until the session ends; `nil` when it is unknown or the service stops first.
    func waitForEnd(_ id: String) async throws -> ScanSession? {
        if active[id] != nil {
            return await withCheckedContinuation { c in active[id]?.waiters.append(c) }
        }
        return try await sessions.session(id: id)
    }

    /// Cancels a running session; it ends `cancelled` with the chunks that finished.
    func cancel(_ id: String) {
        active[id]?.token.cancel()
    }

    // MARK: Lifecycle

    /// Restarts every session a previous run left `pending` or `running`.
    func resumeUnfinished() async {
        do {
            let unfinished = try await sessions.list(status: .running, limit: 10_000)
                + sessions.list(status: .pending, limit: 10_000)
            for s in unfinished where active[s.id] == nil && !stopping {
                logger.info("resuming session", metadata: ["session": "\(s.id)", "status": "\(s.status)"])
                active[s.id] = Active(session: s)
                launch(s.id)
            }
        } catch {
            logger.error("could not list unfinished sessions", metadata: ["error": "\(error)"])
        }
    }

    /// Stops taking sessions and waits for the running ones to stop (they stay `running` in the
    /// store, with their finished chunks, and resume on the next start).
    func shutdown(engineStop: @Sendable () async -> Void) async {
        stopping = true
        await engineStop()
        let tasks = active.values.compactMap(\.task)
        for t in tasks { t.cancel() }
        for t in tasks { await t.value }
        for id in Array(active.keys) {
            for w in active[id]?.waiters ?? [] { w.resume(returning: nil) }
            active[id]?.waiters = []
        }
    }

    // MARK: Running

    private func launch(_ id: String) {
        active[id]?.task = Task { await self.execute(id) }
    }

    private func execute(_ id: String) async {
        guard var session = active[id]?.session, let token = active[id]?.token else { return }
        if token.isCancelled {
            await finish(id, status: .cancelled, result: emptyResult(id, cancelled: true), error: nil)
            return
        }
        session.status = .running
        session.startedAt = session.startedAt ?? Date()
        active[id]?.session = session
        do {
            try await sessions.save(session)
        } catch {
            logger.error("could not store a session", metadata: ["session": "\(id)", "error": "\(error)"])
        }
        publish(id, .status)
        let started = ContinuousClock.now
        do {
            let job = try await makeJob(id, session.request)
            active[id]?.session.progress.total = job.symbols.count
            let results = try await engine.processBatch(
                job,
                progress: { [weak self] p in
                    Task { await self?.progressed(id, p) }
                },
                cancellation: token)
            let signals = SignalAggregator.aggregate(results)
            let errors = results.compactMap { r in r.error.map { SymbolError(symbol: r.symbol, message: $0) } }
            let elapsed = ContinuousClock.now - started
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            let result = BatchScanResult(
                jobId: id, signals: signals, statistics: SignalAggregator.statistics(signals), processingTimeMs: ms,
                errors: errors, cancelled: token.isCancelled)
            active[id]?.session.progress = ScanProgress(
                completed: results.count, total: job.symbols.count, matchesSoFar: signals.totalMatches)
            await finish(id, status: token.isCancelled ? .cancelled : .completed, result: result, error: nil)
        } catch is EngineStopped {
            return
        } catch {
            if stopping { return }
            await finish(id, status: .failed, result: nil, error: "\(error)")
        }
    }

    /// The job of a session: the stored one when resuming, else the request resolved now. Unknown
    /// explicit symbols stay in the job, so their nodes report them as per-symbol errors.
    private func makeJob(_ id: String, _ request: BatchScanRequest) async throws -> ProcessingJob {
        if let saved = try await jobs.job(id: id) { return saved.job }
        let universe = try await symbols.resolve(request.symbolCriteria)
        let range: DateRange
        if let r = request.dateRange {
            range = r
        } else {
            let bars = self.bars
            let timeframe = request.timeframe
            let latest = try await Blocking.run("latest-day") { try bars.latestDay(for: timeframe) }
            let end = latest ?? CalendarDay(epochSeconds: Int64(Date().timeIntervalSince1970))
            range = DateRange(from: end.adding(days: -365), to: end)
        }
        return ProcessingJob(
            id: id, symbols: universe.symbols.map(\.symbol) + universe.unknown, timeframe: request.timeframe,
            dateRange: range, formula: request.formula, parameters: request.parameters, mode: request.mode)
    }

    private func emptyResult(_ id: String, cancelled: Bool) -> BatchScanResult {
        BatchScanResult(
            jobId: id, signals: AggregatedSignals(), statistics: SignalStatistics(), processingTimeMs: 0, errors: [],
            cancelled: cancelled)
    }

    private func progressed(_ id: String, _ p: ScanProgress) async {
        guard let current = active[id]?.session.progress, active[id]?.session.status == .running else { return }
        guard p.completed > current.completed || (p.completed == current.completed && p.matchesSoFar > current.matchesSoFar)
        else { return }  // progress tasks may arrive out of order; counts only grow
        active[id]?.session.progress = p
        publish(id, .progress)
    }

    private func finish(_ id: String, status: ScanStatus, result: BatchScanResult?, error: String?) async {
        guard var session = active[id]?.session else { return }
        session.status = status
        session.result = result
        session.error = error
        session.finishedAt = Date()
        active[id]?.session = session
        do {
            try await sessions.save(session)
        } catch {
            logger.error("could not store a finished session", metadata: ["session": "\(id)", "error": "\(error)"])
        }
        logger.info(
            "session ended",
            metadata: ["session": "\(id)", "status": "\(status)", "matches": "\(result?.signals.totalMatches ?? 0)"])
        let event: ScanEventKind = status == .completed ? .completed : status == .cancelled ? .cancelled : .failed
        publish(id, event)
        let waiters = active[id]?.waiters ?? []
        active[id] = nil
        for w in waiters { w.resume(returning: session) }
    }

    private func publish(_ id: String, _ kind: ScanEventKind) {
        guard var a = active[id] else { return }
        a.seq += 1
        active[id]?.seq = a.seq
        let p = a.session.progress
        publisher.publish(EventDocument(
            sessionId: id, event: kind, status: a.session.status.rawValue, completed: p.completed, total: p.total,
            matchesSoFar: p.matchesSoFar, seq: a.seq, error: a.session.error))
    }
}
