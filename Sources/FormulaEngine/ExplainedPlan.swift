/// A formula compiled so that every clause of every signal's top-level conjunction (`a and b and c`)
/// is also evaluated on its own: the condition funnel of `scan run --explain`.
///
/// The clauses are added to the formula as extra signals (`signal __explain_s0_c1 = b`) after every
/// statement, so they see the same inputs and `let`s and share the formula's sub-expressions (a clause
/// costs only its final operation). For near misses the operands of comparison clauses are added as
/// columns and one signal that holds on every bar, so their values are reported on the bar evaluated.
/// The plan's first ``signalCount`` signals and ``columnCount`` columns are the formula's own.
public struct ExplainedPlan: Sendable {
    /// The formula's plan with the clause signals (and operand columns) appended.
    public let plan: FormulaPlan
    /// The formula's own signals (the first ones of ``plan``).
    public let signalCount: Int
    /// The formula's own columns (the first ones of ``plan``).
    public let columnCount: Int
    /// Per signal of the formula, its clauses as text, in the order written. A signal that is not a
    /// conjunction has one clause: the whole expression.
    public let clauses: [[String]]
    /// `clauseSignals[s][k]`: the index in ``plan`` of clause `k` of signal `s`.
    public let clauseSignals: [[Int]]
    /// `operandColumns[s][k]`: the column indices in ``plan`` of the left and right operands of clause
    /// `k` of signal `s` when it is a comparison of numbers (empty otherwise, or without near misses).
    public let operandColumns: [[[Int]]]
    /// The index of the signal that holds on every bar (with near misses), else `nil`.
    public let everyBarSignal: Int?

    /// Compiles `source` (see ``FormulaPlan/compile(source:name:parameters:)``) with its clauses.
    /// - Parameter operands: also report the operands of comparison clauses (for near misses).
    /// - Throws: ``FormulaError`` for a formula that does not compile on its own.
    public static func compile(
        source: String,
        name: String,
        parameters: [String: FormulaValue] = [:],
        operands: Bool
    ) throws -> ExplainedPlan {
        let base = try FormulaPlan.compileChecked(source: source, name: name, parameters: parameters)
        let (statements, _) = try Parser.parse(source)
        var conditions: [Expression] = []
        for st in statements {
            switch st.kind {
            case .signal(let e), .expression(let e): conditions.append(e)
            default: break
            }
        }
        guard conditions.count == base.signalNames.count else {
            throw FormulaError(
                message: "cannot explain this formula: its signals could not be matched to their expressions",
                line: 1,
                column: 1,
                sourceLine: ""
            )
        }
        let split = conditions.map { Self.clauses(of: $0) }
        if operands,
            let plan = try? Self.build(base, source, name, parameters, split, operands: true)
        {
            return plan
        }
        return try Self.build(base, source, name, parameters, split, operands: false)
    }

    private static func build(
        _ base: FormulaPlan,
        _ source: String,
        _ name: String,
        _ parameters: [String: FormulaValue],
        _ split: [[Expression]],
        operands: Bool
    ) throws(FormulaError) -> ExplainedPlan {
        var extra = "\n"
        var clauseSignals: [[Int]] = []
        var operandColumns: [[[Int]]] = []
        var nextSignal = base.signalNames.count
        var nextColumn = base.columnNames.count
        for (s, clauses) in split.enumerated() {
            var signals: [Int] = []
            var columns: [[Int]] = []
            for (k, clause) in clauses.enumerated() {
                extra += "signal __explain_s\(s)_c\(k) = \(Self.render(clause))\n"
                signals.append(nextSignal)
                nextSignal += 1
                if operands, case .binary(let op, let l, let r) = clause.kind, op.isComparison {
                    extra += "column __explain_s\(s)_c\(k)_l = \(Self.render(l))\n"
                    extra += "column __explain_s\(s)_c\(k)_r = \(Self.render(r))\n"
                    columns.append([nextColumn, nextColumn + 1])
                    nextColumn += 2
                } else {
                    columns.append([])
                }
            }
            clauseSignals.append(signals)
            operandColumns.append(columns)
        }
        var everyBar: Int?
        if operands {
            extra += "signal __explain_every_bar = true\n"
            everyBar = nextSignal
        }
        let plan = try FormulaPlan.compileChecked(source: source + extra, name: name, parameters: parameters)
        return ExplainedPlan(
            plan: plan,
            signalCount: base.signalNames.count,
            columnCount: base.columnNames.count,
            clauses: split.map { $0.map { Self.render($0) } },
            clauseSignals: clauseSignals,
            operandColumns: operandColumns,
            everyBarSignal: everyBar
        )
    }

    /// The operands of the top-level `and`s of `e`, left to right (`e` itself when there is none).
    static func clauses(of e: Expression) -> [Expression] {
        var out: [Expression] = []
        var stack = [e]
        while let x = stack.popLast() {
            if case .binary(.and, let l, let r) = x.kind {
                stack.append(r)
                stack.append(l)
            } else {
                out.append(x)
            }
        }
        return out
    }

    // MARK: Rendering

    /// `e` as formula text, with the parentheses its structure needs.
    static func render(_ e: Expression) -> String { text(e).text }

    private static func precedence(_ op: BinaryOperator) -> Int {
        switch op {
        case .or: 1
        case .and: 2
        case .greater, .greaterEqual, .less, .lessEqual, .equal, .notEqual: 4
        case .add, .subtract: 5
        case .multiply, .divide: 6
        }
    }

    private static func number(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return String(x)
    }

    private static func text(_ e: Expression) -> (text: String, precedence: Int) {
        func wrap(_ x: Expression, below level: Int) -> String {
            let t = text(x)
            return t.precedence < level ? "(\(t.text))" : t.text
        }
        switch e.kind {
        case .number(let x): return (number(x), x < 0 ? 7 : 8)
        case .boolean(let b): return (b ? "true" : "false", 8)
        case .name(let n): return (n, 8)
        case .negate(let x): return ("-" + wrap(x, below: 7), 7)
        case .not(let x): return ("not " + wrap(x, below: 3), 3)
        case .binary(let op, let l, let r):
            let p = precedence(op)
            let left = wrap(l, below: op.isComparison ? p + 1 : p)
            let right = wrap(r, below: p + 1)
            return ("\(left) \(op.rawValue) \(right)", p)
        case .call(let name, let args):
            return ("\(name)(\(args.map { text($0).text }.joined(separator: ", ")))", 8)
        case .history(let base, let offset):
            return ("\(wrap(base, below: 8))[\(text(offset).text)]", 8)
        }
    }
}
