import Foundation

/// Runs blocking work (store reads, file I/O) on dedicated threads, never on Swift's cooperative pool.
public enum Blocking {
    /// The shared threads: a few, started as work arrives; more calls than threads wait their turn.
    static let pool = ThreadPool(maxThreads: 8, name: "scan-blocking")

    /// A task executor on the same shared threads: a task created with
    /// `Task(executorPreference: Blocking.executor)` runs the synchronous parts between its suspension
    /// points there (encoding what it writes, the calls it makes that block), so long background
    /// writes keep off the cooperative pool the service's event path runs on.
    package static let executor = ThreadPoolExecutor(pool)

    /// Runs `work` on one of the shared blocking threads and returns its result.
    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            // The shared pool is never stopped, so the work always runs.
            pool.submit { _ in continuation.resume(with: Result { try work() }) }
        }
    }
}

/// A ``ThreadPool`` as a `TaskExecutor`: each job of a task that prefers it runs on one of the pool's
/// threads (a task's jobs never run at the same time, so which thread takes one does not matter).
package final class ThreadPoolExecutor: TaskExecutor {
    private let pool: ThreadPool

    /// - Parameter pool: a pool that is never stopped (a job it dropped would leave its task hanging).
    package init(_ pool: ThreadPool) { self.pool = pool }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        pool.submit { _ in job.runSynchronously(on: executor) }
    }
}
