import GRDB

extension DatabaseReader {
    /// Reads with `value` from async code, the reader going back to its pool as soon as `value` returns.
    ///
    /// GRDB's `async` `read(_:)` gives a pool's reader back only once the awaiting task has resumed, on Swift's
    /// cooperative pool. When every thread of that pool is blocked in a synchronous read waiting for a reader, no
    /// reader comes back and those reads wait forever: a deadlock seen in the test suite on 2 cores, where a test's
    /// synchronous reads of a shared store held both cooperative threads while the pool's readers belonged to async
    /// listings waiting to resume. Here the read goes through `asyncRead(_:)`, which gives the reader back on
    /// GRDB's own queue when `value` returns, whatever the cooperative pool is doing; the task resumes after.
    ///
    /// Unlike GRDB's `async` read, cancelling the task does not interrupt a running read (the reads of
    /// this package are short).
    package func readReturningReader<T: Sendable>(
        _ value: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            asyncRead { database in
                continuation.resume(with: Result { try value(database.get()) })
            }
        }
    }
}
