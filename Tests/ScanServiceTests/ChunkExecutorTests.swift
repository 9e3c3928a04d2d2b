import EngineNode
import Foundation
import ScanCore
import ScanProtocol
import Synchronization
import TestSupport
import Testing

/// The node's executor on the bundled sample: chunks complete whole and in order (a dropped chunk:
/// `HardeningTests.aCancelledRunningChunkIsNotHeldForever`).
@Suite("Engine node chunk executor")
struct ChunkExecutorTests {
    static let range = DateRange(
        from: CalendarDay(year: 2022, month: 1, day: 1)!,
        to: CalendarDay(year: 2022, month: 9, day: 19)!
    )

    static func chunk(_ job: String, _ index: Int, _ symbols: [String]) -> ChunkMessage {
        ChunkMessage(
            jobId: job,
            chunkIndex: index,
            attempt: 1,
            symbols: symbols,
            timeframe: .daily,
            dateRange: range,
            formula: Formula(name: "f1", source: f1),
            parameters: [:],
            mode: .range,
            lookback: 20
        )
    }

    @Test func chunksCompleteWithOneResultPerSymbolInOrder() async throws {
        let store = try await TestMarket.store()
        let symbols = try store.allSymbols().map(\.symbol)
        let delivered = Mutex<[ChunkResultMessage]>([])
        let executor = ChunkExecutor(
            bars: store,
            cache: SeriesCache(maxBars: 1_000_000),
            threads: 2,
            maxQueued: 4
        ) { chunk, results in
            let m = ChunkResultMessage(
                jobId: chunk.jobId,
                chunkIndex: chunk.chunkIndex,
                attempt: chunk.attempt,
                nodeName: "t",
                results: results
            )
            delivered.withLock { $0.append(m) }
        }
        defer { executor.stop() }
        executor.submit(Self.chunk("job", 0, Array(symbols[0..<20])))
        executor.submit(Self.chunk("job", 1, Array(symbols[20...])))
        executor.submit(Self.chunk("job", 2, []))
        try await eventually(30, "3 chunks delivered") { delivered.withLock { $0.count } == 3 }
        let byIndex = Dictionary(uniqueKeysWithValues: delivered.withLock { $0 }.map { ($0.chunkIndex, $0) })
        #expect(byIndex[0]?.results.map(\.symbol) == Array(symbols[0..<20]))
        #expect(byIndex[1]?.results.map(\.symbol) == Array(symbols[20...]))
        #expect(byIndex[2]?.results.isEmpty == true)
        #expect(byIndex.values.allSatisfy { $0.results.allSatisfy { $0.error == nil } })
        #expect(executor.held().isEmpty)
    }
}
