import Dispatch
import Foundation
import GRDB
import GRDBReads
import Synchronization
import TestSupport
import Testing

/// A task executor whose jobs wait while it is closed: a task that prefers it cannot resume until
/// ``open()``, as a task cannot while every thread of the cooperative pool is blocked.
private final class GatedExecutor: TaskExecutor {
    private let state = Mutex<(open: Bool, waiting: [UnownedJob])>((true, []))
    private let queue = DispatchQueue(label: "GatedExecutor")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let run = state.withLock { s in
            if !s.open { s.waiting.append(job) }
            return s.open
        }
        if run { schedule(job) }
    }

    func close() { state.withLock { $0.open = false } }

    func open() {
        let waiting = state.withLock { s in
            s.open = true
            defer { s.waiting = [] }
            return s.waiting
        }
        for job in waiting { schedule(job) }
    }

    private func schedule(_ job: UnownedJob) {
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

@Suite("Async reads give the reader back on GRDB's queue (GRDBReads)")
struct ReaderReturningReadTests {
    /// The hang of a CI run, reduced: a pool of one reader, an async read whose task cannot resume
    /// after its block ran, and a synchronous read on another thread that needs that reader. With GRDB's
    /// own `async` read the reader is given back only when the task resumes, so the synchronous read
    /// never ends.
    @Test func theReaderIsBackBeforeTheReadingTaskResumes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grdbreads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = Configuration()
        configuration.maximumReaderCount = 1
        let pool = try DatabasePool(
            path: directory.appendingPathComponent("db.sqlite").path,
            configuration: configuration
        )
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (7)")
        }

        let gate = GatedExecutor()
        let blockRan = Atomic<Bool>(false)
        let reading = Task(executorPreference: gate) {
            try await pool.readReturningReader { db in
                // From here on the task cannot resume (as if the cooperative pool were blocked).
                gate.close()
                blockRan.store(true, ordering: .sequentiallyConsistent)
                return try Int.fetchOne(db, sql: "SELECT x FROM t")
            }
        }
        defer { gate.open() }  // whatever happens, the task resumes and ends
        try await eventually(10, "the async read's block to run") { blockRan.load(ordering: .sequentiallyConsistent) }

        // A synchronous read on a thread of its own, as a store's caller blocks one of its threads.
        let syncRead = Mutex<Int??>(nil)
        Thread.detachNewThread {
            let x = try? pool.read { db in try Int.fetchOne(db, sql: "SELECT x + 1 FROM t") }
            syncRead.withLock { $0 = .some(x ?? nil) }
        }
        let other = try await eventually(10, "the synchronous read to get the pool's one reader") {
            syncRead.withLock { $0 }
        }
        #expect(other == 8)

        gate.open()
        #expect(try await reading.value == 7)
    }
}
