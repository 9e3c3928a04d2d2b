import FormulaEngine
import MarketData
import ScanCore
import Testing

/// Daily loads read only the price columns a query asks for (``BarQuery/fields``), and scans of what
/// they read equal scans of whole series, on the bundled real sample.
@Suite("Loading only the columns a formula reads")
struct PartialLoadTests {
    @Test("a daily load leaves out the columns not asked for; weekly and intraday loads keep every column")
    func leavesOutColumns() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SampleData.load(into: store)
        let full = try store.loadBars(
            BarQuery(symbol: "005930", timeframe: .daily, range: .everything, lookbackBars: 0)
        )
        let part = try store.loadBars(
            BarQuery(symbol: "005930", timeframe: .daily, range: .everything, lookbackBars: 0, fields: [.volume])
        )
        #expect(part.count == full.count && part.count > 1_000)
        #expect(part.times == full.times)
        #expect(part.columns.close == full.columns.close, "close is always loaded")
        #expect(part.columns.volume == full.columns.volume)
        #expect(part.columns.open.isEmpty && part.columns.high.isEmpty && part.columns.low.isEmpty)
        // With lookahead (a cut after the range) and a range ending early (a cut of the history).
        let range = DateRange(from: day("2020-06-01"), to: day("2021-03-31"))
        let cut = try store.loadBars(
            BarQuery(symbol: "005930", timeframe: .daily, range: range, lookbackBars: 0, lookaheadBars: 5, fields: [])
        )
        let cutFull = try store.loadBars(
            BarQuery(symbol: "005930", timeframe: .daily, range: range, lookbackBars: 0, lookaheadBars: 5)
        )
        #expect(cut.times == cutFull.times && cut.columns.close == cutFull.columns.close)
        #expect(cut.columns.volume.isEmpty)
        let weekly = try store.loadBars(
            BarQuery(symbol: "005930", timeframe: .weekly, range: .everything, lookbackBars: 0, fields: [])
        )
        #expect(weekly.columns.open.count == weekly.count && weekly.columns.volume.count == weekly.count)
    }

    @Test("scans of partial loads equal scans of whole series, and a missing column is an error")
    func scansAreEqual() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SampleData.load(into: store)
        let symbols = try store.allSymbols().map(\.symbol)
        #expect(symbols.count > 20)
        let range = DateRange(from: day("2019-01-01"), to: day("2024-12-31"))
        for source in [
            "crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)",
            "signal s = atr(14) > 0.02 * close and willr(14) > -80\ncolumn w = willr(14)",
            "close > open and hl2 > close[1]",
        ] {
            let plan = try FormulaPlan.compile(source: source, name: "t")
            let scanner = SymbolScanner(plan: plan, timeframe: .daily, dateRange: range, mode: .range)
            #expect(scanner.fields.isStrictSubset(of: .all))
            var matches = 0
            for symbol in symbols {
                var all = scanner.query(for: symbol)
                all.fields = .all
                let partial = scanner.scan(symbol: symbol, bars: store)
                let whole = scanner.scan(try store.loadBars(all), as: symbol)
                #expect(partial == whole, "\(symbol): \(source)")
                #expect(partial.error == nil)
                matches += partial.matches.count
            }
            #expect(matches > 0, "\(source) matches somewhere")
        }
        // A series lacking a column the formula reads is reported, not evaluated.
        let plan = try FormulaPlan.compile(source: "volume > 0", name: "t")
        let scanner = SymbolScanner(plan: plan, timeframe: .daily, dateRange: range, mode: .range)
        var q = scanner.query(for: symbols[0])
        q.fields = [.close]
        let lacking = scanner.scan(try store.loadBars(q), as: symbols[0])
        #expect(lacking.error?.contains("volume") == true)
        #expect(lacking.matches.isEmpty)
    }

    @Test(
        "an event study loads high and low, and open only for a next-open entry; its figures equal a study of whole series",
        arguments: [StudyEntry.close, .nextOpen]
    )
    func studyLoadsItsColumns(entry: StudyEntry) throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SampleData.load(into: store)
        let symbols = try store.allSymbols().map(\.symbol)
        let range = DateRange(from: day("2019-01-01"), to: day("2024-12-31"))
        let plan = try FormulaPlan.compile(source: "crossover(sma(close,5), sma(close,20))", name: "t")
        let study = try StudySpec(horizons: [1, 5, 20], entry: entry)
        let scanner = SymbolScanner(plan: plan, timeframe: .daily, dateRange: range, mode: .range, study: study)
        let expected: PriceFields = entry == .close ? [.high, .low, .close] : [.open, .high, .low, .close]
        #expect(scanner.fields == expected)
        var events = 0
        for symbol in symbols.prefix(12) {
            let partial = scanner.scan(symbol: symbol, bars: store)
            var all = scanner.query(for: symbol)
            all.fields = .all
            let whole = scanner.scan(try store.loadBars(all), as: symbol)
            #expect(partial == whole, "\(symbol) \(entry)")
            #expect(partial.error == nil)
            let baseline = try #require(partial.baseline)
            #expect(baseline.maxFavorable.count > 500, "\(symbol): every bar of the range is a baseline entry")
            events += partial.matches.filter { $0.forward?.maxFavorable.isFinite == true }.count
        }
        #expect(events > 0)
    }
}
