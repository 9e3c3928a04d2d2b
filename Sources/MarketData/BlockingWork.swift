import Foundation

/// Runs blocking work (SQLite, file I/O) on a thread of its own, so `async` callers never block
/// Swift's cooperative pool.
public enum BlockingWork {
    /// Runs `body` on a new thread and returns its result.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try body() })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
