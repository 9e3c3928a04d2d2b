import FormulaEngine
import Foundation
import MarketData
import ScanCore
import Testing

/// "Results of the in-process engine equal a straightforward per-symbol evaluation" (issue 6), on all
/// 90 symbols of `../shared/data/daily/bars.csv` imported into a real store: the engine's matches
/// against a reference written here with plain loops, compared exactly (prices and volumes are
/// integers, so every window sum is exact and each SMA is the same correctly rounded quotient).
@Suite("In-process engine vs. a per-symbol reference", .timeLimit(.minutes(1)))
struct ReferenceEvaluationTests {
    /// F1 plus a crossunder and a breakout signal, with columns using history.
    static let multiSource = """
        let f = sma(close, 5)
        let s = sma(close, 20)
        let va = sma(volume, 20)
        signal golden = crossover(f, s) and volume > 1.5 * va
        signal dead = crossunder(f, s)
        signal breakout = close > highest(high, 20)[1]
        column slow_ma = s
        column vol_ratio = volume / va
        column change5 = close - close[5]
        """

    static let everything = DateRange(
        from: CalendarDay(year: 2015, month: 1, day: 1)!,
        to: CalendarDay(year: 2022, month: 9, day: 19)!
    )
    static let middle = DateRange(
        from: CalendarDay(year: 2018, month: 3, day: 1)!,
        to: CalendarDay(year: 2019, month: 12, day: 31)!
    )

    struct Key: Hashable, Comparable, CustomStringConvertible {
        var symbol: String
        var date: String
        var signal: String
        static func < (a: Key, b: Key) -> Bool { (a.symbol, a.date, a.signal) < (b.symbol, b.date, b.signal) }
        var description: String { "\(symbol) \(date) \(signal)" }
    }

    /// What a match carries: close and column values.
    struct Row: Equatable {
        var close: Double
        var values: [String: Double]
    }

    // MARK: The reference

    /// Simple moving average by summing each window afresh; `nil` during the warm-up.
    static func sma(_ x: [Double], _ n: Int) -> [Double?] {
        var out = [Double?](repeating: nil, count: x.count)
        guard x.count >= n else { return out }
        for i in (n - 1)..<x.count {
            var sum = 0.0
            for j in (i - n + 1)...i { sum += x[j] }
            out[i] = sum / Double(n)
        }
        return out
    }

    /// Evaluates `multiSource` (or just its `golden` signal, as F1) bar by bar.
    static func reference(_ series: BarSeries, range: DateRange, f1Only: Bool) -> [Key: Row] {
        let close = series.columns.close
        let volume = series.columns.volume
        let high = series.columns.high
        let fast = sma(close, 5)
        let slow = sma(close, 20)
        let va = sma(volume, 20)
        var out: [Key: Row] = [:]
        for i in 0..<series.count where range.contains(series.day(at: i)) {
            let date = series.day(at: i).description
            var fired: [String] = []
            if i >= 1, let f = fast[i], let s = slow[i], let pf = fast[i - 1], let ps = slow[i - 1] {
                if f > s && pf <= ps, let v = va[i], volume[i] > 1.5 * v { fired.append(f1Only ? "f1" : "golden") }
                if !f1Only && f < s && pf >= ps { fired.append("dead") }
            }
            if !f1Only && i >= 20 {
                var highest = -Double.infinity
                for j in (i - 20)..<i { highest = max(highest, high[j]) }
                if close[i] > highest { fired.append("breakout") }
            }
            for signal in fired {
                var values: [String: Double] = [:]
                if !f1Only {
                    values["slow_ma"] = slow[i] ?? .nan
                    values["vol_ratio"] = va[i].map { volume[i] / $0 } ?? .nan
                    values["change5"] = i >= 5 ? close[i] - close[i - 5] : .nan
                }
                out[Key(symbol: series.symbol, date: date, signal: signal)] = Row(close: close[i], values: values)
            }
        }
        return out
    }

    // MARK: The comparison

    func compare(source: String, name: String, range: DateRange, f1Only: Bool) async throws -> Int {
        let store = try SharedDataStore.store()
        let symbols = try store.allSymbols().map(\.symbol)
        try #require(symbols.count == 90)
        let job = ProcessingJob(
            id: "ref",
            symbols: symbols,
            timeframe: .daily,
            dateRange: range,
            formula: Formula(name: name, source: source)
        )
        let results = try await InProcessEngine(bars: store, threads: 2).processBatch(
            job,
            plan: try job.compilePlan(),
            progress: { _ in },
            cancellation: CancellationToken()
        )
        #expect(results.count == 90)
        #expect(results.allSatisfy { $0.error == nil })

        var engine: [Key: Row] = [:]
        for r in results {
            for m in r.matches {
                let key = Key(symbol: m.symbol, date: m.timestamp.description, signal: m.signal)
                #expect(engine[key] == nil, "matched twice: \(key)")
                engine[key] = Row(close: m.close, values: m.values)
            }
        }
        var expected: [Key: Row] = [:]
        var barsInRange: [String: Int] = [:]
        var loaded = 0
        for symbol in symbols {
            let series = try store.loadBars(BarQuery(symbol: symbol, timeframe: .daily, range: range, lookbackBars: 0))
            loaded += series.count
            barsInRange[symbol] = series.indices(in: range).count
            expected.merge(Self.reference(series, range: range, f1Only: f1Only)) { a, _ in a }
        }
        if range.to == Self.everything.to {
            #expect(loaded == 150_504)  // every row of daily/bars.csv
        }
        #expect(Dictionary(uniqueKeysWithValues: results.map { ($0.symbol, $0.barsScanned) }) == barsInRange)

        let missing = Set(expected.keys).subtracting(engine.keys).sorted()
        let extra = Set(engine.keys).subtracting(expected.keys).sorted()
        #expect(missing.isEmpty, "the engine misses \(missing.prefix(10))")
        #expect(extra.isEmpty, "the engine adds \(extra.prefix(10))")
        // Exact equality of closes and columns (NaN compares unequal, so compare bit patterns).
        var differing: [Key] = []
        for (key, want) in expected {
            guard let got = engine[key] else { continue }
            let same =
                got.close == want.close && got.values.keys == want.values.keys
                && want.values.allSatisfy { k, v in got.values[k]?.bitPattern == v.bitPattern }
            if !same { differing.append(key) }
        }
        #expect(differing.isEmpty, "values differ at \(differing.sorted().prefix(10))")
        return engine.count
    }

    @Test func f1OnAllSymbolsOfTheSharedDataEqualsThePlainLoopReference() async throws {
        let count = try await compare(source: f1Source, name: "f1", range: Self.everything, f1Only: true)
        // The pandas + TA-Lib peer (Benchmarks/peers/pandas_talib_scan.py) counts 1,153 on the same file.
        #expect(count == 1153)
    }

    @Test func multiSignalFormulaWithColumnsEqualsThePlainLoopReference() async throws {
        let all = try await compare(source: Self.multiSource, name: "multi", range: Self.everything, f1Only: false)
        #expect(all > 1153)
        // A range starting mid-history: the indicators are warmed up on the bars before it.
        let middle = try await compare(source: Self.multiSource, name: "multi", range: Self.middle, f1Only: false)
        #expect(middle > 0 && middle < all)
    }
}
