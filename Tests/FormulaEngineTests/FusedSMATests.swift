import Testing

@testable import FormulaEngine

/// Several SMAs in one pass (`Indicators.smas`, the plan's `Operation.smas`) write, for each SMA, exactly
/// what `Indicators.sma` (or, for the totals divided later at chosen bars, `Indicators.sum`) writes alone:
/// bit patterns compared on every pass shape (one to six runs, dividing and not, periods longer than the
/// series), with NaN gaps and flat prices, and on the real daily bars of `../shared/data`.
@Suite struct FusedSMATests {
    /// `jobs` (column, period, divide) in one pass over `c`, against each alone.
    static func expectPassEqualsAlone(_ c: PriceColumns, _ jobs: [(Int, Int, Bool)], _ what: String) {
        let columns = [c.close, c.volume, c.high, c.low]
        let n = c.count
        guard n > 0 else { return }
        var expected = jobs.map { _ in [Double](repeating: 7, count: n) }
        for (k, (column, period, divide)) in jobs.enumerated() {
            columns[column].withUnsafeBufferPointer { x in
                expected[k].withUnsafeMutableBufferPointer { out in
                    if divide {
                        Indicators.sma(x, period: period, into: out)
                    } else {
                        Indicators.sum(x, period: period, into: out)
                    }
                }
            }
        }
        let outs = jobs.map { _ in UnsafeMutablePointer<Double>.allocate(capacity: n) }
        defer { for out in outs { out.deallocate() } }
        for out in outs { out.initialize(repeating: 7, count: n) }
        // Every column pinned for the pass.
        func pinned(_ k: Int, _ runs: [SMARun]) {
            guard k < jobs.count else {
                var runs = runs
                runs.withUnsafeMutableBufferPointer { Indicators.smas($0, n) }
                return
            }
            let (column, period, divide) = jobs[k]
            columns[column].withUnsafeBufferPointer { x in
                pinned(k + 1, runs + [SMARun(x: x.baseAddress!, period: period, out: outs[k], divide: divide)])
            }
        }
        pinned(0, [])
        for k in jobs.indices {
            let got = UnsafeBufferPointer(start: outs[k], count: n).map(\.bitPattern)
            #expect(got == expected[k].map(\.bitPattern), "\(what): job \(k) of \(jobs)")
        }
    }

    static let shapes: [[(Int, Int, Bool)]] = [
        [(0, 5, true), (0, 20, true)],
        [(0, 5, true), (0, 20, true), (1, 20, false)],
        [(1, 20, false), (0, 5, true), (0, 20, true)],
        [(0, 3, false), (1, 9, false)],
        [(0, 2, true), (1, 30, false), (2, 14, true), (3, 7, false)],
        [(0, 10, true), (1, 10, true), (2, 10, true), (3, 10, true), (0, 50, false)],
        [(0, 200, true), (1, 4, true), (2, 11, false), (3, 2, false), (0, 13, true), (1, 600, false)],
    ]

    @Test func passesEqualTheSMAsAloneOnSyntheticSeries() {
        for (i, n) in [1, 2, 3, 5, 19, 20, 21, 64, 199, 200, 201, 1_000, 2_500].enumerated() {
            var c = LaneEvaluationTests.series(n, seed: UInt64(90 + i), flat: i % 4 == 1)
            for shape in Self.shapes { Self.expectPassEqualsAlone(c, shape, "n \(n)") }
            // NaN gaps: at the start, inside, in a warm-up, at the end.
            if n > 30 {
                c.close[0] = .nan
                c.volume[n / 2] = .nan
                c.high[17] = .nan
                c.low[n - 1] = .nan
                c.close[n / 3] = .nan
                for shape in Self.shapes { Self.expectPassEqualsAlone(c, shape, "n \(n) with NaN") }
            }
        }
    }

    @Test func passesEqualTheSMAsAloneOnTheSharedDailyData() throws {
        for (i, c) in try LaneEvaluationTests.sharedDaily().prefix(30).enumerated() {
            for shape in Self.shapes { Self.expectPassEqualsAlone(c, shape, "shared daily \(i)") }
        }
    }

    @Test func f1RunsItsSMAsInOnePassAndDividesTheVolumeAverageAtChosenBars() throws {
        let plan = try FormulaPlan.compile(source: ChosenBarsTests.formulas[2], name: "f1")
        let operations = plan.program.operations
        guard case .smas(let jobs) = operations.first else {
            Issue.record("the pass comes first: \(operations)")
            return
        }
        #expect(jobs.map(\.period) == [5, 20, 20])
        #expect(jobs.map(\.divide) == [true, true, false])
        #expect(operations.count { if case .smaAtChosen(20, _, _) = $0 { true } else { false } } == 1)
        #expect(operations.count { if case .indicator = $0 { true } else { false } } == 0)
        // `1.5 * sma(volume, 20)` and `volume > …` at the same bars.
        #expect(operations.count { if case .atChosen = $0 { true } else { false } } == 2)
        // One SMA alone keeps its own kernel.
        let alone = try FormulaPlan.compile(source: "sma(close, 20) > open", name: "one")
        #expect(!alone.program.operations.contains { if case .smas = $0 { true } else { false } })
    }
}
