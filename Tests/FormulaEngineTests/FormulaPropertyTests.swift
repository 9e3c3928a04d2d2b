import FormulaEngine
import PropertyBased
import Testing

/// No input crashes the compiler: random token soup and random bytes either compile or throw a
/// ``FormulaError`` whose position lies inside the source; what compiles also evaluates.
@Suite struct FormulaPropertyTests {
    static let tokens: [String] = [
        "input", "let", "signal", "column", "and", "or", "not", "true", "false",
        "open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4", "x", "y", "fast", "n",
        "sma", "ema", "wma", "rma", "rsi", "stdev", "highest", "lowest", "sum", "roc", "change", "macd",
        "macd_signal", "macd_hist", "bb_upper", "bb_middle", "bb_lower", "atr", "adx", "cci", "willr", "mfi",
        "obv", "stoch_k", "stoch_d", "crossover", "crossunder", "abs", "log", "sqrt", "min", "max", "iff",
        "barssince", "rising", "falling", "smaa",
        "0", "1", "2", "3", "5", "14", "20", "1.5", ".5", "-1", "1e3", "100001", "2.5",
        "+", "-", "*", "/", ">", ">=", "<", "<=", "==", "!=", "=", "(", ")", "[", "]", ",",
        "\n", "\n", "\r\n", "#", "# comment\n", " ", "\t", "@", "!", "&&", "é", "\u{0}", "\"",
    ]

    /// A formula made of tokens, plus a few well-formed statements so some soups compile.
    static let soup = Gen<String?>.element(of: tokens).array(of: 0...40).map { words in
        words.map { $0 ?? "" }.joined(separator: " ")
    }

    static let prefixes = [
        "", "input fast = 5\n", "let x = sma(close, 5)\n", "signal y = close > open\n",
        "input n = 3\nlet x = close[n]\n",
    ]

    static func check(_ source: String) {
        do {
            let plan = try FormulaPlan.compile(source: source, name: "f", parameters: [:])
            let n = 40
            let closes = (0..<n).map { 100 + Double(($0 * 7919) % 23) - 11 }
            let columns = PriceColumns(
                open: closes.map { $0 - 1 },
                high: closes.map { $0 + 2 },
                low: closes.map { $0 - 2 },
                close: closes,
                volume: closes.map { $0 * 10 }
            )
            let output = FormulaEvaluator(plan: plan).evaluate(columns, reportingIn: 5..<n)
            #expect(output.signals.count == plan.signalNames.count)
            for hits in output.signals {
                #expect(hits.indices.allSatisfy { (5..<n).contains($0) })
                #expect(hits.columns.count == plan.columnNames.count)
                #expect(hits.columns.allSatisfy { $0.count == hits.indices.count })
            }
        } catch let error as FormulaError {
            let lines = source.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            #expect(error.line >= 1 && error.line <= max(1, lines.count))
            #expect(error.column >= 1)
            #expect(!error.message.isEmpty)
            #expect(error.description.hasPrefix("line \(error.line), column \(error.column): "))
        } catch {
            Issue.record("compile threw a non-FormulaError: \(error)")
        }
    }

    @Test func tokenSoupNeverCrashes() async {
        await propertyCheck(count: 1500, input: Gen<Int>.int(in: 0...4), Self.soup) { prefix, soup in
            Self.check(Self.prefixes[prefix] + soup)
        }
    }

    @Test func randomBytesNeverCrash() async {
        await propertyCheck(count: 1000, input: Gen<UInt8>.value(in: 0...255).array(of: 0...120)) { bytes in
            Self.check(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func randomPrintableTextNeverCrashes() async {
        let printable = Gen<Character>.character(in: " "..."~").array(of: 0...80).map { String($0) }
        await propertyCheck(count: 1000, input: printable) { text in
            Self.check(text)
        }
    }

    @Test func randomParametersNeverCrash() async {
        let names = Gen<String?>.element(of: ["fast", "slow", "on", "x"])
        let values = Gen<Int>.int(in: -3...100_002)
        await propertyCheck(count: 300, input: names, values, Gen<Bool>.bool) { name, value, asBool in
            let source =
                "input fast = 5\ninput slow = 20\ninput on = true\nsignal s = on and sma(close, fast) > ema(close, slow)"
            let parameter: FormulaValue = asBool ? .bool(value % 2 == 0) : .number(Double(value))
            do {
                _ = try FormulaPlan.compile(source: source, name: "f", parameters: [name ?? "x": parameter])
            } catch let error as FormulaError {
                #expect(!error.message.isEmpty)
            } catch {
                Issue.record("compile threw a non-FormulaError: \(error)")
            }
        }
    }
}
