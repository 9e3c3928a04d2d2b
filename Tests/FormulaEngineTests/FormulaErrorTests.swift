import FormulaEngine
import Testing

/// Compiles `source` expecting a ``FormulaError``; returns it (or records an issue).
func compileError(
    _ source: String,
    name: String = "f",
    parameters: [String: FormulaValue] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) -> FormulaError? {
    do {
        _ = try FormulaPlan.compile(source: source, name: name, parameters: parameters)
        Issue.record("compiled without error: \(source)", sourceLocation: sourceLocation)
        return nil
    } catch let error as FormulaError {
        return error
    } catch {
        Issue.record("unexpected error type \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Every mistake a user can make, with its exact message (and, where it matters, its position).
@Suite struct FormulaErrorTests {
    // MARK: The messages DESIGN §3 and issue 4 spell out

    @Test func unknownFunctionSuggestsTheClosestOne() {
        let e = compileError("signal s = smaa(close, 5) > close")
        #expect(e?.message == "unknown function 'smaa' — did you mean 'sma'?")
        #expect(e?.line == 1)
        #expect(e?.column == 12)
    }

    @Test func arityNamesTheParameters() {
        let e = compileError("rsi(14) > 70")
        #expect(e?.message == "rsi expects 2 arguments (source, period), got 1")
        #expect(e?.column == 1)
    }

    @Test(arguments: [
        "sma(close, 0) > 1", "sma(close, -3) > 1", "sma(close, 2.5) > 1", "sma(close, close) > 1",
        "input p = 0\nsma(close, p) > 1", "ema(close, 1 > 0) > 1",
    ])
    func periodMustBeAPositiveIntegerConstant(_ source: String) {
        #expect(compileError(source)?.message == "period must be a positive integer constant")
    }

    @Test func periodErrorPointsAtTheArgument() {
        let e = compileError("signal s = close > sma(close, 2.5)")
        #expect(e?.column == 31)
    }

    @Test func signalMustBeBoolean() {
        let e = compileError("signal x = close + 1")
        #expect(e?.message == "signal 'x' must be boolean, this is numeric")
        #expect(e?.column == 12)
    }

    @Test func unexpectedEndOfFormulaAfterOperator() {
        let e = compileError("signal s = close >")
        #expect(e?.message == "unexpected end of formula after '>'")
        #expect(e?.column == 19)
        #expect(compileError("close >\n\n")?.message == "unexpected end of formula after '>'")
    }

    @Test func unknownNameListsTheInputs() {
        let e = compileError("input fast = 5\ninput slow = 20\nsignal s = sma(close, n) > 1")
        #expect(e?.message == "unknown name 'n' (inputs: fast, slow)")
        #expect(e?.line == 3)
        #expect(e?.column == 23)
    }

    // MARK: Parameters

    @Test func unknownParameter() {
        let e = compileError("input fast = 5\ninput slow = 20\nclose > 1", parameters: ["x": .number(1)])
        #expect(e?.message == "unknown parameter 'x' (inputs: fast, slow)")
        #expect(
            compileError("close > 1", parameters: ["x": .number(1)])?.message
                == "unknown parameter 'x' (the formula has no inputs)"
        )
    }

    @Test func parameterOfTheWrongType() {
        let source = "input fast = 5\ninput on = true\nclose > fast and on"
        #expect(
            compileError(source, parameters: ["fast": .bool(true)])?.message
                == "parameter 'fast' must be a number, not true/false"
        )
        #expect(
            compileError(source, parameters: ["on": .number(1)])?.message
                == "parameter 'on' must be true or false, not a number"
        )
        #expect(
            compileError(source, parameters: ["fast": .number(.infinity)])?.message
                == "parameter 'fast' must be a finite number"
        )
        #expect(compileError(source, parameters: ["fast": .number(.nan)])?.line == 1)
    }

    @Test func parameterThatMakesAPeriodInvalid() {
        let e = compileError("input n = 5\nsma(close, n) > 1", parameters: ["n": .number(0)])
        #expect(e?.message == "period must be a positive integer constant")
        #expect(e?.line == 2)
    }

    // MARK: Names

    @Test func duplicateNames() {
        let e = compileError("input fast = 5\nlet fast = close\nclose > fast")
        #expect(e?.message == "'fast' is already defined on line 1")
        #expect(e?.line == 2)
        #expect(e?.column == 5)
        #expect(
            compileError("signal a = close > 1\nsignal a = close < 1")?.message
                == "'a' is already defined on line 1"
        )
    }

    @Test func builtInNamesCannotBeRedefined() {
        #expect(
            compileError("let close = open\nclose > 1")?.message
                == "'close' is a built-in name and cannot be redefined"
        )
        #expect(
            compileError("input sma = 3\nclose > 1")?.message
                == "'sma' is a built-in name and cannot be redefined"
        )
    }

    @Test func reservedWordAsName() {
        #expect(
            compileError("let and = close\nclose > 1")?.message
                == "'and' is a reserved word and cannot be a name"
        )
    }

    @Test func usedBeforeDefinition() {
        let e = compileError("signal s = close > m\nlet m = sma(close, 5)")
        #expect(e?.message == "'m' is used before it is defined on line 2")
    }

    @Test func unknownNameSuggestions() {
        #expect(compileError("clsoe > 1")?.message == "unknown name 'clsoe' — did you mean 'close'?")
        #expect(
            compileError("let trend = close\ntrnd > 1")?.message
                == "unknown name 'trnd' — did you mean 'trend'?"
        )
        #expect(compileError("n > 1")?.message == "unknown name 'n'")
    }

    @Test func functionUsedAsAValueAndValueCalledAsAFunction() {
        #expect(compileError("sma > 1")?.message == "'sma' is a function; call it like sma(source, period)")
        #expect(compileError("close(1) > 1")?.message == "'close' is not a function")
        #expect(compileError("let m = close\nm(1) > 1")?.message == "'m' is not a function")
        #expect(compileError("foo(close) > 1")?.message == "unknown function 'foo'")
    }

    // MARK: Types

    @Test func columnMustBeNumeric() {
        #expect(
            compileError("signal s = close > 1\ncolumn c = close > open")?.message
                == "column 'c' must be numeric, this is boolean"
        )
    }

    @Test func bareExpressionMustBeBoolean() {
        #expect(compileError("close + 1", name: "F1")?.message == "signal 'F1' must be boolean, this is numeric")
    }

    @Test func operatorTypes() {
        #expect(compileError("(close > 1) + 1 > 0")?.message == "'+' needs numbers, this is boolean")
        #expect(compileError("close > 1 and close")?.message == "'and' needs booleans, this is numeric")
        #expect(compileError("close or close > 1")?.message == "'or' needs booleans, this is numeric")
        #expect(compileError("not close")?.message == "'not' needs a boolean, this is numeric")
        #expect(compileError("-(close > 1)")?.message == "'-' needs a number, this is boolean")
        #expect(compileError("(close > 1) > 0")?.message == "'>' needs numbers, this is boolean")
        #expect(
            compileError("close == (open > 1)")?.message
                == "'==' cannot compare a numeric value with a boolean one"
        )
    }

    @Test func functionArgumentTypes() {
        #expect(compileError("sma(close > 1, 5) > 1")?.message == "source of sma must be numeric, this is boolean")
        #expect(
            compileError("crossover(close, open > 1)")?.message == "b of crossover must be numeric, this is boolean"
        )
        #expect(compileError("iff(close, 1, 2) > 1")?.message == "cond of iff must be boolean, this is numeric")
        #expect(compileError("barssince(close) > 1")?.message == "cond of barssince must be boolean, this is numeric")
        #expect(
            compileError("iff(close > 1, 1, true)")?.message
                == "iff needs both branches numeric or both boolean, these are numeric and boolean"
        )
        #expect(compileError("bb_upper(20, close) > 1")?.message == "k of bb_upper must be a constant number")
    }

    @Test func periodRanges() {
        #expect(compileError("sma(close, 1) > 1")?.message == "sma needs a period of at least 2, got 1")
        #expect(
            compileError("sma(close, 100001) > 1")?.message
                == "period must be a positive integer constant (at most 100000)"
        )
        #expect(compileError("sma(close, 1e9) > 1") != nil)
    }

    @Test func otherArities() {
        #expect(
            compileError("macd(12, 26) > 0")?.message
                == "macd expects 3 or 4 arguments ([source,] fast, slow, signal), got 2"
        )
        #expect(
            compileError("bb_lower(close) > 0")?.message
                == "bb_lower expects 2 or 3 arguments ([source,] n, k), got 1"
        )
        #expect(compileError("obv(close) > 0")?.message == "obv expects no arguments, got 1")
        #expect(compileError("abs(close, 1) > 0")?.message == "abs expects 1 argument (x), got 2")
        #expect(compileError("stoch_k(14, 3) > 0")?.message == "stoch_k expects 3 arguments (k, slowk, slowd), got 2")
    }

    // MARK: History

    @Test(arguments: ["close[-1] > 1", "close[1.5] > 1", "close[close] > 1", "close[true] > 1"])
    func historyOffset(_ source: String) {
        #expect(compileError(source)?.message == "history offset must be a non-negative integer constant")
    }

    @Test func historyOffsetTooLarge() {
        #expect(
            compileError("close[200000] > 1")?.message
                == "history offset must be a non-negative integer constant (at most 100000)"
        )
    }

    // MARK: Syntax

    @Test func unexpectedCharacters() {
        let e = compileError("close > 1 @ 2")
        #expect(e?.message == "unexpected character '@'")
        #expect(e?.column == 11)
        #expect(compileError("close > 1 \u{7}")?.message == "unexpected character U+0007")
        #expect(compileError("close > 1 && open > 1")?.message == "unexpected '&&' (write 'and')")
        #expect(compileError("close > 1 || open > 1")?.message == "unexpected '||' (write 'or')")
        #expect(compileError("!(close > 1)")?.message == "unexpected character '!' (write 'not', or '!=' to compare)")
        #expect(compileError("close > 1 . 2")?.message == "unexpected character '.'")
        #expect(compileError("close > 한")?.message == "unexpected character '한'")
    }

    @Test func unclosedBrackets() {
        let e = compileError("signal s = (close > 1")
        #expect(e?.message == "'(' is never closed")
        #expect(e?.column == 12)
        #expect(compileError("sma(close, 5 > 1")?.message == "'(' is never closed")
        #expect(compileError("close[1 > 1")?.message == "'[' is never closed")
    }

    @Test func strayTokens() {
        #expect(compileError("close > open open")?.message == "expected end of line, found 'open'")
        #expect(compileError("close = open")?.message == "unexpected '=' (write '==' to compare)")
        #expect(compileError("close > 1)")?.message == "unmatched ')'")
        #expect(compileError("close > )")?.message == "unexpected ')'")
        #expect(compileError("close > ]")?.message == "unexpected ']'")
        #expect(compileError("close > , 1")?.message == "expected a value, found ','")
        #expect(compileError("sma(close 5) > 1")?.message == "expected ',' or ')', found '5'")
        #expect(compileError("close[1 2] > 1")?.message == "expected ']', found '2'")
        #expect(compileError("close > 1 < 2")?.message == "comparisons cannot be chained; combine them with 'and'")
        #expect(compileError("close > signal")?.message == "'signal' must start a line")
    }

    @Test func malformedStatements() {
        #expect(compileError("let 5 = close")?.message == "expected a name after 'let', found '5'")
        #expect(compileError("let x close")?.message == "expected '=' after 'x', found 'close'")
        #expect(compileError("signal")?.message == "unexpected end of formula after 'signal'")
        let e = compileError("signal x =\nsignal y = close > 1")
        #expect(e?.message == "unexpected end of line after '='")
        #expect(e?.line == 1)
        #expect(e?.column == 11)
        #expect(compileError("input x = close")?.message == "input 'x' needs a number or true/false as its default")
        #expect(compileError("input x =")?.message == "unexpected end of formula after '='")
        #expect(
            compileError("input x = " + String(repeating: "9", count: 400) + "\nclose > x")?.message
                == "input 'x' must be a finite number"
        )
    }

    @Test func signals() {
        #expect(
            compileError("")?.message
                == "no signal in formula (write 'signal NAME = condition', or the condition alone)"
        )
        #expect(
            compileError("# only a comment\n")?.message
                == "no signal in formula (write 'signal NAME = condition', or the condition alone)"
        )
        #expect(compileError("input n = 5\nlet m = sma(close, n)\ncolumn c = m")?.line == 3)
        #expect(
            compileError("close > 1\nclose < 1")?.message
                == "only one unnamed condition is allowed; name each one with 'signal NAME = …'"
        )
        #expect(
            compileError("let f = close > 1\nf", name: "f")?.message
                == "the unnamed condition is named 'f' like the formula, which line 1 already defines"
        )
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "(", count: 5000) + "close" + String(repeating: ")", count: 5000) + " > 1"
        #expect(compileError(deep)?.message.hasPrefix("formula is nested too deeply") == true)
        let long = "close" + String(repeating: " + close", count: 5000) + " > 1"
        #expect(compileError(long)?.message.hasPrefix("formula is nested too deeply") == true)
        let nots = String(repeating: "not ", count: 5000) + "close > 1"
        #expect(compileError(nots)?.message.hasPrefix("formula is nested too deeply") == true)
        let minus = String(repeating: "-", count: 5000) + "close > 1"
        #expect(compileError(minus)?.message.hasPrefix("formula is nested too deeply") == true)
        #expect(compileError(String(repeating: "abs(", count: 5000))?.message.hasPrefix("formula is nested") == true)
    }

    // MARK: Rendering

    @Test func descriptionShowsLineColumnSourceAndCaret() {
        let e = compileError("input fast = 5\nsignal s = smaa(close, fast) > 1")
        #expect(e?.sourceLine == "signal s = smaa(close, fast) > 1")
        #expect(
            e?.description == """
                line 2, column 12: unknown function 'smaa' — did you mean 'sma'?
                  signal s = smaa(close, fast) > 1
                             ^
                """
        )
    }

    @Test func windowsLineEndings() {
        let e = compileError("input fast = 5\r\nsignal s = close > nn\r\n")
        #expect(e?.line == 2)
        #expect(e?.sourceLine == "signal s = close > nn")
    }
}
