import Testing

@testable import FormulaEngine

/// The table of built-ins (``Builtin/definition``): every row compiles with arguments of the kinds
/// it declares, in each arity, and its lookback is TA-Lib's plus the documented unstable period.
@Suite struct BuiltinTableTests {
    /// A valid argument for each parameter kind.
    static func argument(_ parameter: Parameter, at index: Int) -> String {
        switch parameter {
        case .source, .numeric: ["close", "open", "high"][index % 3]
        case .boolean, .branch: "close > open"
        case .period(_, let minimum): String(max(minimum, 3))
        case .constant: "2"
        }
    }

    @Test(arguments: Builtin.allCases)
    func everyRowCompilesInEveryArity(_ builtin: Builtin) throws {
        let definition = builtin.definition
        for arity in definition.arities {
            let parameters = definition.parameters.suffix(arity)
            let call =
                "\(builtin.rawValue)(\(parameters.enumerated().map { Self.argument($1, at: $0) }.joined(separator: ", ")))"
            // Boolean functions make a signal, numeric ones a column.
            let plan =
                try (try? FormulaPlan.compile(source: "signal s = \(call)", name: "f"))
                ?? FormulaPlan.compile(source: "column c = \(call)\nsignal s = close > 0", name: "f")
            #expect(plan.operationCount >= 1, "\(call)")
        }
    }

    @Test func signaturesAndArityMessagesComeFromTheParameters() {
        #expect(Builtin.sma.definition.signature == "(source, period)")
        #expect(Builtin.macdHist.definition.signature == "([source,] fast, slow, signal)")
        #expect(Builtin.macdHist.definition.arities == [3, 4])
        #expect(Builtin.obv.definition.arityMessage("obv", got: 1) == "obv expects no arguments, got 1")
        #expect(Builtin.iff.definition.signature == "(cond, a, b)")
    }

    @Test func lookbackIsTALibsPlusTheUnstablePeriod() throws {
        func lookback(_ source: String) throws -> Int {
            try FormulaPlan.compile(source: "column c = \(source)\nsignal s = true", name: "f").lookback
        }
        #expect(try lookback("sma(close, 20)") == 19)
        #expect(try lookback("ema(close, 10)") == 9 + 40)
        #expect(try lookback("rsi(close, 14)") == 14 + 140)
        #expect(try lookback("adx(14)") == 27 + 140)
        #expect(try lookback("macd_hist(12, 26, 9)") == 25 + 8 + 4 * 26 + 4 * 9)
        #expect(try lookback("stoch_d(14, 3, 3)") == 13 + 2 + 2)
        #expect(try lookback("sma(rsi(close, 14), 5)") == 154 + 4)
        #expect(Indicator.mfi(14).talibLookback == 14)
        #expect(Indicator.obv.lookback == 0)
    }
}
