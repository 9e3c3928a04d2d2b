import Foundation
import Logging
import ScanCore
import Synchronization

/// A session repository that never loses a session's state to a store failure (a full disk, a locked
/// or unreachable database): a transition that cannot be saved is kept in memory, served to readers
/// as the session's state, and written again in the background (with back-off) until it is stored.
///
/// Only a session's creation (its first, `pending` save) still throws, so that `RUN_SCAN` can answer
/// `busy` without having started anything. Thread-safe.
final class DurableSessions: ScanSessionRepository {
    private struct State {
        /// The newest unstored state of each session.
        var unstored: [String: ScanSession] = [:]
        var retrying = false
    }

    private let inner: any ScanSessionRepository
    private let logger: Logger
    /// Called once a session whose final state had to wait is stored.
    private let onStored: @Sendable (ScanSession) async -> Void
    private let state = Mutex(State())
    private let metrics: ServiceMetrics

    init(
        inner: any ScanSessionRepository,
        logger: Logger,
        metrics: ServiceMetrics = .discarded,
        onStored: @escaping @Sendable (ScanSession) async -> Void = { _ in }
    ) {
        self.metrics = metrics
        self.inner = inner
        self.logger = logger
        self.onStored = onStored
    }

    /// Sessions whose newest state is not stored yet.
    var unstoredCount: Int { state.withLock { $0.unstored.count } }

    /// Whether every state of the session was stored.
    func isStored(_ id: String) -> Bool { state.withLock { $0.unstored[id] == nil } }

    func save(_ session: ScanSession) async throws {
        // A newer state of a session still waiting replaces the waiting one (stored in order).
        let waiting = state.withLock { s -> Bool in
            guard s.unstored[session.id] != nil else { return false }
            s.unstored[session.id] = session
            return true
        }
        if waiting { return }
        do {
            try await inner.save(session)
        } catch {
            metrics.storeWriteFailed("session")
            if session.status == .pending { throw error }
            logger.error(
                "could not store a session's state; keeping it in memory and retrying until it is stored",
                metadata: ["session": "\(session.id)", "status": "\(session.status)", "error": "\(error)"]
            )
            keep(session)
        }
    }

    func session(id: String) async throws -> ScanSession? {
        if let waiting = state.withLock({ $0.unstored[id] }) { return waiting }
        return try await inner.session(id: id)
    }

    func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession] {
        let stored = try await inner.list(status: status, limit: limit)
        let waiting = state.withLock { $0.unstored }
        guard !waiting.isEmpty else { return stored }
        var byId = Dictionary(stored.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for (id, s) in waiting { byId[id] = s }
        return byId.values.filter { status == nil || $0.status == status }
            .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
            .prefix(limit).map { $0 }
    }

    var finalStateDropsJob: Bool { inner.finalStateDropsJob }

    /// Prunes the store (a session whose final state still waits is `running` there, so it stays).
    func prune(_ policy: RetentionPolicy, now: Date) async throws -> Int { try await inner.prune(policy, now: now) }

    /// Tries once to store every waiting state (at shutdown); logs what is still unstored.
    func flush() async {
        await writeWaiting()
        for (id, s) in state.withLock({ $0.unstored }) {
            logger.error(
                "a session's newest state could not be stored before the service stopped; the store still has an older one",
                metadata: ["session": "\(id)", "status": "\(s.status)"]
            )
        }
    }

    private func keep(_ session: ScanSession) {
        let start = state.withLock { s -> Bool in
            s.unstored[session.id] = session
            defer { s.retrying = true }
            return !s.retrying
        }
        guard start else { return }
        Task {
            var pause = Duration.milliseconds(100)
            while true {
                try? await Task.sleep(for: pause)
                await writeWaiting()
                let done = state.withLock { s -> Bool in
                    if s.unstored.isEmpty { s.retrying = false }
                    return !s.retrying
                }
                if done { return }
                pause = min(pause * 2, .seconds(5))
            }
        }
    }

    /// Writes each waiting state once; a state replaced meanwhile stays waiting.
    private func writeWaiting() async {
        for (id, s) in state.withLock({ $0.unstored }) {
            do {
                try await inner.save(s)
            } catch {
                metrics.storeWriteFailed("session")
                continue
            }
            let stored = state.withLock { all -> Bool in
                guard all.unstored[id] == s else { return false }
                all.unstored[id] = nil
                return true
            }
            if stored {
                logger.notice("stored a session's state after a store failure", metadata: ["session": "\(id)"])
                await onStored(s)
            }
        }
    }
}
