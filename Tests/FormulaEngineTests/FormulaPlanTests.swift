import FormulaEngine
import Testing

/// The compiled plan: shared sub-expressions, folded constants, derived lookback, inputs.
@Suite struct FormulaPlanTests {
    static let f1 = "crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)"

    func plan(_ source: String, _ parameters: [String: FormulaValue] = [:]) throws -> FormulaPlan {
        try FormulaPlan.compile(source: source, name: "f", parameters: parameters)
    }

    @Test func f1IsSevenArrayOperations() throws {
        let p = try plan(Self.f1)
        // sma5, sma20, crossover, sma(volume), 1.5 *, >, and
        #expect(p.operationCount == 7)
        #expect(p.lookback == 20)
        #expect(p.signalNames == ["f"])
    }

    @Test func identicalSubexpressionsAreComputedOnce() throws {
        let shared = try plan(
            """
            input fast = 5
            signal a = sma(close, fast) > open
            signal b = sma(close, 5) > open
            signal c = open < sma(close, 5)
            """
        )
        #expect(shared.operationCount == 2)
        let commutative = try plan("signal a = close + open > 1\nsignal b = open + close > 1")
        #expect(commutative.operationCount == 2)
        let lets = try plan("let m = sma(close, 20)\nlet n = sma(close, 20)\nsignal s = m > n[1] and m[1] < n")
        // m > m[1] and m[1] < m: one sma, one history, one comparison (the mirrored one is the same,
        // and `x and x` is x)
        #expect(lets.operationCount == 3)
    }

    @Test func parametersResolveBeforeSharing() throws {
        let source = "input fast = 5\nsignal a = sma(close, fast) > sma(close, 10)"
        #expect(try plan(source).operationCount == 3)
        #expect(try plan(source, ["fast": .number(10)]).operationCount == 1 + 1)  // sma10 > sma10
    }

    @Test func constantsAreFolded() throws {
        #expect(try plan("close > 2 * 3 + 1").operationCount == 1)
        #expect(try plan("close > 1 and true").operationCount == 1)
        #expect(try plan("close > 1 or false").operationCount == 1)
        #expect(try plan("close > 1 and not false and 2 > 1").operationCount == 1)
        #expect(try plan("not not (close > 1)").operationCount == 1)
        #expect(try plan("--close > 1").operationCount == 1)
        #expect(try plan("iff(1 > 2, sma(close, 5), close) > 1").operationCount == 1)
        #expect(try plan("close[0] > 1").operationCount == 1)
        let input = "input on = false\nsignal s = on and close > sma(close, 50)"
        let off = try plan(input)
        #expect(off.operationCount == 1)  // fill with false
        #expect(off.lookback == 0)
        let on = try plan(input, ["on": .bool(true)])
        #expect(on.operationCount == 2)
        #expect(on.lookback == 49)
        #expect(on.inputs == ["on": .bool(true)])
    }

    @Test func unusedLetsAreDropped() throws {
        let p = try plan("let unused = sma(close, 200)\nclose > open")
        #expect(p.operationCount == 1)
        #expect(p.lookback == 0)
    }

    @Test(arguments: [
        ("sma(close, 20) > 0", 19),
        ("sma(sma(close, 20), 5) > 0", 23),
        ("close[3] > sma(close, 5)", 4),
        ("close[7] > sma(close, 5)", 7),
        ("sma(close, 5)[3] > 0", 7),
        ("crossover(sma(close, 5), sma(close, 20))", 20),
        ("roc(close, 10) > 0 and change(close, 3) > 0", 10),
        ("rising(sma(close, 10), 3)", 12),
        ("ema(close, 10) > 0", 9 + 40),
        ("rsi(close, 14) > 70", 14 + 140),
        ("rma(close, 14) > 0", 13 + 140),
        ("atr(14) > 1", 14 + 140),
        ("adx(14) > 25", 27 + 140),
        ("macd(12, 26, 9) > 0", 25 + 104 + 8 + 36),
        ("bb_upper(20, 2) > close", 19),
        ("stoch_k(14, 3, 3) > 80", 13 + 2 + 2),
        ("cci(20) > 100 and willr(14) < -80 and mfi(14) > 50", 19),
        ("obv() > 0 and barssince(close > open) > 3", 0),
        ("highest(high, 20)[1] < close", 20),
    ])
    func lookbackIsDerivedFromTheFormula(_ source: String, _ expected: Int) throws {
        #expect(try plan(source).lookback == expected)
    }

    @Test func lookbackCoversColumnsToo() throws {
        #expect(try plan("signal s = close > open\ncolumn r = rsi(close, 14)").lookback == 154)
    }

    @Test func inputsAreReportedWithOverrides() throws {
        let p = try plan(
            "input fast = 5\ninput slow = 20\ninput on = true\nsignal s = on and sma(close, fast) > sma(close, slow)",
            ["slow": .number(30)]
        )
        #expect(p.inputs == ["fast": .number(5), "slow": .number(30), "on": .bool(true)])
        #expect(p.lookback == 29)
    }

    @Test func negativeInputDefaults() throws {
        let p = try plan("input level = -80\nwillr(14) < level")
        #expect(p.inputs == ["level": .number(-80)])
    }

    @Test func aPlanIsSharedBetweenEvaluators() async throws {
        let p = try plan(Self.f1)
        let closes = (0..<300).map { Double($0 % 17) }
        let columns = bars(close: closes)
        let outputs = await withTaskGroup(of: FormulaOutput.self) { group in
            for _ in 0..<4 {
                group.addTask { FormulaEvaluator(plan: p).evaluate(columns, reportingIn: 0..<300) }
            }
            var all: [FormulaOutput] = []
            for await output in group { all.append(output) }
            return all
        }
        #expect(outputs.count == 4)
        #expect(Set(outputs.map { $0.signals[0].indices }).count == 1)
    }
}
