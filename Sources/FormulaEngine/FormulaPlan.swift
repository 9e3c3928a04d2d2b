/// A formula checked and compiled once per job: immutable, shared by every thread of a job.
///
/// Compiling parses and checks the source (see ``FormulaError`` for what is reported), resolves the
/// inputs with the request's parameters, folds constants, merges structurally identical
/// sub-expressions (so `sma(close, fast)` and `sma(close, 5)` with `fast = 5` are computed once),
/// drops `let`s no signal or column uses, and lowers the rest into a flat list of array operations
/// over reusable buffers (see ``FormulaEvaluator``).
///
/// The language, in short (DESIGN §3):
/// - Statements, one per line: `input NAME = number|true|false`, `let NAME = expr`,
///   `signal NAME = boolean expr`, `column NAME = numeric expr`; `#` comments. A formula that is a
///   single bare boolean expression means `signal <name> = expression`.
/// - Series `open high low close volume hl2 hlc3 ohlc4`; numbers; `true false`; input names.
/// - Operators `+ - * /`, comparisons `> >= < <= == !=`, `and or not`, parentheses, unary minus,
///   history `x[n]` (n a non-negative integer constant or input).
/// - Functions: see the list in the project README; periods are positive integer constants or inputs.
/// - Undefined values (warm-up, division by zero, `x[n]` before the first bar, `log` of x <= 0) are
///   NaN and propagate through arithmetic; booleans are never undefined: a comparison involving an
///   undefined value is false (so `not (x > y)` is true there).
public struct FormulaPlan: Sendable {
    /// Formula name; a bare boolean expression becomes `signal <name> = expression`.
    public let name: String
    /// Signal names in declaration order.
    public let signalNames: [String]
    /// `column` names in declaration order.
    public let columnNames: [String]
    /// Bars of history the formula needs before the first bar it reports on (warm-up).
    ///
    /// The sum of TA-Lib's lookbacks along each chain of nested functions, plus `n` for `x[n]` and
    /// 1 for `crossover`; EMA-like functions add an unstable period of 4 × period (EMA, MACD) or
    /// 10 × period (Wilder: `rma rsi atr adx`) so their values have converged.
    public let lookback: Int
    /// Every input after request parameters were applied.
    public let inputs: [String: FormulaValue]

    /// The price columns the formula reads (`close` may be absent: the scanner reads it anyway).
    public let fields: PriceFields

    let program: Program

    /// Checks and compiles `source`. Throws ``FormulaError`` for any mistake, including an unknown
    /// parameter name or a parameter of the wrong type.
    public static func compile(
        source: String,
        name: String,
        parameters: [String: FormulaValue] = [:]
    ) throws -> FormulaPlan {
        try compileChecked(source: source, name: name, parameters: parameters)
    }

    /// ``compile(source:name:parameters:)`` with its error type spelled out.
    static func compileChecked(
        source: String,
        name: String,
        parameters: [String: FormulaValue]
    ) throws(FormulaError) -> FormulaPlan {
        let (statements, lexer) = try Parser.parse(source)
        var checker = Checker(lexer: lexer, formulaName: name)
        try checker.check(statements, parameters: parameters)
        let graph = checker.graph
        let roots = checker.signals.map(\.ref) + checker.columns.map(\.ref)
        let program = Program(graph: graph, signals: checker.signals.map(\.ref), columns: checker.columns.map(\.ref))
        return FormulaPlan(
            name: name,
            signalNames: checker.signals.map(\.name),
            columnNames: checker.columns.map(\.name),
            lookback: roots.map { graph.lookback(of: $0) }.max() ?? 0,
            inputs: checker.inputs,
            fields: program.priceFields,
            program: program
        )
    }

    /// Number of array operations run per symbol (after sharing and folding): each SMA of a fused pass
    /// counts as one, the lists of chosen bars and the divisions at them as none.
    public var operationCount: Int {
        program.operations.reduce(0) { count, operation in
            switch operation {
            case .choose, .smaAtChosen: count
            case .smas(let jobs): count + jobs.count
            default: count + 1
            }
        }
    }
}
