/// Binary operators of the language, by precedence group.
enum BinaryOperator: String, Sendable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"
    case greater = ">"
    case greaterEqual = ">="
    case less = "<"
    case lessEqual = "<="
    case equal = "=="
    case notEqual = "!="
    case and, or

    var isComparison: Bool {
        switch self {
        case .greater, .greaterEqual, .less, .lessEqual, .equal, .notEqual: true
        default: false
        }
    }
}

/// An expression as written, with where it starts and the spot an error about it points to.
struct Expression: Sendable {
    indirect enum Kind: Sendable {
        case number(Double)
        case boolean(Bool)
        case name(String)
        case negate(Expression)
        case not(Expression)
        case binary(BinaryOperator, Expression, Expression)
        case call(String, [Expression])
        case history(Expression, Expression)
    }

    var kind: Kind
    /// First character of the expression.
    var start: SourcePosition
    /// The operator, function name or literal an error about this expression points at.
    var anchor: SourcePosition
    /// Height of the expression tree (bounded by the parser so checking never recurses deeply).
    var depth: Int
}

/// One statement of a formula.
struct Statement: Sendable {
    enum Kind: Sendable {
        case input(FormulaValue)
        case `let`(Expression)
        case signal(Expression)
        case column(Expression)
        /// A bare expression: `signal <formula name> = expression`.
        case expression(Expression)
    }

    var kind: Kind
    /// Declared name (empty for a bare expression).
    var name: String
    var position: SourcePosition
    var namePosition: SourcePosition
}
