import Foundation
import GRDB
import ScanCore
import Synchronization
import Testing

@testable import SessionStore

@Suite("SessionStore WAL checkpoints")
struct CheckpointTests {
    /// Each final state is followed by a passive checkpoint on the checkpointer's own connection, so the
    /// WAL restarts from its start at the next write and stays about one session's size. Without it the
    /// log would grow by every session until the automatic checkpoint, 128 MB away on this file's 64 KB
    /// pages.
    @Test func finalStatesAreCheckpointedOffTheWritersPath() async throws {
        try await withServiceStore { path, store, checkpointer in
            // Final states of 2 MB each (a failure message stands in for a large result).
            let large = String(repeating: "x", count: 2 << 20)
            let sessions = 20
            var largestWAL = 0
            for i in 0..<sessions {
                var s = SessionStoreTests.session("s\(i)", status: .failed, created: Double(i))
                s.error = large
                try await store.save(s)
                await checkpointer.idle()
                largestWAL = max(largestWAL, try Self.walBytes(path))
            }
            #expect(checkpointer.completed >= sessions)
            #expect(checkpointer.failures == 0)
            // One session's pages and the small writes around it; 40 MB and more without the checkpoints.
            #expect(largestWAL < 8 << 20, "the WAL reached \(largestWAL) bytes")
            let stored = try await store.list(status: .failed, limit: 100)
            #expect(stored.count == sessions)
            #expect(try await store.session(id: "s7")?.error == large)
        }
    }

    /// A final state deletes the session's chunk records; their freed pages are not written again as
    /// zeros (Debian's SQLite deletes securely by default: that wrote every chunk record to the WAL a
    /// second time, and checkpointed it).
    @Test func freedChunkRecordsAreNotRewritten() async throws {
        try await withServiceStore { path, store, checkpointer in
            try await store.save(SessionStoreTests.session("j", status: .running, created: 1))
            try await store.saveJob(FewerTransactionsTests.job("j"), chunkSize: 1)
            // A chunk record of 4 MB (an error message stands in for a chunk's matches).
            let chunk = SymbolResult(symbol: "005930", error: String(repeating: "x", count: 4 << 20))
            try await store.saveChunkResult(jobId: "j", chunkIndex: 0, results: [chunk])
            let before = try Self.walBytes(path)
            #expect(before > 4 << 20)
            try await store.save(SessionStoreTests.session("j", status: .completed, created: 1))
            await checkpointer.idle()
            let added = try Self.walBytes(path) - before
            #expect(try await store.chunkResults(jobId: "j").isEmpty)
            // The final state's few pages; 4 MB more when the freed record is zeroed.
            #expect(added < 1 << 20, "the final state added \(added) bytes to the WAL")
        }
    }

    /// A session that is not final asks for no checkpoint (its job is still running); each checkpoint is
    /// reported (the service's metric).
    @Test func runningSessionsDoNotCheckpoint() async throws {
        try await withStoreFile { path in try await onlyFinalStatesCheckpoint(path) }
    }

    private func onlyFinalStatesCheckpoint(_ path: String) async throws {
        let store = try SessionStore(path: path)
        let checkpointer = try #require(store.checkpointer)
        let reports = Mutex<[Bool]>([])
        store.reportCheckpoints { ok in reports.withLock { $0.append(ok) } }
        try await store.save(SessionStoreTests.session("a", status: .pending, created: 1))
        try await store.save(SessionStoreTests.session("a", status: .running, created: 1))
        await checkpointer.idle()
        #expect(checkpointer.completed == 0)
        #expect(reports.withLock { $0 }.isEmpty)
        try await store.save(SessionStoreTests.session("a", status: .completed, created: 1))
        await checkpointer.idle()
        #expect(checkpointer.completed == 1)
        #expect(reports.withLock { $0 } == [true])
    }

    /// The size of the WAL file of the store at `path`.
    private static func walBytes(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? NSNumber)?.intValue ?? 0
    }

    /// `body` with a session store on the service's file, created by the market-data store with 64 KB
    /// pages in WAL mode, and its checkpointer.
    private func withServiceStore(
        _ body: (String, SessionStore, WALCheckpointer) async throws -> Void
    ) async throws {
        try await withStoreFile { path in
            do {
                let creator = try DatabaseQueue(path: path)
                try await creator.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA page_size = 65536")
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                    try db.execute(sql: "CREATE TABLE marketdata_placeholder (x INTEGER)")
                }
            }
            let store = try SessionStore(path: path)
            try await body(path, store, try #require(store.checkpointer))
        }
    }

    /// `body` with the path of a store file in a directory of its own, removed afterwards.
    private func withStoreFile(_ body: (String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await body(dir.appendingPathComponent("store.sqlite").path)
    }

    /// A store over a database opened elsewhere (an in-memory queue) has no checkpointer.
    @Test func aStoreOverAnOpenDatabaseHasNone() throws {
        #expect(try SessionStore.inMemory().checkpointer == nil)
    }
}
