import Foundation
import GRDB
import ScanCore
import SessionStore
import Testing

@Suite("Retention")
struct RetentionTests {
    /// A file store in a fresh directory, removed afterwards.
    static func withFileStore(_ body: (SessionStore, String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("retention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.sqlite").path
        try await body(try SessionStore(path: path), path)
    }

    static func finished(_ id: String, _ status: ScanStatus, created: Double, finished: Double?) -> ScanSession {
        var s = SessionStoreTests.session(id, status: status, created: created)
        s.finishedAt = finished.map(Date.init(timeIntervalSinceReferenceDate:))
        if status == .completed { s.result = SessionStoreTests.sampleResult() }
        return s
    }

    @Test func keepSessionsKeepsTheNewestFinishedOnesAndEveryRunningOne() async throws {
        try await Self.withFileStore { store, _ in
            for i in 0..<6 {
                let status: ScanStatus = [.completed, .failed, .cancelled][i % 3]
                try await store.save(
                    Self.finished("f\(i)", status, created: Double(i * 10), finished: Double(i * 10 + 1))
                )
            }
            // Older than every finished one, still running: never pruned, not counted.
            try await store.save(SessionStoreTests.session("r", status: .running, created: 0))
            try await store.save(SessionStoreTests.session("p", status: .pending, created: 1))
            // Chunks of a pruned session's job go with it; those of a kept one stay.
            let job = ProcessingJob(
                id: "f0",
                symbols: ["005930"],
                timeframe: .daily,
                dateRange: SessionStoreTests.session("x", status: .running, created: 0).request.dateRange!,
                formula: Formula(name: "f", source: "close > 1")
            )
            try await store.saveJob(job, chunkSize: 1)
            try await store.saveChunkResult(jobId: "f0", chunkIndex: 0, results: [SymbolResult(symbol: "005930")])
            var kept = job
            kept.id = "f5"
            try await store.saveJob(kept, chunkSize: 1)

            let removed = try await store.prune(RetentionPolicy(keepSessions: 2), now: Date())
            #expect(removed == 4)
            let ids = Set(try await store.list(status: nil, limit: 100).map(\.id))
            #expect(ids == ["f5", "f4", "r", "p"])
            #expect(try await store.job(id: "f0") == nil)
            #expect(try await store.chunkResults(jobId: "f0").isEmpty)
            #expect(try await store.job(id: "f5") != nil)
            // Applying it again removes nothing.
            #expect(try await store.prune(RetentionPolicy(keepSessions: 2), now: Date()) == 0)
        }
    }

    @Test func maxAgeRemovesSessionsThatFinishedBeforeTheCutoff() async throws {
        try await Self.withFileStore { store, _ in
            let day = 86_400.0
            let now = Date(timeIntervalSinceReferenceDate: 100 * day)
            try await store.save(Self.finished("old", .completed, created: 80 * day, finished: 89 * day))
            try await store.save(Self.finished("new", .failed, created: 80 * day, finished: 95 * day))
            // No finish time (an old row): its creation time counts.
            try await store.save(Self.finished("nofinish", .cancelled, created: 10 * day, finished: nil))
            try await store.save(SessionStoreTests.session("run", status: .running, created: 1))
            let removed = try await store.prune(RetentionPolicy(maxAge: .seconds(10 * day)), now: now)
            #expect(removed == 2)
            #expect(Set(try await store.list(status: nil, limit: 10).map(\.id)) == ["new", "run"])
            #expect(try await store.prune(.keepAll, now: now) == 0)
        }
    }

    @Test func theFileStopsGrowingOncePruningKeepsUp() async throws {
        try await Self.withFileStore { store, path in
            func pages() async throws -> Int {
                // The main file's pages once the WAL is folded into it.
                try await store.writer.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                    return try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                }
            }
            var sizes: [Int] = []
            for round in 0..<4 {
                for i in 0..<25 {
                    let n = round * 25 + i
                    try await store.save(Self.finished("s\(n)", .completed, created: Double(n), finished: Double(n)))
                }
                _ = try await store.prune(RetentionPolicy(keepSessions: 25), now: Date())
                sizes.append(try await pages())
            }
            #expect(try await store.list(status: nil, limit: 1000).count == 25)
            // Freed pages are reused: after the first round the file does not keep growing.
            #expect(sizes[3] <= sizes[1] + sizes[1] / 2, "sizes \(sizes)")
        }
    }
}
