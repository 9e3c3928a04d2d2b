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
            if BuiltinSeries(rawValue: name) != nil || Builtin(rawValue: name) != nil {
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
        if let series = BuiltinSeries(rawValue: name) { return series.lower(into: &graph) }
        if let declared = declarations[name] {
            throw error("'\(name)' is used before it is defined on line \(declared.line)", at: position)
        }
        if let builtin = Builtin(rawValue: name) {
            throw error("'\(name)' is a function; call it like \(name)\(builtin.definition.signature)", at: position)
        }
        let known = BuiltinSeries.allCases.map(\.rawValue) + declarations.keys.sorted()
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
        guard x <= Double(Builtin.maximumPeriod) else {
            throw error("\(message) (at most \(Builtin.maximumPeriod))", at: e.start)
        }
        return Int(x)
    }

    private mutating func period(_ e: Expression, minimum: Int, of function: String) throws(FormulaError) -> Int {
        let p = try integerConstant(e, minimum: 1, message: "period must be a positive integer constant")
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
        guard let builtin = Builtin(rawValue: name) else {
            if scope[name] != nil || BuiltinSeries(rawValue: name) != nil || declarations[name] != nil {
                throw error("'\(name)' is not a function", at: position)
            }
            if let guess = Suggestion.closest(to: name, in: Builtin.allCases.map(\.rawValue)) {
                throw error("unknown function '\(name)' — did you mean '\(guess)'?", at: position)
            }
            throw error("unknown function '\(name)'", at: position)
        }
        let definition = builtin.definition
        guard definition.arities.contains(arguments.count) else {
            throw error(definition.arityMessage(name, got: arguments.count), at: position)
        }
        var lowering = LoweringArguments()
        var branchType: ValueType?
        // The arity check leaves one way to give fewer arguments than parameters: omitting an optional
        // leading source, which is then `close`.
        let omitsSource = arguments.count < definition.parameters.count
        if omitsSource { lowering.values.append(graph.price(.close)) }
        for (parameter, argument) in zip(definition.parameters.dropFirst(omitsSource ? 1 : 0), arguments) {
            switch parameter {
            case .source: lowering.values.append(try numeric(argument, "source", of: name))
            case .numeric(let role): lowering.values.append(try numeric(argument, role, of: name))
            case .boolean(let role):
                lowering.values.append(try checked(argument, .boolean, "\(role) of \(name) must be boolean"))
            case .branch:
                let value = try check(argument)
                let type = graph.type(of: value)
                if let first = branchType, first != type {
                    throw error(
                        "\(name) needs both branches numeric or both boolean, these are \(first.rawValue) and \(type.rawValue)",
                        at: argument.start
                    )
                }
                branchType = type
                lowering.values.append(value)
            case .period(_, let minimum):
                lowering.periods.append(try period(argument, minimum: minimum, of: name))
            case .constant(let role):
                let ref = try check(argument)
                guard let k = ref.constantNumber, k.isFinite else {
                    throw error("\(role) of \(name) must be a constant number", at: argument.start)
                }
                lowering.constants.append(k)
            }
        }
        return definition.lower(&graph, lowering)
    }
}
