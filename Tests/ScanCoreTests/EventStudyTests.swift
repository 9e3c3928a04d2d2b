import FormulaEngine
import Foundation
import MarketData
import ScanCore
import Testing

/// The event study against an independent pandas computation on the shared real data
/// (`scripts/gen_study_fixture.py` → `Fixtures/event_study.json`), and the condition funnel against
/// scanning each clause on its own.
@Suite("Event study and funnel", .timeLimit(.minutes(2)))
struct EventStudyTests {
    struct Fixture: Decodable {
        var symbols: [String]
        var from: String
        var to: String
        var formula: String
        var horizons: [Int]
        var entries: [String: Entry]

        struct Entry: Decodable {
            var events: [Event]
            var signals: [String: Study]
            var baseline: Study
        }
        struct Event: Decodable {
            var signal: String
            var symbol: String
            var date: String
            var returns: [Double?]
            var max_favorable: Double?
            var max_adverse: Double?
        }
        struct Study: Decodable {
            var horizons: [Stats]
            var max_favorable: Stats
            var max_adverse: Stats
        }
        struct Stats: Decodable {
            var events: Int
            var incomplete: Int
            var mean: Double?
            var median: Double?
            var std: Double?
            var hit_rate: Double?
            var ci95_low: Double?
            var ci95_high: Double?
        }
    }

    static func fixture() throws -> Fixture {
        let url = try #require(
            Bundle.module.url(forResource: "event_study", withExtension: "json", subdirectory: "Fixtures")
        )
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    static func close(_ a: Double?, _ b: Double?, _ what: @autoclosure () -> String) {
        switch (a, b) {
        case (nil, nil): return
        case (let x?, let y?):
            let tolerance = 1e-9 * max(1, abs(y))
            #expect(abs(x - y) <= tolerance, "\(what()): \(x) vs pandas \(y)")
        default:
            #expect(Bool(false), "\(what()): \(String(describing: a)) vs pandas \(String(describing: b))")
        }
    }

    static func compare(_ s: SampleStats, _ p: Fixture.Stats, median: Bool = true, _ what: String) {
        #expect(s.events == p.events, "\(what) events")
        #expect(s.incomplete == p.incomplete, "\(what) incomplete")
        close(s.mean, p.mean, "\(what) mean")
        if median { close(s.median, p.median, "\(what) median") } else { #expect(s.median == nil) }
        close(s.std, p.std, "\(what) std")
        close(s.hitRate, p.hit_rate, "\(what) hit rate")
        close(s.ciLow, p.ci95_low, "\(what) ci low")
        close(s.ciHigh, p.ci95_high, "\(what) ci high")
    }

    @Test(arguments: ["close", "next-open"])
    func matchesPandasOnTheSharedData(entry: String) async throws {
        let fx = try Self.fixture()
        let store = try SharedDataStore.store()
        let spec = try StudySpec(horizons: fx.horizons, entry: try #require(StudyEntry(rawValue: entry)))
        let req = BatchScanRequest(
            symbolCriteria: SymbolCriteria(symbols: fx.symbols),
            dateRange: DateRange(from: try #require(CalendarDay(fx.from)), to: try #require(CalendarDay(fx.to))),
            formula: Formula(name: "fx", source: fx.formula),
            study: spec
        )
        // Small chunks over two threads: the merge must not depend on who scanned what.
        let result = try await realScan(store, threads: 2, chunkSize: 5).execute(req)
        let expected = try #require(fx.entries[entry])
        let got = result.signals.matches
        #expect(got.count == expected.events.count)
        for (m, e) in zip(got, expected.events) {
            #expect("\(m.symbol) \(m.timestamp) \(m.signal)" == "\(e.symbol) \(e.date) \(e.signal)")
            let f = try #require(m.forward)
            for k in fx.horizons.indices {
                Self.close(f.returns[k].isNaN ? nil : f.returns[k], e.returns[k], "\(e.symbol) \(e.date) h\(k)")
            }
            Self.close(f.maxFavorable.isNaN ? nil : f.maxFavorable, e.max_favorable, "\(e.symbol) \(e.date) mfe")
            Self.close(f.maxAdverse.isNaN ? nil : f.maxAdverse, e.max_adverse, "\(e.symbol) \(e.date) mae")
        }
        let study = try #require(result.study)
        #expect(study.horizons == fx.horizons)
        #expect(study.signals.map(\.signal) == ["up", "down"])
        for s in study.signals {
            let p = try #require(expected.signals[s.signal])
            for (h, ph) in zip(s.horizons, p.horizons) { Self.compare(h.events, ph, "\(s.signal) h\(h.horizon)") }
            Self.compare(s.maxFavorable, p.max_favorable, "\(s.signal) mfe")
            Self.compare(s.maxAdverse, p.max_adverse, "\(s.signal) mae")
        }
        for (b, pb) in zip(study.baseline.horizons, expected.baseline.horizons) {
            Self.compare(b.returns, pb, median: false, "baseline h\(b.horizon)")
        }
        Self.compare(study.baseline.maxFavorable, expected.baseline.max_favorable, median: false, "baseline mfe")
        Self.compare(study.baseline.maxAdverse, expected.baseline.max_adverse, median: false, "baseline mae")
        let up = try #require(study.signals.first)
        let excess = try #require(up.horizons[0].excessMean)
        Self.close(excess, (up.horizons[0].events.mean ?? 0) - (study.baseline.horizons[0].returns.mean ?? 0), "excess")
    }

    /// The baseline every bar: bit for bit the sums of adding each bar's own ``EventStudy/outcome(_:at:_:)``
    /// in the documented order (bar `lo + t` to lane `t % 8` in bar order, the lanes merged in lane order),
    /// on the sample's real bars and on a short series with holes (NaN prices, a zero close), for both
    /// entries, horizons shorter and longer than the series, and ranges cut at both ends.
    @Test func baselineEqualsEveryBarsOutcomeAddedInOrder() throws {
        let store = try SampleStore.store()
        let all = DateRange(from: try #require(CalendarDay("2000-01-01")), to: try #require(CalendarDay("2030-12-31")))
        var series: [PriceColumns] = try SampleUniverse.all.prefix(8).map {
            try store.loadBars(BarQuery(symbol: $0, timeframe: .daily, range: all, lookbackBars: 0)).columns
        }
        let holes: [Double] = [10, 11, .nan, 12, 0, 13, 12.5, .nan, .nan, 14, 13, 15, 16, 15.5, 17, .nan, 18, 19]
        series.append(
            PriceColumns(
                open: holes.map { $0 * 0.99 },
                high: holes.map { $0.isNaN ? .nan : $0 + 1 },
                low: holes.reversed().map { $0 - 1 },
                close: holes,
                volume: holes.map { _ in 1 }
            )
        )
        func reference(_ c: PriceColumns, _ bars: Range<Int>, _ spec: StudySpec) -> BaselineSums {
            let lanes = EventStudy.baselineLanes
            #expect(lanes == 8)
            var lane = Array(repeating: BaselineSums(horizons: spec.horizons.count), count: lanes)
            for (t, i) in bars.clamped(to: 0..<c.count).enumerated() {
                let o = EventStudy.outcome(c, at: i, spec)
                for k in o.returns.indices { lane[t % lanes].returns[k].add(o.returns[k]) }
                lane[t % lanes].maxFavorable.add(o.maxFavorable)
                lane[t % lanes].maxAdverse.add(o.maxAdverse)
            }
            var sums = BaselineSums(horizons: spec.horizons.count)
            for l in lane { sums.merge(l) }
            return sums
        }
        var compared = 0
        for c in series {
            #expect(c.count > 10)
            for entry in StudyEntry.allCases {
                // Horizons around the series' end, as far as the horizon limit lets them reach.
                let end =
                    c.count + 5 <= StudySpec.maxHorizon
                    ? [c.count - 2, c.count + 5] : [StudySpec.maxHorizon - 1, StudySpec.maxHorizon]
                for horizons in [[1, 5, 10, 20], [3], [2, 7, 40], Array(1...16), end] {
                    let spec = try StudySpec(horizons: horizons, entry: entry)
                    for bars in [0..<c.count, 4..<(c.count - 3), (c.count - 6)..<(c.count + 9), 5..<5] {
                        let got = EventStudy.baseline(c, bars: bars, spec)
                        #expect(got == reference(c, bars, spec), "\(entry) \(horizons) \(bars) of \(c.count)")
                        compared += 1
                    }
                }
            }
        }
        #expect(compared == series.count * 2 * 5 * 4)
    }

    /// A match's window extremes (eight bars per vector step) against folding `Swift.max` / `Swift.min`
    /// over the bars in order, on random prices with NaN, infinities and signed zeros, every window
    /// length from 1 to 40 at every start.
    @Test func windowExtremesAreTheFoldedMaxAndMin() {
        var state: UInt64 = 5
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        func price() -> Double {
            switch next() % 20 {
            case 0: .nan
            case 1: 0.0
            case 2: -0.0
            case 3: .infinity
            case 4: -.infinity
            default: Double(next() % 1_000) / 8
            }
        }
        let n = 90
        let c = PriceColumns(
            open: [],
            high: (0..<n).map { _ in price() },
            low: (0..<n).map { _ in price() },
            close: [Double](repeating: 1, count: n),
            volume: []
        )
        var compared = 0
        for length in 1...40 {
            for start in 0...(n - length) {
                let window = start...(start + length - 1)
                var hi = -Double.infinity
                var lo = Double.infinity
                for i in window {
                    hi = Swift.max(hi, c.high[i])
                    lo = Swift.min(lo, c.low[i])
                }
                let got = EventStudy.windowExtremes(c, window)
                #expect(got.high == hi && got.low == lo, "\(window): \(got) against \(hi), \(lo)")
                compared += 1
            }
        }
        #expect(compared == (1...40).reduce(0) { $0 + n - $1 + 1 })
    }

    /// A node's remembered baselines: the same sums as computing them, reused only for the same bars,
    /// horizons and entry, and dropped when the store's version changes.
    @Test func rememberedBaselinesEqualComputedOnesAndAreKeyedByTheirBars() throws {
        let store = try SampleStore.store()
        let range = DateRange(
            from: try #require(CalendarDay("2021-07-01")),
            to: try #require(CalendarDay("2022-08-31"))
        )
        let plan = try FormulaPlan.compile(source: "close > sma(close, 20)", name: "up")
        let memo = BaselineMemo()
        memo.validate(version: 1)
        func scan(_ symbols: [String], _ range: DateRange, _ spec: StudySpec, memo: BaselineMemo?) -> [SymbolResult] {
            let setup = ScanSetup(
                plan: plan,
                timeframe: .daily,
                dateRange: range,
                mode: .range,
                study: spec,
                baselines: memo
            )
            let scanner = SymbolScanner(setup: setup)
            return symbols.map { scanner.scan(symbol: $0, bars: store) }
        }
        let symbols = Array(SampleUniverse.all.prefix(6))
        let spec = try StudySpec(horizons: [1, 5, 20])
        let computed = scan(symbols, range, spec, memo: nil)
        #expect(computed.allSatisfy { $0.baseline != nil && $0.error == nil })
        #expect(scan(symbols, range, spec, memo: memo).map(\.baseline) == computed.map(\.baseline))
        #expect(memo.count == symbols.count)
        // Another formula over the same bars and study: the same entries serve it.
        #expect(scan(symbols, range, spec, memo: memo).map(\.baseline) == computed.map(\.baseline))
        #expect(memo.count == symbols.count)
        // Other dates, other horizons, another entry: entries of their own, equal to computing them.
        let earlier = DateRange(
            from: try #require(CalendarDay("2021-01-04")),
            to: try #require(CalendarDay("2021-06-30"))
        )
        let next = try StudySpec(horizons: [1, 5, 20], entry: .nextOpen)
        for (r, sp) in [(earlier, spec), (range, try StudySpec(horizons: [2, 10])), (range, next)] {
            #expect(scan(symbols, r, sp, memo: memo).map(\.baseline) == scan(symbols, r, sp, memo: nil).map(\.baseline))
        }
        #expect(memo.count == 4 * symbols.count)
        memo.validate(version: 1)
        #expect(memo.count == 4 * symbols.count)
        memo.validate(version: 2)
        #expect(memo.count == 0)
    }

    /// The median found by selection is the sorted middle, on ties, runs and both parities.
    @Test func medianBySelectionEqualsTheSortedMiddle() {
        var g = SystemRandomNumberGenerator()
        for n in [1, 2, 3, 4, 5, 10, 11, 100, 1001, 4096] {
            for pool in [3, 50, 1_000_000] {
                let xs = (0..<n).map { _ in Double(Int.random(in: 0..<pool, using: &g)) / 7 - 2 }
                let s = xs.sorted()
                let m = n / 2
                let expected = n % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
                #expect(SampleStats.median(xs) == expected, "\(n) values from \(pool)")
                #expect(SampleStats.median(s) == expected && SampleStats.median(s.reversed()) == expected)
            }
        }
        #expect(SampleStats.median([]) == nil)
    }

    @Test func latestModeSaysEveryEventIsIncompleteAndFewEventsWarn() async throws {
        let store = try SampleStore.store()
        var req = request(SymbolCriteria(symbols: ["005930", "000660"]), mode: .latest, source: "close > 0")
        req.study = try StudySpec(horizons: [1, 5])
        let result = try await realScan(store).execute(req)
        let study = try #require(result.study)
        #expect(result.signals.totalMatches == 2)
        #expect(study.signals[0].horizons.allSatisfy { $0.events.events == 0 && $0.events.incomplete == 2 })
        #expect(study.warnings.contains { $0.contains("latest mode") })
        #expect(study.signals[0].warning?.contains("fewer than 30") == true)
    }

    @Test func badHorizonsAreRefusedWithAClearMessage() throws {
        #expect(throws: StudySpecError.notPositive("0")) { try StudySpec(parsing: "1,0,5") }
        #expect(throws: StudySpecError.notPositive("x")) { try StudySpec(parsing: "1,x") }
        #expect(throws: StudySpecError.notPositive("2.5")) { try StudySpec(parsing: "2.5") }
        #expect(throws: StudySpecError.tooMany(17)) { try StudySpec(horizons: Array(1...17)) }
        #expect(throws: StudySpecError.repeated(5)) { try StudySpec(horizons: [5, 1, 5]) }
        #expect(try StudySpec(parsing: " 20, 1,5 ").horizons == [1, 5, 20])
        #expect(StudySpecError.tooMany(17).description.contains("at most 16"))
    }

    /// Each clause's counts equal a scan of that clause alone; survivors equal a scan of the clauses so far.
    @Test func funnelEqualsScanningEachClause() async throws {
        let store = try SampleStore.store()
        let universe = SymbolCriteria(symbols: Array(SampleUniverse.all.prefix(20)))
        let source = "close > open and volume > 1.5 * sma(volume, 20) and rsi(close, 14) < 70"
        var req = request(universe, source: source, name: "f")
        req.explain = true
        let result = try await realScan(store, threads: 2, chunkSize: 3).execute(req)
        let funnel = try #require(result.funnel)
        let signal = try #require(funnel.signals.first)
        #expect(signal.conjunction)
        #expect(
            signal.clauses.map(\.clause) == ["close > open", "volume > 1.5 * sma(volume, 20)", "rsi(close, 14) < 70"]
        )
        for (k, clause) in signal.clauses.enumerated() {
            let alone = try await realScan(store).execute(request(universe, source: clause.clause, name: "c"))
            #expect(clause.bars == alone.signals.totalMatches, "clause \(k) bars")
            #expect(clause.symbols == alone.signals.symbolsWithMatches, "clause \(k) symbols")
            let prefix = signal.clauses[0...k].map { "(\($0.clause))" }.joined(separator: " and ")
            let together = try await realScan(store).execute(request(universe, source: prefix, name: "c"))
            #expect(clause.survivingBars == together.signals.totalMatches, "clauses 0…\(k) bars")
            #expect(clause.survivingSymbols == together.signals.symbolsWithMatches, "clauses 0…\(k) symbols")
        }
        #expect(signal.clauses.last?.survivingBars == result.signals.totalMatches)
        #expect(funnel.nearMisses.isEmpty)
    }

    @Test func latestModeNearMissesNameTheFailedClauseAndItsValues() async throws {
        let store = try SampleStore.store()
        let universe = SymbolCriteria(symbols: SampleUniverse.all)
        var req = request(universe, mode: .latest, source: "signal s = close > 0 and close > sma(close, 20)", name: "f")
        req.explain = true
        let result = try await realScan(store).execute(req)
        let funnel = try #require(result.funnel)
        let misses = funnel.nearMisses
        // Every symbol fails at most `close > sma(close, 20)` (close > 0 always holds): exactly the non-matches.
        #expect(misses.count == result.signals.totalSymbols - result.signals.totalMatches)
        #expect(misses.count > 0)
        for m in misses {
            #expect(m.clause == "close > sma(close, 20)" && m.clauseIndex == 1 && m.signal == "s")
            let (l, r) = (try #require(m.left), try #require(m.right))
            #expect(l <= r, "\(m.symbol): close \(l) vs sma \(r)")
        }
    }

    @Test func notAConjunctionIsOneClauseWithANote() async throws {
        let store = try SampleStore.store()
        var req = request(SymbolCriteria(symbols: ["005930"]), source: "close > open or volume > 0", name: "f")
        req.explain = true
        let result = try await realScan(store).execute(req)
        let signal = try #require(result.funnel?.signals.first)
        #expect(!signal.conjunction)
        #expect(signal.note?.contains("not a conjunction") == true)
        #expect(signal.clauses.map(\.clause) == ["close > open or volume > 0"])
        #expect(signal.clauses[0].bars == result.signals.totalMatches)
    }
}
