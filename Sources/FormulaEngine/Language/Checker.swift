/// Checks a parsed formula (names, types, arities, periods) and lowers it into a ``Graph`` with
/// inputs resolved and constants folded.
///
/// Names (inputs, `let`s, signals, columns) share one namespace, must be defined before use and
/// cannot shadow a built-in series or function. A single bare expression becomes
/// `signal <formula name> = expression`.
struct Checker {
    struct Root {
        var name: String
        var ref: Ref
    }

    private struct Binding {
        var ref: Ref
        var isInput: Bool
    }

    private let lexer: Lexer
    private let formulaName: String
    private(set) var graph = Graph()
    private var scope: [String: Binding] = [:]
    private var declarations: [String: SourcePosition] = [:]
    private var inputNames: [String] = []
    private(set) var inputs: [String: FormulaValue] = [:]
    private(set) var signals: [Root] = []
    private(set) var columns: [Root] = []

    init(lexer: Lexer, formulaName: String) {
        self.lexer = lexer
        self.formulaName = formulaName
    }

    private func error(_ message: String, at position: SourcePosition) -> FormulaError {
        lexer.error(message, at: position)
    }

    // MARK: Statements

    mutating func check(_ statements: [Statement], parameters: [String: FormulaValue]) throws(FormulaError) {
        try declare(statements)
        try apply(parameters, statements)
        var bare: Statement?
        for statement in statements {
            switch statement.kind {
            case .input:
                let value = inputs[statement.name] ?? .number(0)
                switch value {
                case .number(let x): bind(statement.name, .constant(x), isInput: true)
                case .bool(let b): bind(statement.name, .boolean(b), isInput: true)
                }
            case .let(let e):
                bind(statement.name, try check(e), isInput: false)
            case .signal(let e):
                let ref = try checked(e, .boolean, "signal '\(statement.name)' must be boolean")
                bind(statement.name, ref, isInput: false)
                signals.append(Root(name: statement.name, ref: ref))
            case .column(let e):
                let ref = try checked(e, .numeric, "column '\(statement.name)' must be numeric")
                bind(statement.name, ref, isInput: false)
                columns.append(Root(name: statement.name, ref: ref))
            case .expression(let e):
                if bare != nil {
                    throw error(
                        "only one unnamed condition is allowed; name each one with 'signal NAME = …'",
                        at: e.start
                    )
                }
                bare = statement
                let ref = try checked(e, .boolean, "signal '\(formulaName)' must be boolean")
                if let line = declarations[formulaName]?.line {
                    throw error(
                        "the unnamed condition is named '\(formulaName)' like the formula, which line \(line) already defines",
                        at: e.start
                    )
                }
                signals.append(Root(name: formulaName, ref: ref))
            }
        }
        if signals.isEmpty {
            let line = statements.last?.position.line ?? 1
            throw error(
                "no signal in formula (write 'signal NAME = condition', or the condition alone)",
                at: SourcePosition(line: line, column: 1)
            )
        }
    }

    private mutating func bind(_ name: String, _ ref: Ref, isInput: Bool) {
        scope[name] = Binding(ref: ref, isInput: isInput)
    }

    /// Records every declared name (so a use before the definition gets a precise message) and the
    /// inputs' defaults.
    private mutating func declare(_ statements: [Statement]) throws(FormulaError) {
        for statement in statements where !statement.name.isEmpty {
            let name = statement.name
            if FunctionCatalog.seriesNames.contains(name) || FunctionCatalog.spec(name) != nil {
                throw error("'\(name)' is a built-in name and cannot be redefined", at: statement.namePosition)
            }
            if let earlier = declarations[name] {
                throw error("'\(name)' is already defined on line \(earlier.line)", at: statement.namePosition)
            }
            declarations[name] = statement.namePosition
            if case .input(let value) = statement.kind {
                if case .number(let x) = value, !x.isFinite {
                    throw error("input '\(name)' must be a finite number", at: statement.namePosition)
                }
                inputNames.append(name)
                inputs[name] = value
            }
        }
    }

    private var inputList: String {
        inputNames.isEmpty ? "the formula has no inputs" : "inputs: " + inputNames.joined(separator: ", ")
    }

    /// Request parameters override input defaults by name; the type must match the default's.
    private mutating func apply(_ parameters: [String: FormulaValue], _ statements: [Statement]) throws(FormulaError) {
        for name in parameters.keys.sorted() {
            guard let value = parameters[name] else { continue }
            guard let current = inputs[name], let position = declarations[name] else {
                throw error("unknown parameter '\(name)' (\(inputList))", at: SourcePosition(line: 1, column: 1))
            }
            switch (current, value) {
            case (.number, .number(let x)):
                if !x.isFinite { throw error("parameter '\(name)' must be a finite number", at: position) }
            case (.bool, .bool): break
            case (.number, .bool):
                throw error("parameter '\(name)' must be a number, not true/false", at: position)
            case (.bool, .number):
                throw error("parameter '\(name)' must be true or false, not a number", at: position)
            }
            inputs[name] = value
        }
    }

    // MARK: Expressions

    /// Checks `e` and requires its type. (Checks first, then reads the graph: a call such as
    /// `requireType(t, try check(e), …)` would read a copy of `self` taken before `check` grew it.)
    private mutating func checked(_ e: Expression, _ type: ValueType, _ what: String) throws(FormulaError) -> Ref {
        let ref = try check(e)
        return try requireType(type, ref, of: e, what)
    }

    private func requireType(
        _ type: ValueType,
        _ ref: Ref,
        of e: Expression,
        _ what: String
    ) throws(FormulaError) -> Ref {
        let actual = graph.type(of: ref)
        guard actual == type else { throw error("\(what), this is \(actual.rawValue)", at: e.start) }
        return ref
    }

    mutating func check(_ e: Expression) throws(FormulaError) -> Ref {
        switch e.kind {
        case .number(let x): return .constant(x)
        case .boolean(let b): return .boolean(b)
        case .name(let name): return try resolve(name, at: e.start)
        case .negate(let inner):
            let value = try checked(inner, .numeric, "'-' needs a number")
            return graph.unary(.negate, value)
        case .not(let inner):
            let value = try checked(inner, .boolean, "'not' needs a boolean")
            return graph.not(value)
        case .binary(let op, let lhs, let rhs):
            return try binary(op, lhs, rhs, at: e.anchor)
        case .history(let base, let offset):
            let value = try check(base)
            let n = try integerConstant(
                offset,
                minimum: 0,
                message: "history offset must be a non-negative integer constant"
            )
            return graph.history(value, offset: n)
        case .call(let name, let arguments):
            return try call(name, arguments, at: e.anchor)
        }
    }

    private mutating func resolve(_ name: String, at position: SourcePosition) throws(FormulaError) -> Ref {
        if let binding = scope[name] { return binding.ref }
        switch name {
        case "open": return graph.price(.open)
        case "high": return graph.price(.high)
        case "low": return graph.price(.low)
        case "close": return graph.price(.close)
        case "volume": return graph.price(.volume)
        case "hl2":
            return graph.arithmetic(
                .divide,
                graph.arithmetic(.add, graph.price(.high), graph.price(.low)),
                .constant(2)
            )
        case "hlc3":
            let hl = graph.arithmetic(.add, graph.price(.high), graph.price(.low))
            return graph.arithmetic(.divide, graph.arithmetic(.add, hl, graph.price(.close)), .constant(3))
        case "ohlc4":
            let oh = graph.arithmetic(.add, graph.price(.open), graph.price(.high))
            let ohl = graph.arithmetic(.add, oh, graph.price(.low))
            return graph.arithmetic(.divide, graph.arithmetic(.add, ohl, graph.price(.close)), .constant(4))
        default: break
        }
        if let declared = declarations[name] {
            throw error("'\(name)' is used before it is defined on line \(declared.line)", at: position)
        }
        if let spec = FunctionCatalog.spec(name) {
            throw error("'\(name)' is a function; call it like \(name)\(spec.signature)", at: position)
        }
        let known = FunctionCatalog.seriesNames + declarations.keys.sorted()
        if let guess = Suggestion.closest(to: name, in: known) {
            throw error("unknown name '\(name)' — did you mean '\(guess)'?", at: position)
        }
        if inputNames.isEmpty { throw error("unknown name '\(name)'", at: position) }
        throw error("unknown name '\(name)' (\(inputList))", at: position)
    }

    private mutating func binary(
        _ op: BinaryOperator,
        _ lhs: Expression,
        _ rhs: Expression,
        at position: SourcePosition
    ) throws(FormulaError) -> Ref {
        let a = try check(lhs)
        let b = try check(rhs)
        let symbol = "'\(op.rawValue)'"
        switch op {
        case .and, .or:
            _ = try requireType(.boolean, a, of: lhs, "\(symbol) needs booleans")
            _ = try requireType(.boolean, b, of: rhs, "\(symbol) needs booleans")
            return graph.logic(and: op == .and, a, b)
        case .equal, .notEqual:
            let (ta, tb) = (graph.type(of: a), graph.type(of: b))
            if ta != tb {
                throw error("\(symbol) cannot compare a \(ta.rawValue) value with a \(tb.rawValue) one", at: position)
            }
            if ta == .boolean { return graph.booleanEqual(equal: op == .equal, a, b) }
            return graph.compare(op == .equal ? .equal : .notEqual, a, b)
        default:
            _ = try requireType(.numeric, a, of: lhs, "\(symbol) needs numbers")
            _ = try requireType(.numeric, b, of: rhs, "\(symbol) needs numbers")
            switch op {
            case .add: return graph.arithmetic(.add, a, b)
            case .subtract: return graph.arithmetic(.subtract, a, b)
            case .multiply: return graph.arithmetic(.multiply, a, b)
            case .divide: return graph.arithmetic(.divide, a, b)
            case .greater: return graph.compare(.greater, a, b)
            case .greaterEqual: return graph.compare(.greaterEqual, a, b)
            case .less: return graph.compare(.less, a, b)
            default: return graph.compare(.lessEqual, a, b)
            }
        }
    }

    // MARK: Constants

    /// An integer constant in `minimum...100_000` (inputs resolved, constants folded).
    private mutating func integerConstant(
        _ e: Expression,
        minimum: Int,
        message: String
    ) throws(FormulaError) -> Int {
        let ref = try check(e)
        guard let x = ref.constantNumber, x.isFinite, x.rounded() == x, x >= Double(minimum) else {
            throw error(message, at: e.start)
        }
        guard x <= Double(FunctionCatalog.maximumPeriod) else {
            throw error("\(message) (at most \(FunctionCatalog.maximumPeriod))", at: e.start)
        }
        return Int(x)
    }

    private mutating func period(_ e: Expression, of function: String) throws(FormulaError) -> Int {
        let p = try integerConstant(e, minimum: 1, message: "period must be a positive integer constant")
        let minimum = FunctionCatalog.minimumPeriod(function)
        if p < minimum { throw error("\(function) needs a period of at least \(minimum), got \(p)", at: e.start) }
        return p
    }

    // MARK: Functions

    private mutating func numeric(_ e: Expression, _ role: String, of function: String) throws(FormulaError) -> Ref {
        try checked(e, .numeric, "\(role) of \(function) must be numeric")
    }

    private mutating func call(
        _ name: String,
        _ arguments: [Expression],
        at position: SourcePosition
    ) throws(FormulaError) -> Ref {
        guard let spec = FunctionCatalog.spec(name) else {
            if scope[name] != nil || FunctionCatalog.seriesNames.contains(name) || declarations[name] != nil {
                throw error("'\(name)' is not a function", at: position)
            }
            if let guess = Suggestion.closest(to: name, in: FunctionCatalog.names) {
                throw error("unknown function '\(name)' — did you mean '\(guess)'?", at: position)
            }
            throw error("unknown function '\(name)'", at: position)
        }
        guard spec.arities.contains(arguments.count) else {
            throw error(FunctionCatalog.arityMessage(name, spec, got: arguments.count), at: position)
        }
        let args = arguments
        switch name {
        case "sma", "ema", "wma", "rma", "rsi", "stdev", "highest", "lowest", "sum", "roc", "change":
            let source = try numeric(args[0], "source", of: name)
            let p = try period(args[1], of: name)
            guard let kind = SourceIndicator(rawValue: name) else { return source }
            return graph.indicator(kind, source, period: p)
        case "macd", "macd_signal", "macd_hist":
            let hasSource = args.count == 4
            let source = hasSource ? try numeric(args[0], "source", of: name) : graph.price(.close)
            let rest = hasSource ? Array(args[1...]) : args
            let fast = try period(rest[0], of: name)
            let slow = try period(rest[1], of: name)
            let signal = try integerConstant(rest[2], minimum: 1, message: "period must be a positive integer constant")
            let output = name == "macd" ? 0 : name == "macd_signal" ? 1 : 2
            return graph.macd(source, fast: fast, slow: slow, signal: signal, output: output)
        case "bb_upper", "bb_middle", "bb_lower":
            let hasSource = args.count == 3
            let source = hasSource ? try numeric(args[0], "source", of: name) : graph.price(.close)
            let rest = hasSource ? Array(args[1...]) : args
            let p = try period(rest[0], of: name)
            let kRef = try check(rest[1])
            guard let k = kRef.constantNumber, k.isFinite else {
                throw error("k of \(name) must be a constant number", at: rest[1].start)
            }
            let output = name == "bb_upper" ? 0 : name == "bb_middle" ? 1 : 2
            return graph.bbands(source, period: p, k: k, output: output)
        case "atr", "adx", "cci", "willr", "mfi":
            let p = try period(args[0], of: name)
            guard let kind = PriceIndicator(rawValue: name) else { return .constant(.nan) }
            return graph.priceIndicator(kind, period: p)
        case "obv":
            return graph.obv()
        case "stoch_k", "stoch_d":
            let k = try period(args[0], of: name)
            let slowK = try period(args[1], of: name)
            let slowD = try period(args[2], of: name)
            return graph.stoch(k: k, slowK: slowK, slowD: slowD, output: name == "stoch_k" ? 0 : 1)
        case "crossover", "crossunder":
            let a = try numeric(args[0], "a", of: name)
            let b = try numeric(args[1], "b", of: name)
            return graph.cross(up: name == "crossover", a, b)
        case "abs", "log", "sqrt":
            let x = try numeric(args[0], "x", of: name)
            return graph.unary(name == "abs" ? .abs : name == "log" ? .log : .sqrt, x)
        case "min", "max":
            let a = try numeric(args[0], "a", of: name)
            let b = try numeric(args[1], "b", of: name)
            return graph.arithmetic(name == "min" ? .minimum : .maximum, a, b)
        case "iff":
            let condition = try checked(args[0], .boolean, "cond of iff must be boolean")
            let a = try check(args[1])
            let b = try check(args[2])
            let (ta, tb) = (graph.type(of: a), graph.type(of: b))
            if ta != tb {
                throw error(
                    "iff needs both branches numeric or both boolean, these are \(ta.rawValue) and \(tb.rawValue)",
                    at: args[2].start
                )
            }
            return graph.select(condition, a, b)
        case "barssince":
            let condition = try checked(args[0], .boolean, "cond of barssince must be boolean")
            return graph.barssince(condition)
        default:  // rising, falling
            let x = try numeric(args[0], "x", of: name)
            let n = try period(args[1], of: name)
            return graph.rising(up: name == "rising", x, count: n)
        }
    }
}
