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

/// Daily bars on days 0 ..< `bars` since 2020-01-01, loaded as a store does: every bar up to the range
/// end, then at most the query's lookahead of later bars. Records each load's lookahead.
private final class EndingBars: BarRepository {
    let bars: Int
    let lookaheads = Mutex<[Int]>([])
    init(bars: Int) { self.bars = bars }
    func dataVersion() throws -> Int64 { 1 }
    func latestDay(for timeframe: Timeframe) throws -> CalendarDay? { nil }
    func loadBars(_ query: BarQuery) throws -> BarSeries {
        lookaheads.withLock { $0.append(query.lookaheadBars) }
        let first = CalendarDay(year: 2020, month: 1, day: 1)!
        let days = (0..<bars).map { first.adding(days: $0) }
        let inRange = days.filter { $0 <= query.range.to }.count
        let n = min(bars, inRange + query.lookaheadBars)
        let x = [Double](repeating: 1, count: n)
        return BarSeries(
            symbol: query.symbol,
            timeframe: query.timeframe,
            times: days.prefix(n).map(\.epochSeconds),
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

    @Test func hitsAndMissesAreCountedPerLookup() throws {
        let store = CountingBars(bars: 100)
        let cache = SeriesCache(maxBars: 300)  // room for 3 of the 5 symbols
        let universe = ["A", "B", "C", "D", "E"]
        for _ in 0..<2 { for s in universe { _ = try cache.series(query(s), from: store) } }
        // Two passes: 5 misses, then 3 hits and the 2 that did not fit missed again.
        #expect(cache.misses == 7)
        #expect(cache.hits == 3)
        #expect(cache.misses == store.loads.withLock { $0.count }, "every miss is a load")
        _ = cache.series(universe.map(query), from: store)
        #expect(cache.hits == 6)
        #expect(cache.misses == 9)
    }

    @Test func aPlainLoadServesALaterStudyWhenTheDataEndsByTheRangeEnd() throws {
        // The range ends after the last bar: the plain scan's load has every bar there is.
        let store = EndingBars(bars: 100)
        let cache = SeriesCache(maxBars: 1_000)
        _ = try cache.series(query("A"), from: store)
        var study = query("A")
        study.lookaheadBars = 20
        let series = try cache.series(study, from: store)
        #expect(store.lookaheads.withLock { $0 } == [1], "one load, with a bar of lookahead to see the end")
        #expect(series.count == 100)
    }

    @Test func aPlainLoadBeforeTheDataEndsIsLoadedAgainForAStudy() throws {
        // The range ends on day 49 of 100: a study needs bars the plain load did not read.
        let store = EndingBars(bars: 100)
        let cache = SeriesCache(maxBars: 1_000)
        let early = DateRange(from: range.from, to: range.from.adding(days: 49))
        let plain = BarQuery(symbol: "A", timeframe: .daily, range: early, lookbackBars: 0)
        let first = try cache.series(plain, from: store)
        #expect(first.count == 51, "the range's 50 bars and one bar of lookahead")
        var study = plain
        study.lookaheadBars = 20
        let series = try cache.series(study, from: store)
        #expect(store.lookaheads.withLock { $0 } == [1, 20])
        #expect(series.count == 70)
        // The study's load serves the plain scan from now on.
        _ = try cache.series(plain, from: store)
        #expect(store.lookaheads.withLock { $0.count } == 2)
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

/// A store that loads only the price columns asked for, as the SQLite store does for daily bars.
private final class ColumnBars: BarRepository {
    let asked = Mutex<[PriceFields]>([])
    func dataVersion() throws -> Int64 { 1 }
    func latestDay(for timeframe: Timeframe) throws -> CalendarDay? { nil }
    func loadBars(_ query: BarQuery) throws -> BarSeries {
        asked.withLock { $0.append(query.fields) }
        let x = [Double](repeating: 1, count: 10)
        func column(_ f: PriceFields) -> [Double] { query.fields.contains(f) ? x : [] }
        return BarSeries(
            symbol: query.symbol,
            timeframe: query.timeframe,
            times: (0..<10).map { Int64($0) * 86_400 },
            columns: PriceColumns(
                open: column(.open),
                high: column(.high),
                low: column(.low),
                close: column(.close),
                volume: column(.volume)
            )
        )
    }
}

@Suite("Engine node series cache: price columns")
struct SeriesCacheColumnTests {
    @Test func anEntryServesOnlyQueriesForColumnsItHolds() throws {
        let range = DateRange(
            from: CalendarDay(year: 2020, month: 1, day: 1)!,
            to: CalendarDay(year: 2020, month: 12, day: 31)!
        )
        func query(_ fields: PriceFields) -> BarQuery {
            BarQuery(symbol: "A", timeframe: .daily, range: range, lookbackBars: 0, fields: fields)
        }
        let store = ColumnBars()
        let cache = SeriesCache(maxBars: 1_000)
        cache.validate(version: 1)
        let first = try cache.series(query([.volume]), from: store)
        #expect(first.columns.high.isEmpty)
        _ = try cache.series(query([.close]), from: store)
        #expect(store.asked.withLock { $0 } == [[.close, .volume]], "a query for fewer columns is served")
        // More columns: loaded again, with the columns already held, and served from then on.
        let second = try cache.series(query([.high, .low]), from: store)
        #expect(second.columns.high.count == 10 && second.columns.volume.count == 10)
        _ = try cache.series(query([.volume]), from: store)
        _ = try cache.series(query([.high]), from: store)
        #expect(store.asked.withLock { $0 } == [[.close, .volume], [.high, .low, .close, .volume]])
    }

    @Test func theBudgetCountsTheColumnsLoaded() throws {
        let range = DateRange(
            from: CalendarDay(year: 2020, month: 1, day: 1)!,
            to: CalendarDay(year: 2020, month: 12, day: 31)!
        )
        func query(_ symbol: String, _ fields: PriceFields) -> BarQuery {
            BarQuery(symbol: symbol, timeframe: .daily, range: range, lookbackBars: 0, fields: fields)
        }
        let store = ColumnBars()
        // 10 bars of times and close: 160 bytes; with every column: 480.
        let cache = SeriesCache(maxBytes: 400)
        cache.validate(version: 1)
        for s in ["A", "B"] { _ = try cache.series(query(s, [.close]), from: store) }
        #expect(cache.count == 2 && cache.byteCount == 320 && cache.barCount == 20)
        _ = try cache.series(query("C", .all), from: store)
        #expect(cache.count == 2, "a whole series does not fit beside them")
        let small = SeriesCache(maxBars: 10)
        small.validate(version: 1)
        _ = try small.series(query("A", .all), from: store)
        #expect(small.byteCount == 480, "maxBars: 10 holds 10 daily bars of every column")
    }
}
