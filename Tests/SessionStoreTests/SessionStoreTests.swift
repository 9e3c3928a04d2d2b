import Foundation
import GRDB
import ScanCore
import SessionStore
import Testing

@Suite("SessionStore")
struct SessionStoreTests {
    static func sampleResult() -> BatchScanResult {
        let daily = SignalMatch(
            symbol: "005930",
            timestamp: BarTimestamp(day: CalendarDay(year: 2022, month: 9, day: 19)!),
            signal: "golden",
            close: 54_400,
            values: ["rsi14": 41.5, "gap": .nan]
        )
        let intraday = SignalMatch(
            symbol: "INDA",
            timestamp: BarTimestamp(parsing: "2025-06-09T09:35:00-04:00")!,
            signal: "dead",
            close: 56.25,
            values: ["rsi14": 70.125]
        )
        let signals = SignalAggregator.aggregate([
            SymbolResult(symbol: "005930", matches: [daily], barsScanned: 250),
            SymbolResult(symbol: "INDA", matches: [intraday], barsScanned: 390),
            SymbolResult(symbol: "999999", error: "unknown symbol '999999'"),
        ])
        return BatchScanResult(
            jobId: "job-1",
            signals: signals,
            statistics: SignalAggregator.statistics(signals),
            processingTimeMs: 12.75,
            errors: [SymbolError(symbol: "999999", message: "unknown symbol '999999'")]
        )
    }

    static func session(_ id: String, status: ScanStatus, created: Double) -> ScanSession {
        ScanSession(
            id: id,
            status: status,
            request: BatchScanRequest(
                symbolCriteria: SymbolCriteria(markets: ["KOSPI"], exclude: ["000660"]),
                timeframe: .daily,
                dateRange: DateRange(
                    from: CalendarDay(year: 2022, month: 1, day: 3)!,
                    to: CalendarDay(year: 2022, month: 9, day: 19)!
                ),
                formula: Formula(name: "f1", source: "input fast = 5\nsignal up = close > sma(close, fast)"),
                parameters: ["fast": .number(3), "strict": .bool(true)],
                mode: .latest
            ),
            progress: ScanProgress(completed: 2, total: 3, matchesSoFar: 2),
            createdAt: Date(timeIntervalSinceReferenceDate: created)
        )
    }

    @Test func sessionRoundTripsWithResultNaNAndIntradayTimestamps() async throws {
        let store = try SessionStore.inMemory()
        var s = Self.session("a", status: .completed, created: 1000.123456789)
        s.startedAt = Date(timeIntervalSinceReferenceDate: 1000.5)
        s.finishedAt = Date(timeIntervalSinceReferenceDate: 1001.75)
        s.result = Self.sampleResult()
        try await store.save(s)
        let back = try #require(try await store.session(id: "a"))
        #expect(back == s)
        #expect(back.result?.signals.matches.first?.values["gap"]?.isNaN == true)
        #expect(back.result?.signals.matches.last?.timestamp.description == "2025-06-09T09:35:00-04:00")
        #expect(try await store.session(id: "nope") == nil)
    }

    @Test func saveReplacesTheSessionWhole() async throws {
        let store = try SessionStore.inMemory()
        var s = Self.session("a", status: .running, created: 1)
        try await store.save(s)
        s.status = .failed
        s.error = "engine exploded"
        try await store.save(s)
        #expect(try await store.session(id: "a") == s)
    }

    @Test func listIsNewestFirstFilteredAndLimited() async throws {
        let store = try SessionStore.inMemory()
        try await store.save(Self.session("old", status: .completed, created: 1))
        try await store.save(Self.session("mid", status: .running, created: 2))
        try await store.save(Self.session("new", status: .completed, created: 3))
        #expect(try await store.list(status: nil, limit: 10).map(\.id) == ["new", "mid", "old"])
        #expect(try await store.list(status: .completed, limit: 10).map(\.id) == ["new", "old"])
        #expect(try await store.list(status: nil, limit: 2).map(\.id) == ["new", "mid"])
        #expect(try await store.list(status: .failed, limit: 10).isEmpty)
    }

    /// Issue 16, part 8: a list comes without the sessions' results (one `LIST_SESSIONS` decoded the
    /// matches of every listed session); the session itself still has its result.
    @Test func listedSessionsComeWithoutTheirResults() async throws {
        let store = try SessionStore.inMemory()
        var s = Self.session("done", status: .completed, created: 1)
        s.result = Self.sampleResult()
        try await store.save(s)
        let listed = try await store.list(status: nil, limit: 10)
        #expect(listed.map(\.id) == ["done"])
        #expect(listed.first?.result == nil)
        #expect(listed.first?.progress == s.progress && listed.first?.request == s.request)
        #expect(try await store.session(id: "done")?.result == s.result)
    }

    @Test func jobAndChunkResultsAreStoredAndChunkSavesAreIdempotent() async throws {
        let store = try SessionStore.inMemory()
        let job = ProcessingJob(
            id: "job-1",
            symbols: ["005930", "000660", "035720"],
            timeframe: .daily,
            dateRange: DateRange(
                from: CalendarDay(year: 2022, month: 1, day: 3)!,
                to: CalendarDay(year: 2022, month: 9, day: 19)!
            ),
            formula: Formula(name: "f", source: "close > 1"),
            parameters: ["n": .number(2)],
            mode: .range
        )
        try await store.saveJob(job, chunkSize: 2)
        let stored = try #require(try await store.job(id: "job-1"))
        #expect(stored.job == job)
        #expect(stored.chunkSize == 2)
        #expect(try await store.job(id: "other") == nil)

        let r = Self.sampleResult()
        let chunk0 = [
            SymbolResult(
                symbol: "005930",
                matches: r.signals.matches.filter { $0.symbol == "005930" },
                barsScanned: 250
            ),
            SymbolResult(symbol: "000660", error: "cannot read bars", barsScanned: 0),
        ]
        try await store.saveChunkResult(jobId: "job-1", chunkIndex: 0, results: chunk0)
        try await store.saveChunkResult(jobId: "job-1", chunkIndex: 0, results: [])  // a duplicate: ignored
        try await store.saveChunkResult(
            jobId: "job-1",
            chunkIndex: 1,
            results: [SymbolResult(symbol: "035720", barsScanned: 250)]
        )
        let chunks = try await store.chunkResults(jobId: "job-1")
        #expect(chunks.keys.sorted() == [0, 1])
        #expect(chunks[0] == chunk0)
        #expect(chunks[1] == [SymbolResult(symbol: "035720", barsScanned: 250)])

        try await store.deleteJob(id: "job-1")
        #expect(try await store.job(id: "job-1") == nil)
        #expect(try await store.chunkResults(jobId: "job-1").isEmpty)
    }

    /// `body` with the path of a database file in a directory of its own, removed afterwards.
    private func withDatabaseFile(_ name: String, _ body: (String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sessionstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await body(dir.appendingPathComponent(name).path)
    }

    @Test func theWALIsCutBackAfterALargeTransaction() async throws {
        try await withDatabaseFile("s.sqlite") { path in try await walIsCutBack(path) }
    }

    private func walIsCutBack(_ path: String) async throws {
        let store = try SessionStore(path: path)
        let limit = SessionStore.walSizeLimitBytes
        // One transaction larger than the limit (as a burst of large results would be), checkpointed.
        let blob = Data(repeating: 0x5a, count: 1 << 20)
        try await store.writer.write { db in
            try db.execute(sql: "CREATE TABLE filler (b BLOB)")
            for _ in 0..<(limit >> 20) + 16 { try db.execute(sql: "INSERT INTO filler VALUES (?)", arguments: [blob]) }
        }
        func walBytes() throws -> Int {
            try (FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? NSNumber)?.intValue ?? 0
        }
        #expect(try walBytes() > limit)
        _ = try await store.writer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        // The next write restarts the log from its start: the file is cut back then.
        try await store.save(Self.session("after", status: .pending, created: 1))
        #expect(try walBytes() <= limit)
        #expect(try await store.session(id: "after")?.status == .pending)
    }

    @Test func sharesTheDatabaseFileWithAnotherMigratorInWALMode() async throws {
        try await withDatabaseFile("market.sqlite") { path in try await sharesTheFile(path) }
    }

    private func sharesTheFile(_ path: String) async throws {
        // Another module's migrator on the same file, before and after ours.
        let other = try DatabasePool(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("marketdata-v1") { db in
            try db.execute(sql: "CREATE TABLE symbols (symbol TEXT PRIMARY KEY)")
        }
        try migrator.migrate(other)

        let store = try SessionStore(path: path)
        try await store.save(Self.session("a", status: .pending, created: 5))
        try migrator.migrate(other)
        let reopened = try SessionStore(path: path)
        #expect(try await reopened.session(id: "a")?.status == .pending)
        let mode = try await other.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let applied = try await other.read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        }
        #expect(applied == ["marketdata-v1", "sessions-v1", "sessions-watches-v1"])
    }
}
