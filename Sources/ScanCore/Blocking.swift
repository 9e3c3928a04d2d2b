import Foundation

/// Runs blocking work (store reads) on a dedicated thread, never on Swift's cooperative pool.
public enum Blocking {
    /// Runs `work` on a new thread and returns its result.
    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try work() })
            }
            thread.name = "scan-blocking"
            thread.start()
        }
    }
}
