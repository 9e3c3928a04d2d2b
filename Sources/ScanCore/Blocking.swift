import Foundation

/// Runs blocking work (store reads, file I/O) on dedicated threads, never on Swift's cooperative pool.
public enum Blocking {
    /// The shared threads: a few, started as work arrives; more calls than threads wait their turn.
    static let pool = ThreadPool(maxThreads: 8, name: "scan-blocking")

    /// Runs `work` on one of the shared blocking threads and returns its result.
    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            // The shared pool is never stopped, so the work always runs.
            pool.submit { _ in continuation.resume(with: Result { try work() }) }
        }
    }
}
