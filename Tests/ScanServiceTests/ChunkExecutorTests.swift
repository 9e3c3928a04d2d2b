import EngineNode
import Foundation
import ScanCore
import ScanProtocol
import Synchronization
import Testing

/// The node's executor on the bundled sample: chunks complete whole and in order, and a dropped
/// chunk is neither delivered nor held once the symbols being scanned finish (issue 16, defect 5).
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
        let store = try TestMarket.store()
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

    @Test func aDroppedChunkIsNotHeldOnceItsRunningSymbolsFinish() async throws {
        let store = try TestMarket.store()
        let symbols = Array(try store.allSymbols().map(\.symbol).prefix(24))
        let bars = GatedBars(store)
        defer { bars.open() }
        let delivered = Mutex(0)
        let executor = ChunkExecutor(
            bars: bars,
            cache: SeriesCache(maxBars: 1_000_000),
            threads: 2,
            maxQueued: 4
        ) { _, _ in delivered.withLock { $0 += 1 } }
        defer { executor.stop() }
        executor.submit(Self.chunk("job", 0, symbols))
        // Both threads are inside a symbol of the chunk when it is dropped.
        try await eventually(10, "two symbols being loaded") { bars.waiting == 2 }
        executor.drop(jobId: "job")
        bars.open()
        try await eventually(10, "the dropped chunk is no longer held") { executor.held().isEmpty }
        // Another job still runs to the end on the same threads.
        executor.submit(Self.chunk("next", 0, Array(symbols.prefix(2))))
        try await eventually(10, "the next job's chunk is delivered") { delivered.withLock { $0 } == 1 }
        #expect(executor.held().isEmpty)
    }
}

/// A store whose loads wait until ``open()`` (so a test can catch a chunk mid-way on any machine).
private final class GatedBars: BarRepository {
    private let inner: any BarRepository
    private let gate = NSCondition()
    private let state = Mutex((isOpen: false, waiting: 0))

    init(_ inner: any BarRepository) { self.inner = inner }

    /// Loads waiting at the gate now.
    var waiting: Int { state.withLock { $0.waiting } }

    func open() {
        gate.lock()
        state.withLock { $0.isOpen = true }
        gate.broadcast()
        gate.unlock()
    }

    func dataVersion() throws -> Int64 { try inner.dataVersion() }
    func latestDay(for timeframe: Timeframe) throws -> CalendarDay? { try inner.latestDay(for: timeframe) }
    func loadBars(_ query: BarQuery) throws -> BarSeries {
        gate.lock()
        state.withLock { $0.waiting += 1 }
        while !state.withLock({ $0.isOpen }) { gate.wait() }
        state.withLock { $0.waiting -= 1 }
        gate.unlock()
        return try inner.loadBars(query)
    }
}
