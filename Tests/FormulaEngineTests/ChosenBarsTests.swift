import Testing

@testable import FormulaEngine

/// Indicators computed at chosen bars only (`Indicator.run(_:into:at:)`) and conjunctions evaluated clause by
/// clause (`Needs`): the values at the chosen bars, and every signal and column, are bit for bit those of the
/// whole kernels over every bar — on synthetic edge cases (short series, flat prices, NaN gaps, empty and full
/// lists, warm-up bars) and on the real daily bars of `../shared/data`.
@Suite struct ChosenBarsTests {
    static let indicators: [Indicator] = [
        .sma(20), .sma(1), .sma(2), .wma(10), .wma(1), .bbands(period: 20, k: 2.0.bitPattern),
        .bbands(period: 1, k: 2.0.bitPattern), .bbands(period: 5, k: 1.0.bitPattern), .cci(20), .cci(1), .cci(3),
        .cci(8), .cci(9), .willr(14), .willr(1), .mfi(14), .mfi(1), .stoch(k: 14, slowK: 3, slowD: 3),
        .stoch(k: 1, slowK: 1, slowD: 1), .stoch(k: 5, slowK: 3, slowD: 2),
    ]

    /// Lists of chosen bars for a series of `n` bars: none, all, sparse, dense, the ends, runs.
    static func lists(_ n: Int, seed: UInt64) -> [[Int]] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let all = Array(0..<n)
        return [
            [], all, all.filter { $0 % 3 == 0 }, all.filter { _ in next() % 10 == 0 },
            all.filter { _ in next() % 4 != 0 },
            n > 0 ? [0] : [], n > 0 ? [n - 1] : [], all.filter { ($0 / 7) % 3 == 1 }, all.filter { $0 < 40 },
        ]
    }

    /// The indicator's outputs over `c` with the whole kernel, and at `chosen` only (`[output][bar]`).
    static func both(_ indicator: Indicator, _ c: PriceColumns, _ chosen: [Int]) -> ([[Double]], [[Double]]) {
        let full = LaneEvaluationTests.scalar(indicator, c)
        let n = c.count
        let inputs = indicator.inputs.map { input in
            let b = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
            _ = b.initialize(from: LaneEvaluationTests.column(input, c))
            return b
        }
        // Outputs start as garbage that is not NaN, so a value the kernel forgot to write shows.
        let outputs = (0..<indicator.outputCount).map { _ in
            let b = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
            b.initialize(repeating: 12_345.678)
            return b
        }
        defer { for b in inputs + outputs { b.deallocate() } }
        let list = chosen.map { Int32($0) }
        list.withUnsafeBufferPointer { bars in
            indicator.run(inputs.map { UnsafeBufferPointer($0) }, into: outputs, at: bars)
        }
        return (full, outputs.map(Array.init))
    }

    static func expectEqualAtChosen(_ indicator: Indicator, _ c: PriceColumns, _ what: String) {
        for (k, chosen) in lists(c.count, seed: UInt64(c.count)).enumerated() {
            let (full, picked) = both(indicator, c, chosen)
            // Stoch's %D is not computed at chosen bars.
            var outputs = full.count
            if case .stoch = indicator { outputs = 1 }
            for o in 0..<outputs {
                let mismatches = chosen.filter { full[o][$0].bitPattern != picked[o][$0].bitPattern }
                #expect(
                    mismatches.isEmpty,
                    "\(indicator) output \(o), \(what), list \(k): bars \(mismatches.prefix(5)) of \(chosen.count)"
                )
            }
        }
    }

    @Test func indicatorsAtChosenBarsEqualTheWholeKernels() {
        var cases: [(String, PriceColumns)] = [2_500, 61, 25, 21, 20, 19, 8, 3, 1, 0].map {
            ("synthetic \($0)", LaneEvaluationTests.series($0, seed: UInt64(7 + $0)))
        }
        cases.append(("flat", LaneEvaluationTests.series(300, seed: 5, flat: true)))
        var gap = LaneEvaluationTests.series(400, seed: 9)
        gap.close[150] = .nan
        gap.high[151] = .nan
        gap.volume[300] = .nan
        cases.append(("NaN gaps", gap))
        var zeroVolume = LaneEvaluationTests.series(300, seed: 11)
        for i in 100..<150 { zeroVolume.volume[i] = 0 }
        cases.append(("zero volume", zeroVolume))
        // Prices of +0 and -0 (equal, different bits): window extremes must pick the same one.
        var zeros = LaneEvaluationTests.series(200, seed: 13)
        for i in 60..<120 {
            zeros.high[i] = i % 3 == 0 ? -0.0 : 0.0
            zeros.low[i] = -Double(i % 4) * 0.5
            zeros.close[i] = i % 5 == 0 ? -0.0 : 0.0
        }
        cases.append(("signed zeros", zeros))
        for indicator in Self.indicators {
            for (what, c) in cases { Self.expectEqualAtChosen(indicator, c, what) }
        }
    }

    @Test func indicatorsAtChosenBarsOnTheSharedDailyData() throws {
        let all = try LaneEvaluationTests.sharedDaily()
        for c in all.prefix(12) {
            for indicator in [
                Indicator.sma(20), .wma(10), .bbands(period: 20, k: 2.0.bitPattern), .cci(20), .willr(14),
            ]
                + [.mfi(14), .stoch(k: 14, slowK: 3, slowD: 3)]
            {
                Self.expectEqualAtChosen(indicator, c, "shared daily")
            }
        }
    }

    static let twelve = """
        signal s = sma(close, 20) > ema(close, 50) and rsi(close, 14) < 70 and macd_hist(12, 26, 9) > 0 and
          close > bb_lower(20, 2) and atr(14) > 0.5 and adx(14) > 20 and cci(20) > -100 and
          willr(14) > -80 and mfi(14) < 80 and stoch_k(14, 3, 3) > 20 and obv() > obv()[5] and
          wma(close, 10) > close[1]
        column rsi14 = rsi(close, 14)
        """

    /// Formulas whose conjunctions put chosen-bars indicators behind other clauses, in several orders and
    /// shapes: nested `and`/`or`/`not`, `x[n]` of a chosen-bars value, columns of them, shared sub-conditions,
    /// masks that are empty or every bar.
    static let formulas: [String] = [
        twelve,
        """
        signal s = wma(close, 10) > close[1] and obv() > obv()[5] and stoch_k(14, 3, 3) > 20 and mfi(14) < 80 and
          willr(14) > -80 and cci(20) > -100 and adx(14) > 20 and atr(14) > 0.5 and close > bb_lower(20, 2) and
          macd_hist(12, 26, 9) > 0 and rsi(close, 14) < 70 and sma(close, 20) > ema(close, 50)
        column c = cci(20)
        column b = bb_middle(20, 2)
        """,
        "crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)",
        """
        signal s = close > open and cci(20)[3] > -100 and sma(close, 20)[1] < close and mfi(14)[2] < 70
        column c = cci(20)[2]
        column m = mfi(14)
        column k = stoch_k(14, 3, 3)
        column w = willr(14)[1]
        """,
        "cci(20) > 0 and (willr(14) > -50 or not (mfi(14) < 30)) and close > bb_lower(20, 2)",
        "(close > open and cci(20) > 0) or (close < open and willr(14) < -50)",
        "not (close > open and cci(20) > 0) and mfi(14) > 40",
        "stoch_k(14, 3, 3) > 20 and close > open and stoch_d(14, 3, 3) < 80",
        """
        signal s = close < 0 and cci(20) > 0
        signal t = close > 0 and cci(20) > -100000 and willr(14) > -101
        column c = cci(20)
        """,
        """
        let a = close > open and cci(20) > 0
        signal s1 = a and mfi(14) < 50
        signal s2 = a or willr(14) > -20
        signal s3 = close[1] > close and a[2] and bb_upper(20, 2) > close
        column u = bb_upper(20, 2)
        """,
        """
        signal s = volume > sma(volume, 20) and (close > sma(close, 10) and (high - low) > 0.01 * close and
          cci(14) > 0) and willr(14) > -90 and close > wma(close, 5)[2]
        column x = sma(volume, 20)
        """,
        // SMAs of price columns in one pass, some divided only at chosen bars (one of them also a column).
        """
        signal s = crossover(sma(close, 10), sma(high, 50)) and volume > sma(volume, 20) and close > sma(low, 3)[2]
        column v = sma(volume, 20)
        column h = sma(high, 7)
        """,
    ]

    /// Every signal's hits and every column with the chosen-bars kernels always (density limit 1) against
    /// the whole kernels always (limit -1), one series at a time and in groups of four.
    static func expectChosenEqualsWhole(_ all: [PriceColumns], _ what: String) throws {
        for source in formulas {
            let plan = try FormulaPlan.compile(source: source, name: "chosen")
            let chosen = FormulaEvaluator(plan: plan)
            chosen.chosenDensityLimit = 1
            let whole = FormulaEvaluator(plan: plan)
            whole.chosenDensityLimit = -1
            let ranges = all.enumerated().map { i, c in (i % 2 == 0 ? 0 : c.count / 3)..<c.count }
            let grouped = chosen.evaluate(all, reportingIn: ranges)
            for (i, c) in all.enumerated() {
                let expected = whole.evaluate(c, reportingIn: ranges[i])
                for (got, e) in zip([chosen.evaluate(c, reportingIn: ranges[i]), grouped[i]], [expected, expected]) {
                    for (g, x) in zip(got.signals, e.signals) {
                        #expect(g.indices == x.indices, "\(what) \(i): \(source)")
                        #expect(
                            g.columns.map { $0.map(\.bitPattern) } == x.columns.map { $0.map(\.bitPattern) },
                            "\(what) \(i): \(source)"
                        )
                    }
                }
            }
        }
    }

    @Test func conjunctionsEvaluatedClauseByClauseEqualTheWholeEvaluation() throws {
        var all = [2_500, 400, 61, 25, 3, 1, 0, 300].enumerated().map { i, n in
            LaneEvaluationTests.series(n, seed: UInt64(40 + i), flat: i == 7)
        }
        all[1].close[200] = .nan
        all[1].high[20] = .nan
        try Self.expectChosenEqualsWhole(all, "synthetic")
    }

    @Test func conjunctionsOnTheSharedDailyData() throws {
        try Self.expectChosenEqualsWhole(Array(try LaneEvaluationTests.sharedDaily().prefix(24)), "shared daily")
    }

    @Test func theHeavyFormulaRunsItsWindowIndicatorsAtChosenBars() throws {
        let plan = try FormulaPlan.compile(source: Self.twelve, name: "twelve")
        let chosen = plan.program.operations.compactMap { op -> Indicator? in
            if case .chosenIndicator(let indicator, _, _, _) = op { indicator } else { nil }
        }
        // Every kernel that can and saves work (bbands, cci, willr, mfi, stoch; not sma and wma, whose additions
        // take longer than their divisions) behind the clauses that run at every bar.
        #expect(
            Set(chosen) == [
                .bbands(period: 20, k: 2.0.bitPattern), .cci(20), .willr(14), .mfi(14),
                .stoch(k: 14, slowK: 3, slowD: 3),
            ]
        )
        // Each list of chosen bars is tested within an earlier one when its terms include that one's.
        var lists = 0
        for case .choose(let terms, let list, let within) in plan.program.operations {
            #expect(list == lists)
            #expect(within.map { $0 < list } ?? true, "an earlier list")
            #expect(!terms.isEmpty || within != nil)
            lists += 1
        }
        #expect(lists == chosen.count)
        // F1's three SMAs run in one pass (FusedSMATests), its volume clause's divided only where the crossover holds.
        let f1 = try FormulaPlan.compile(source: Self.formulas[2], name: "f1")
        #expect(f1.program.operations.count { if case .choose = $0 { true } else { false } } == 1)
        #expect(f1.operationCount == 7)
    }

    @Test func explainedClausesAreEvaluatedAtEveryBar() throws {
        let explained = try ExplainedPlan.compile(source: Self.twelve, name: "twelve", operands: false)
        let c = LaneEvaluationTests.series(1_500, seed: 3)
        let evaluator = FormulaEvaluator(plan: explained.plan)
        evaluator.chosenDensityLimit = 1
        let output = evaluator.evaluate(c, reportingIn: 0..<c.count)
        for (k, clause) in explained.clauses[0].enumerated() {
            let alone = try FormulaPlan.compile(source: clause, name: "clause")
            let expected = FormulaEvaluator(plan: alone).evaluate(c, reportingIn: 0..<c.count)
            #expect(output.signals[explained.clauseSignals[0][k]].indices == expected.signals[0].indices, "\(clause)")
        }
    }
}
