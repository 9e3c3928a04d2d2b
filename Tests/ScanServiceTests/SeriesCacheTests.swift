import EngineNode
import FormulaEngine
import ScanCore
import Synchronization
import Testing

/// A store of `bars`-bar series that counts its loads.
private final class CountingBars: BarRepository {
    let bars: Int
    let loads = Mutex<[String]>([])
    init(bars: Int) { self.bars = bars }
    func dataVersion() throws -> Int64 { 1 }
    func latestDay(for timeframe: Timeframe) throws -> CalendarDay? { nil }
    func loadBars(_ query: BarQuery) throws -> BarSeries {
        loads.withLock { $0.append(query.symbol) }
        let x = [Double](repeating: 1, count: bars)
        return BarSeries(
            symbol: query.symbol,
            timeframe: query.timeframe,
            times: (0..<bars).map { Int64($0) * 86_400 },
            columns: PriceColumns(open: x, high: x, low: x, close: x, volume: x)
        )
    }
}

@Suite("Engine node series cache")
struct SeriesCacheTests {
    let range = DateRange(
        from: CalendarDay(year: 2020, month: 1, day: 1)!,
        to: CalendarDay(year: 2020, month: 12, day: 31)!
    )

    private func query(_ symbol: String) -> BarQuery {
        BarQuery(symbol: symbol, timeframe: .daily, range: range, lookbackBars: 0)
    }

    @Test func aUniverseLargerThanTheBudgetStillHitsWhatIsCached() throws {
        let store = CountingBars(bars: 100)
        let cache = SeriesCache(maxBars: 300)  // room for 3 of the 5 symbols
        let universe = ["A", "B", "C", "D", "E"]
        for _ in 0..<3 { for s in universe { _ = try cache.series(query(s), from: store) } }
        // First pass loads all 5; each later pass loads only the 2 that did not fit (LRU would load all 5).
        #expect(store.loads.withLock { $0.count } == 5 + 2 + 2)
        #expect(cache.count == 3)
        #expect(cache.barCount == 300)
    }

    @Test func aNewVersionDropsEverything() throws {
        let store = CountingBars(bars: 10)
        let cache = SeriesCache(maxBars: 1_000)
        cache.validate(version: 1)
        _ = try cache.series(query("A"), from: store)
        _ = try cache.series(query("A"), from: store)
        #expect(store.loads.withLock { $0.count } == 1)
        cache.validate(version: 2)
        #expect(cache.count == 0)
        _ = try cache.series(query("A"), from: store)
        #expect(store.loads.withLock { $0.count } == 2)
    }

    @Test func entriesUnusedForLongMakeRoomForTheNewUniverse() throws {
        let store = CountingBars(bars: 100)
        let cache = SeriesCache(maxBars: 200)
        for s in ["A", "B"] { _ = try cache.series(query(s), from: store) }
        // The trader moved on: only X and Y are scanned from now on.
        for _ in 0..<20 { for s in ["X", "Y"] { _ = try cache.series(query(s), from: store) } }
        let before = store.loads.withLock { $0.count }
        for s in ["X", "Y"] { _ = try cache.series(query(s), from: store) }
        #expect(store.loads.withLock { $0.count } == before, "X and Y are cached once A and B went stale")
        #expect(cache.count == 2)
    }
}
