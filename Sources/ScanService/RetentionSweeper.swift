import Foundation
import Logging
import ScanCore

/// Applies the service's ``RetentionPolicy`` to the session store: once at start, then every
/// `interval` until cancelled, so the store stays bounded however long the service runs.
struct RetentionSweeper: Sendable {
    let policy: RetentionPolicy
    let sessions: any ScanSessionRepository
    let interval: Duration
    let logger: Logger
    var metrics: ServiceMetrics = .discarded

    /// Prunes now and then every `interval`; returns when the task is cancelled.
    func run() async {
        guard !policy.keepsEverything else { return }
        while !Task.isCancelled {
            await sweep()
            try? await Task.sleep(for: interval)
        }
    }

    /// One pass; a store failure is logged and retried on the next pass.
    func sweep() async {
        do {
            let removed = try await sessions.prune(policy, now: Date())
            if removed > 0 {
                logger.info("pruned finished sessions", metadata: ["sessions": "\(removed)"])
            }
        } catch {
            metrics.storeWriteFailed("prune")
            logger.warning("could not prune sessions", metadata: ["error": "\(error)"])
        }
    }
}
