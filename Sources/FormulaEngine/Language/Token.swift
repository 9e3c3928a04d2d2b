/// A 1-based line and column (in characters) inside a formula's source.
struct SourcePosition: Hashable, Sendable {
    var line: Int
    var column: Int
}

/// Reserved words of the formula language.
enum Keyword: String, Sendable, CaseIterable {
    case input, `let`, signal, column, and, or, not, `true`, `false`
}

/// Operators and punctuation.
enum Symbol: String, Sendable {
    case plus = "+"
    case minus = "-"
    case star = "*"
    case slash = "/"
    case greater = ">"
    case greaterEqual = ">="
    case less = "<"
    case lessEqual = "<="
    case equalEqual = "=="
    case notEqual = "!="
    case assign = "="
    case leftParen = "("
    case rightParen = ")"
    case leftBracket = "["
    case rightBracket = "]"
    case comma = ","
}

/// One lexical token of a formula.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case number(Double)
        case name(String)
        case keyword(Keyword)
        case symbol(Symbol)
        case newline
        case end
    }

    var kind: Kind
    /// The token's text as written (empty for the end of the formula).
    var text: String
    var position: SourcePosition
    /// Column just after the token's last character.
    var endColumn: Int

    /// How the token is named in a message: `'>'`, `'close'`, `end of line`.
    var quoted: String {
        switch kind {
        case .newline: return "end of line"
        case .end: return "end of formula"
        default: return "'\(text)'"
        }
    }

    func isSymbol(_ symbol: Symbol) -> Bool { kind == .symbol(symbol) }
    func isKeyword(_ keyword: Keyword) -> Bool { kind == .keyword(keyword) }
}
