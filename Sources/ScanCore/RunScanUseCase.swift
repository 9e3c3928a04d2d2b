import FormulaEngine
import Foundation
import Synchronization

/// Runs a ``BatchScanUseCase`` inside a ``ScanSession`` lifecycle, persisting the session through a
/// ``ScanSessionRepository`` at every transition: pending → running → completed | failed | cancelled.
///
/// - An empty universe completes with 0 symbols.
/// - An engine failure (or a bad formula or request) ends the session `failed` with the message.
/// - Cancellation ends it `cancelled`, holding the result of what finished.
///
/// The service runs sessions whose id it chose (``create(_:sessionId:)`` then
/// ``run(_:plan:observer:cancellation:)``) and persists/publishes progress through the observer.
public struct RunScanUseCase: Sendable {
    public let scan: BatchScanUseCase
    public let sessions: any ScanSessionRepository

    public init(scan: BatchScanUseCase, sessions: any ScanSessionRepository) {
        self.scan = scan
        self.sessions = sessions
    }

    /// Creates and persists a `pending` session for `request`.
    public func create(
        _ request: BatchScanRequest,
        sessionId: String? = nil,
        now: Date = Date()
    ) async throws -> ScanSession {
        let session = ScanSession(id: sessionId ?? UUID().uuidString.lowercased(), request: request, createdAt: now)
        try await sessions.save(session)
        return session
    }

    /// Runs a pending session to its end and returns it as last persisted. `plan` is the request's
    /// formula already compiled (see ``BatchScanUseCase/execute(_:plan:jobId:progress:cancellation:)``).
    ///
    /// - Throws: only when the session repository fails; scan failures end the session `failed`.
    public func run(
        _ session: ScanSession,
        plan: FormulaPlan? = nil,
        observer: ScanSessionObserver = ScanSessionObserver(),
        cancellation: CancellationToken = CancellationToken()
    ) async throws -> ScanSession {
        var session = session
        if cancellation.isCancelled {
            session.status = .cancelled
            session.finishedAt = Date()
            try await persist(session, observer)
            return session
        }
        session.status = .running
        session.startedAt = Date()
        try await persist(session, observer)

        let id = session.id
        let latest = LatestProgress()
        do {
            let result = try await scan.execute(
                session.request,
                plan: plan,
                jobId: id,
                progress: { p in
                    latest.set(p)
                    observer.progress(id, p)
                },
                cancellation: cancellation
            )
            session.result = result
            let last = latest.get()
            session.progress = ScanProgress(
                completed: last?.completed ?? 0,
                total: last?.total ?? result.signals.totalSymbols,
                matchesSoFar: result.signals.totalMatches
            )
            session.status = result.cancelled ? .cancelled : .completed
        } catch {
            session.status = .failed
            session.error = Self.message(error)
            if let last = latest.get() { session.progress = last }
        }
        session.finishedAt = Date()
        observer.finishing(session)
        try await persist(session, observer)
        return session
    }

    /// ``create(_:sessionId:now:)`` then ``run(_:plan:observer:cancellation:)``.
    public func execute(
        _ request: BatchScanRequest,
        plan: FormulaPlan? = nil,
        sessionId: String? = nil,
        observer: ScanSessionObserver = ScanSessionObserver(),
        cancellation: CancellationToken = CancellationToken()
    ) async throws -> ScanSession {
        let session = try await create(request, sessionId: sessionId)
        observer.statusChanged(session)
        return try await run(session, plan: plan, observer: observer, cancellation: cancellation)
    }

    private func persist(_ session: ScanSession, _ observer: ScanSessionObserver) async throws {
        try await sessions.save(session)
        observer.statusChanged(session)
    }

    static func message(_ error: any Error) -> String {
        String(describing: error)
    }
}

/// Hooks into a running session: called after each persisted transition, and on every progress report.
public struct ScanSessionObserver: Sendable {
    /// Called after the session was persisted in its new status.
    public var statusChanged: @Sendable (ScanSession) -> Void
    /// Called with the session id as symbols finish (serially, cheap work only: throttle persistence).
    public var progress: @Sendable (String, ScanProgress) -> Void
    /// Called with the session's final state just before it is persisted (work that only reads it, such
    /// as encoding a reply, can start while it is stored; nothing may be told it ended before
    /// ``statusChanged`` reports it).
    public var finishing: @Sendable (ScanSession) -> Void

    public init(
        statusChanged: @escaping @Sendable (ScanSession) -> Void = { _ in },
        progress: @escaping @Sendable (String, ScanProgress) -> Void = { _, _ in },
        finishing: @escaping @Sendable (ScanSession) -> Void = { _ in }
    ) {
        self.statusChanged = statusChanged
        self.progress = progress
        self.finishing = finishing
    }
}

private final class LatestProgress: Sendable {
    private let value = Mutex<ScanProgress?>(nil)
    func set(_ p: ScanProgress) { value.withLock { $0 = p } }
    func get() -> ScanProgress? { value.withLock { $0 } }
}
