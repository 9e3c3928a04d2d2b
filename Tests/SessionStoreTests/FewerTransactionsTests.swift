import Foundation
import ScanCore
import SessionStore
import Testing

/// The session store's per-scan writes folded together (issue 15): a final state drops its job in the
/// same transaction, a job is found or stored in one, and chunk results saved at once are all stored.
@Suite("SessionStore, fewer transactions")
struct FewerTransactionsTests {
    static func job(_ id: String, symbols: [String] = ["005930", "000660", "035720"]) -> ProcessingJob {
        ProcessingJob(
            id: id,
            symbols: symbols,
            timeframe: .daily,
            dateRange: DateRange(
                from: CalendarDay(year: 2022, month: 1, day: 3)!,
                to: CalendarDay(year: 2022, month: 9, day: 19)!
            ),
            formula: Formula(name: "f", source: "close > 1"),
            parameters: ["n": .number(2)],
            mode: .range
        )
    }

    @Test func aFinalStateDropsItsJobAndChunksAndARunningOneKeepsThem() async throws {
        let store = try SessionStore.inMemory()
        #expect(store.finalStateDropsJob)
        for status in ScanStatus.allCases {
            let id = "s-\(status.rawValue)"
            try await store.saveJob(Self.job(id), chunkSize: 2)
            try await store.saveChunkResult(jobId: id, chunkIndex: 0, results: [SymbolResult(symbol: "005930")])
            try await store.save(SessionStoreTests.session(id, status: status, created: 1))
            #expect(try await store.session(id: id)?.status == status)
            let kept = try await store.job(id: id) != nil
            let chunks = try await store.chunkResults(jobId: id)
            #expect(kept == !status.isFinal, "\(status)")
            #expect(chunks.isEmpty == status.isFinal, "\(status)")
        }
        // Another session's job is not touched.
        try await store.saveJob(Self.job("other"), chunkSize: 2)
        try await store.save(SessionStoreTests.session("done", status: .completed, created: 2))
        #expect(try await store.job(id: "other") != nil)
    }

    @Test func resumeOrSaveJobStoresANewJobAndFindsTheSameOneWithItsChunks() async throws {
        let store = try SessionStore.inMemory()
        let job = Self.job("j")
        #expect(try await store.resumeOrSaveJob(job, chunkSize: 2) == nil)
        #expect(try await store.job(id: "j")?.job == job)
        #expect(try await store.job(id: "j")?.chunkSize == 2)
        let chunk1 = [SymbolResult(symbol: "035720", error: "stored before a restart")]
        try await store.saveChunkResult(jobId: "j", chunkIndex: 1, results: chunk1)

        let found = try #require(try await store.resumeOrSaveJob(job, chunkSize: 1))
        #expect(found.chunkSize == 2, "the stored chunking, not the new one")
        #expect(found.chunks.keys.sorted() == [1])
        #expect(found.chunks[1] == chunk1)

        // Another version of the job under the same id replaces it and drops its chunks.
        var changed = job
        changed.symbols.append("000270")
        #expect(try await store.resumeOrSaveJob(changed, chunkSize: 3) == nil)
        #expect(try await store.job(id: "j")?.job == changed)
        #expect(try await store.job(id: "j")?.chunkSize == 3)
        #expect(try await store.chunkResults(jobId: "j").isEmpty)
    }

    @Test func chunkResultsSavedAtOnceAreEachStoredOnceAndReadBackExactly() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fewer-tx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SessionStore(path: dir.appendingPathComponent("s.sqlite").path)
        let symbols = (0..<64).map { String(format: "%06d", $0) }
        try await store.saveJob(Self.job("g", symbols: symbols), chunkSize: 1)
        func results(_ i: Int) -> [SymbolResult] {
            [SymbolResult(symbol: symbols[i], error: i.isMultiple(of: 3) ? "e\(i)" : nil, barsScanned: i)]
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<symbols.count {
                group.addTask { try await store.saveChunkResult(jobId: "g", chunkIndex: i, results: results(i)) }
                // A duplicate of every fourth, saved at the same time: the first stored one stays.
                if i.isMultiple(of: 4) {
                    group.addTask { try await store.saveChunkResult(jobId: "g", chunkIndex: i, results: results(i)) }
                }
            }
            try await group.waitForAll()
        }
        let stored = try await store.chunkResults(jobId: "g")
        #expect(stored.keys.sorted() == Array(0..<symbols.count))
        for i in 0..<symbols.count { #expect(stored[i] == results(i)) }
        // A save after the burst is stored too (the writer is free again).
        try await store.saveChunkResult(jobId: "g", chunkIndex: 64, results: [SymbolResult(symbol: "x")])
        #expect(try await store.chunkResults(jobId: "g")[64] == [SymbolResult(symbol: "x")])
    }
}
