import FormulaEngine
import MarketData
import ScanCore
import Testing

@Suite("Store")
struct MarketDataStoreTests {
    @Test("dataVersion changes on every write and not on reads")
    func dataVersion() throws {
        let dir = try TempDir()
        let store = try dir.store()
        let v0 = try store.dataVersion()
        try store.upsertSymbols([SymbolInfo(symbol: "AAA")])
        let v1 = try store.dataVersion()
        #expect(v1 != v0)
        try store.writeBars([randomSeries(seed: 1, count: 10, timeframe: .daily, symbol: "AAA")])
        let v2 = try store.dataVersion()
        #expect(v2 != v1)
        _ = try store.loadBars(BarQuery(symbol: "AAA", timeframe: .daily, range: .everything, lookbackBars: 0))
        _ = try store.allSymbols()
        #expect(try store.dataVersion() == v2)
        // A second connection to the same file sees the same version.
        let other = try MarketDataStore.open(path: dir.path("store.sqlite"))
        #expect(try other.dataVersion() == v2)
        try other.upsertSymbols([SymbolInfo(symbol: "BBB")])
        #expect(try store.dataVersion() != v2)
    }

    @Test("unknown symbols throw alone and are listed in bulk loads; known symbols without bars are empty")
    func unknownSymbols() throws {
        let dir = try TempDir()
        let store = try dir.store()
        try store.upsertSymbols([SymbolInfo(symbol: "AAA"), SymbolInfo(symbol: "EMPTY")])
        try store.writeBars([randomSeries(seed: 2, count: 50, timeframe: .daily, symbol: "AAA")])
        #expect(throws: MarketDataError.self) {
            try store.loadBars(BarQuery(symbol: "NOPE", timeframe: .daily, range: .everything, lookbackBars: 0))
        }
        let empty = try store.loadBars(
            BarQuery(symbol: "EMPTY", timeframe: .weekly, range: .everything, lookbackBars: 0)
        )
        #expect(empty.count == 0)
        let batch = try store.loadBars(
            symbols: ["AAA", "NOPE", "EMPTY", "AAA"],
            timeframe: .daily,
            range: .everything,
            lookbackBars: 0
        )
        #expect(batch.unknown == ["NOPE"])
        #expect(batch.series["AAA"]?.count == 50)
        #expect(batch.series["EMPTY"]?.count == 0)
        #expect(throws: MarketDataError.self) {
            try store.writeBars([randomSeries(seed: 3, count: 5, timeframe: .daily, symbol: "NEW")])
        }
    }

    @Test(
        "loads of 1 to 1,001 symbols tell known from unknown at every statement size and its padding",
        arguments: [1, 2, 8, 9, 63, 64, 65, 499, 500, 501, 1_001]
    )
    func knownSymbolsAtEverySize(count: Int) throws {
        let dir = try TempDir()
        let store = try dir.store()
        // Every third symbol is known; the list ends on an unknown one, so the padding repeats an unknown.
        let symbols = (0..<count).map { String(format: "S%04d", $0) }
        let known = symbols.enumerated().filter { $0.offset % 3 == 1 }.map(\.element)
        try store.upsertSymbols(known.map { SymbolInfo(symbol: $0) })
        let queries = symbols.map { BarQuery(symbol: $0, timeframe: .daily, range: .everything, lookbackBars: 0) }
        let results = try store.loadBars(queries)
        #expect(results.count == count)
        for (symbol, result) in zip(symbols, results) {
            switch result {
            case .success(let series):
                #expect(known.contains(symbol), "\(symbol) loaded but is not in the store")
                #expect(series.count == 0)
            case .failure(let error):
                #expect(!known.contains(symbol), "\(symbol) is in the store but failed: \(error)")
                #expect((error as? MarketDataError)?.kind == .unknownSymbol)
            }
        }
    }

    @Test("daily loads return the whole history up to range.to; weekly resamples it")
    func dailyRange() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SampleData.load(into: store)
        let range = DateRange(from: day("2020-06-01"), to: day("2021-03-31"))
        let s = try store.loadBars(BarQuery(symbol: "005930", timeframe: .daily, range: range, lookbackBars: 0))
        #expect(s.day(at: 0) == day("2015-01-02"))
        #expect(s.day(at: s.count - 1) == day("2021-03-31"))
        let all = try store.loadBars(BarQuery(symbol: "005930", timeframe: .daily, range: .everything, lookbackBars: 0))
        #expect(Array(all.columns.close.prefix(s.count)) == s.columns.close)
        let w = try store.loadBars(BarQuery(symbol: "005930", timeframe: .weekly, range: range, lookbackBars: 0))
        #expect(w.timeframe == .weekly)
        #expect(w.columns.volume.reduce(0, +) == s.columns.volume.reduce(0, +))
        #expect(w.day(at: w.count - 1) == day("2021-03-29"))  // the Monday session of the last week
    }

    @Test("intraday loads give at least lookbackBars before the range and stop at its end")
    func intradayLookback() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try BarImporter(store: store, options: .init(timeframe: .minute1, createSymbols: true))
            .importFile(path: SharedData.path("intraday_1m/bars.csv"))
        let range = DateRange(from: day("2025-06-16"), to: day("2025-06-17"))
        for tf in [Timeframe.minute1, .minute5, .minute15, .minute60] {
            let whole = try store.loadBars(BarQuery(symbol: "INDA", timeframe: tf, range: .everything, lookbackBars: 0))
            let available = whole.indices(in: range).lowerBound
            for lookback in [0, 10, 200] {
                let s = try store.loadBars(
                    BarQuery(symbol: "INDA", timeframe: tf, range: range, lookbackBars: lookback)
                )
                let span = s.indices(in: range)
                #expect(span.lowerBound == min(lookback, available), "\(tf) lookback \(lookback)")
                // The bars are the same as in a whole-history load (no bucket cut short).
                let offset = available - span.lowerBound
                #expect(Array(whole.times[offset..<(offset + s.count)]) == s.times)
                #expect(Array(whole.columns.volume[offset..<(offset + s.count)]) == s.columns.volume)
                #expect(span.upperBound == s.count)
                #expect(s.day(at: s.count - 1) == day("2025-06-17"))
                #expect(s.utcOffsets.count == s.count)
            }
        }
        // More lookback than history: everything there is.
        let thin = try store.loadBars(BarQuery(symbol: "DBB", timeframe: .minute1, range: range, lookbackBars: 100_000))
        let allDBB = try store.loadBars(
            BarQuery(symbol: "DBB", timeframe: .minute1, range: .everything, lookbackBars: 0)
        )
        #expect(thin.indices(in: range).lowerBound == allDBB.indices(in: range).lowerBound)
    }

    @Test("in-memory store works like a file store")
    func inMemory() async throws {
        let store = try MarketDataStore.inMemory()
        try store.upsertSymbols([SymbolInfo(symbol: "AAA", market: "KOSPI")])
        try store.writeBars([randomSeries(seed: 4, count: 20, timeframe: .minute1, symbol: "AAA")])
        let u = try await store.resolve(.all)
        #expect(u.symbols.map(\.symbol) == ["AAA"])
        #expect(try store.storedBarCount(timeframe: .minute1) == 20)
    }

    @Test("writes refuse unsorted series and non-stored timeframes")
    func writeValidation() throws {
        let store = try MarketDataStore.inMemory()
        try store.upsertSymbols([SymbolInfo(symbol: "AAA")])
        var s = randomSeries(seed: 5, count: 3, timeframe: .daily, symbol: "AAA")
        s.times.swapAt(0, 1)
        #expect(throws: MarketDataError.self) { try store.writeBars([s]) }
        var w = randomSeries(seed: 5, count: 3, timeframe: .daily, symbol: "AAA")
        w.timeframe = .weekly
        #expect(throws: MarketDataError.self) { try store.writeBars([w]) }
        #expect(try store.storedBarCount(timeframe: .daily) == 0)
    }
}
