import FormulaEngine
import Testing

/// Bars whose columns are given explicitly; unspecified columns repeat `close`.
func bars(
    open: [Double]? = nil,
    high: [Double]? = nil,
    low: [Double]? = nil,
    close: [Double],
    volume: [Double]? = nil
) -> PriceColumns {
    PriceColumns(
        open: open ?? close,
        high: high ?? close,
        low: low ?? close,
        close: close,
        volume: volume ?? [Double](repeating: 1000, count: close.count)
    )
}

/// Evaluates `source` over `columns`, reporting every bar unless `range` says otherwise.
func evaluate(
    _ source: String,
    _ columns: PriceColumns,
    range: Range<Int>? = nil,
    parameters: [String: FormulaValue] = [:]
) throws -> FormulaOutput {
    let plan = try FormulaPlan.compile(source: source, name: "f", parameters: parameters)
    return FormulaEvaluator(plan: plan).evaluate(columns, reportingIn: range ?? 0..<columns.count)
}

/// Values equal, NaN equal to NaN.
func sameValues(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
}

@Suite struct FormulaEvaluatorTests {
    let closes: [Double] = [10, 11, 12, 11, 10, 12, 13, 13, 12, 14]

    @Test func comparisonFiresWhereTrue() throws {
        let out = try evaluate("close > 11", bars(close: closes))
        #expect(out.signals.count == 1)
        #expect(out.signals[0].indices == [2, 5, 6, 7, 8, 9])
        #expect(out.signals[0].columns.isEmpty)
    }

    @Test func arithmeticColumnsAtHits() throws {
        let source = """
            signal all = true
            column change_pct = (close - open) / open * 100
            column mid = hl2
            column typical = hlc3
            column average = ohlc4
            column ratio = close / (close - open)
            """
        let b = bars(open: [10, 20, 5], high: [12, 22, 6], low: [9, 18, 4], close: [11, 20, 6])
        let out = try evaluate(source, b)
        #expect(out.signals[0].indices == [0, 1, 2])
        let c = out.signals[0].columns
        #expect(c[0] == [10, 0, 20])
        #expect(c[1] == [10.5, 20, 5])
        let typical: [Double] = [32.0 / 3, 20, 16.0 / 3]
        let average: [Double] = [42.0 / 4, 20, 21.0 / 4]
        #expect(c[2] == typical)
        #expect(c[3] == average)
        // Division by zero is undefined.
        #expect(sameValues(c[4], [11, .nan, 6]))
    }

    @Test func undefinedComparesFalse() throws {
        let b = bars(close: [1, .nan, 3, .nan, 5])
        #expect(try evaluate("close > 0", b).signals[0].indices == [0, 2, 4])
        #expect(try evaluate("close != 3", b).signals[0].indices == [0, 4])
        #expect(try evaluate("close == close", b).signals[0].indices == [0, 2, 4])
        // Booleans are never undefined: `not` of a false comparison is true.
        #expect(try evaluate("not (close > 0)", b).signals[0].indices == [1, 3])
        #expect(try evaluate("close > 2 or close < 2", b).signals[0].indices == [0, 2, 4])
    }

    @Test func historyShiftsAndIsUndefinedBeforeTheStart() throws {
        let out = try evaluate("signal up = close > close[1]\ncolumn back2 = close[2]", bars(close: closes))
        #expect(out.signals[0].indices == [1, 2, 5, 6, 9])
        #expect(sameValues(out.signals[0].columns[0], [.nan, 10, 11, 10, 13]))
        // Offsets add up, and a boolean's history is false before the start.
        let nested = try evaluate("let up = close > close[1]\nsignal s = up[1][1]", bars(close: closes))
        #expect(nested.signals[0].indices == [3, 4, 7, 8])
        let input = try evaluate("input k = 3\nsignal s = close[k] == 11", bars(close: closes))
        #expect(input.signals[0].indices == [4, 6])
    }

    @Test func crossoverAndCrossunder() throws {
        let a: [Double] = [1, 2, 3, 2, 2, 3, 1, .nan, 3, 1]
        let b: [Double] = [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]
        let columns = bars(open: b, close: a)
        #expect(try evaluate("crossover(close, open)", columns).signals[0].indices == [2, 5])
        #expect(try evaluate("crossunder(close, open)", columns).signals[0].indices == [6, 9])
        // A constant operand works and is checked against the previous bar the same way.
        #expect(try evaluate("crossover(close, 2)", columns).signals[0].indices == [2, 5])
        #expect(try evaluate("crossover(2, close)", columns).signals[0].indices == [6, 9])
    }

    @Test func barssince() throws {
        let out = try evaluate("signal all = true\ncolumn n = barssince(close > 12)", bars(close: closes))
        #expect(sameValues(out.signals[0].columns[0], [.nan, .nan, .nan, .nan, .nan, .nan, 0, 0, 1, 0]))
    }

    @Test func risingAndFalling() throws {
        let x: [Double] = [1, 2, 3, 3, 4, 5, 4, .nan, 6, 7, 8]
        #expect(try evaluate("rising(close, 2)", bars(close: x)).signals[0].indices == [2, 4, 5, 10])
        #expect(try evaluate("rising(close, 1)", bars(close: x)).signals[0].indices == [1, 2, 4, 5, 9, 10])
        #expect(try evaluate("falling(close, 1)", bars(close: x)).signals[0].indices == [6])
    }

    @Test func risingMatchesADirectReferenceOnRandomSeries() throws {
        var generator = SplitMix(seed: 42)
        for n in [1, 2, 3, 7, 30] {
            let x = (0..<400).map { _ -> Double in
                let r = generator.next() % 100
                return r < 3 ? .nan : Double(r % 12)
            }
            let expectedUp = (0..<x.count).filter { i in i >= n && (1...n).allSatisfy { x[i] > x[i - $0] } }
            let expectedDown = (0..<x.count).filter { i in i >= n && (1...n).allSatisfy { x[i] < x[i - $0] } }
            #expect(try evaluate("rising(close, \(n))", bars(close: x)).signals[0].indices == expectedUp)
            #expect(try evaluate("falling(close, \(n))", bars(close: x)).signals[0].indices == expectedDown)
        }
    }

    @Test func elementwiseFunctions() throws {
        let source = """
            signal all = true
            column a = abs(close - 3)
            column l = log(close)
            column r = sqrt(close - 1)
            column lo = min(close, open)
            column hi = max(close, 2)
            column pick = iff(close > 2, close, -close)
            """
        let out = try evaluate(source, bars(open: [2, 2, .nan, 2], close: [1, 4, 9, 0]))
        let c = out.signals[0].columns
        #expect(c[0] == [2, 1, 6, 3])
        #expect(c[1][3].isNaN)  // log of 0 is undefined
        #expect(c[1][0] == 0 && c[1][1] > 1.386 && c[1][1] < 1.387 && c[1][2] > 2.197 && c[1][2] < 2.198)
        #expect(sameValues(c[2], [0, 3.0.squareRoot(), 8.0.squareRoot(), .nan]))
        #expect(sameValues(c[3], [1, 2, .nan, 0]))
        #expect(c[4] == [2, 4, 9, 2])
        #expect(c[5] == [-1, 4, 9, 0])
    }

    @Test func booleanIffAndEquality() throws {
        let b = bars(open: [1, 2, 3, 4], close: [2, 2, 2, 2])
        #expect(try evaluate("iff(close > open, true, open > 3)", b).signals[0].indices == [0, 3])
        #expect(try evaluate("(close > open) == (open > 2)", b).signals[0].indices == [1])
        #expect(try evaluate("(close > open) != (open > 2)", b).signals[0].indices == [0, 2, 3])
        #expect(try evaluate("(close > open) == false", b).signals[0].indices == [1, 2, 3])
    }

    @Test func reportingRangeLimitsHitsButNotValues() throws {
        let source = "signal up = close > close[1]\ncolumn prev = close[1]"
        let out = try evaluate(source, bars(close: closes), range: 5..<9)
        #expect(out.signals[0].indices == [5, 6])
        #expect(out.signals[0].columns == [[10, 12]])
        // A range past the end is clamped.
        #expect(try evaluate(source, bars(close: closes), range: 8..<50).signals[0].indices == [9])
        #expect(try evaluate(source, bars(close: closes), range: 20..<30).signals[0].indices == [])
    }

    @Test func severalSignalsAndColumnsInOrder() throws {
        let source = """
            input level = 12
            signal above = close > level
            signal below = close < level
            column distance = close - level
            column twice = 2 * close
            """
        let plan = try FormulaPlan.compile(source: source, name: "f", parameters: ["level": .number(11)])
        #expect(plan.signalNames == ["above", "below"])
        #expect(plan.columnNames == ["distance", "twice"])
        #expect(plan.inputs == ["level": .number(11)])
        let out = FormulaEvaluator(plan: plan).evaluate(bars(close: closes), reportingIn: 0..<closes.count)
        #expect(out.signals[0].indices == [2, 5, 6, 7, 8, 9])
        #expect(out.signals[1].indices == [0, 4])
        #expect(out.signals[0].columns == [[1, 1, 2, 2, 1, 3], [24, 24, 26, 26, 24, 28]])
        #expect(out.signals[1].columns == [[-1, -1], [20, 20]])
    }

    @Test func signalsCanUseEarlierSignalsAndLets() throws {
        let source = """
            let up = close > close[1]
            signal up2 = up and up[1]
            signal again = up2 and not up2[1]
            """
        let out = try evaluate(source, bars(close: [1, 2, 3, 4, 3, 4, 5]))
        #expect(out.signals[0].indices == [2, 3, 6])
        #expect(out.signals[1].indices == [2, 6])
    }

    @Test func evaluatorReusesBuffersAcrossSymbolsOfDifferentLengths() throws {
        let source = "signal s = crossover(close, close[2]) or rising(close, 3)\ncolumn c = close[1] * 2"
        let plan = try FormulaPlan.compile(source: source, name: "f")
        let shared = FormulaEvaluator(plan: plan)
        var generator = SplitMix(seed: 7)
        for length in [50, 500, 3, 0, 1, 200] {
            let x = (0..<length).map { _ in Double(generator.next() % 20) }
            let fresh = FormulaEvaluator(plan: plan).evaluate(bars(close: x), reportingIn: 0..<length)
            let reused = shared.evaluate(bars(close: x), reportingIn: 0..<length)
            #expect(reused == fresh)
            #expect(reused.signals[0].columns.count == 1)
        }
    }

    @Test func emptyAndMismatchedColumns() throws {
        let plan = try FormulaPlan.compile(source: "close > 1\n", name: "f")
        let empty = FormulaEvaluator(plan: plan).evaluate(bars(close: []), reportingIn: 0..<10)
        #expect(empty == FormulaOutput(signals: [SignalHits()]))
        // The common prefix of the columns the formula reads (and close): the others do not count.
        let ragged = PriceColumns(open: [2, 2], high: [2], low: [2, 2, 2], close: [2, 2, 2], volume: [1, 1, 1])
        #expect(FormulaEvaluator(plan: plan).evaluate(ragged, reportingIn: 0..<3).signals[0].indices == [0, 1, 2])
        let readsHigh = try FormulaPlan.compile(source: "close > 1 and high > 1\n", name: "f")
        #expect(FormulaEvaluator(plan: readsHigh).evaluate(ragged, reportingIn: 0..<3).signals[0].indices == [0])
        let readsOpen = try FormulaPlan.compile(source: "open > 1\n", name: "f")
        #expect(FormulaEvaluator(plan: readsOpen).evaluate(ragged, reportingIn: 0..<3).signals[0].indices == [0, 1])
    }

    @Test func bareExpressionIsNamedAfterTheFormula() throws {
        let plan = try FormulaPlan.compile(source: "# golden cross\nclose > open", name: "My scan")
        #expect(plan.signalNames == ["My scan"])
        let mixed = try FormulaPlan.compile(source: "signal a = close > 1\nclose < 1\ncolumn c = close", name: "b")
        #expect(mixed.signalNames == ["a", "b"])
        #expect(mixed.columnNames == ["c"])
    }

    @Test func constantSignalsFireEverywhereOrNowhere() throws {
        #expect(try evaluate("1 < 2", bars(close: [1, 2, 3])).signals[0].indices == [0, 1, 2])
        #expect(try evaluate("signal never = false", bars(close: [1, 2, 3])).signals[0].indices == [])
        let out = try evaluate("input k = 2.5\nsignal s = true\ncolumn c = k * 2", bars(close: [1, 2]))
        #expect(out.signals[0].columns == [[5, 5]])
    }

    @Test func expressionsContinueAfterAnOperatorAndInsideParentheses() throws {
        let source = """
            signal s = close > 10 and
                       close < 13
            signal t = max(close,
                           11) == 11
            """
        let out = try evaluate(source, bars(close: closes))
        #expect(out.signals[0].indices == [1, 2, 3, 5, 8])
        #expect(out.signals[1].indices == [0, 1, 3, 4])
    }

    @Test func indicatorSignalsRunAndReportInRange() throws {
        // The kernels' numbers are checked against TA-Lib elsewhere; here: every function compiles,
        // evaluates over a series and reports only finite hits in order.
        let source = """
            signal s = sma(close, 3) > 0 or ema(close, 3) > 0 or wma(close, 3) > 0 or rma(close, 3) > 0 or
              rsi(close, 3) > 0 or stdev(close, 3) > 0 or highest(close, 3) > 0 or lowest(close, 3) > 0 or
              sum(close, 3) > 0 or roc(close, 3) > -100 or change(close, 3) > -100 or macd(3, 5, 2) > -100 or
              macd_signal(close, 3, 5, 2) > -100 or macd_hist(3, 5, 2) > -100 or bb_upper(5, 2) > 0 or
              bb_middle(close, 5, 2) > 0 or bb_lower(5, 2.5) > -100 or atr(3) > 0 or adx(3) > 0 or
              cci(3) > -1000 or willr(3) > -101 or mfi(3) > -1 or obv() > -1e12 or stoch_k(5, 3, 3) > -1 or
              stoch_d(5, 3, 3) > -1
            column m = macd_hist(close, 3, 5, 2)
            """
        var generator = SplitMix(seed: 3)
        let x = (0..<120).map { _ in 100 + Double(generator.next() % 50) }
        let out = try evaluate(source, bars(high: x.map { $0 + 1 }, low: x.map { $0 - 1 }, close: x), range: 10..<100)
        #expect(out.signals[0].indices.allSatisfy { (10..<100).contains($0) })
        #expect(out.signals[0].indices == out.signals[0].indices.sorted())
        #expect(out.signals[0].columns[0].count == out.signals[0].indices.count)
    }
}

/// A small deterministic generator for test series.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
