/// Recursive-descent parser for the formula language.
///
/// ```
/// formula    := (statement? NEWLINE)* END
/// statement  := 'input' NAME '=' ['-'] (NUMBER | 'true' | 'false')
///             | ('let' | 'signal' | 'column') NAME '=' expression
///             | expression
/// expression := or
/// or         := and ('or' and)*
/// and        := not ('and' not)*
/// not        := 'not' not | comparison
/// comparison := additive (('>' | '>=' | '<' | '<=' | '==' | '!=') additive)?
/// additive   := term (('+' | '-') term)*
/// term       := unary (('*' | '/') unary)*
/// unary      := '-' unary | postfix
/// postfix    := primary ('[' expression ']')*
/// primary    := NUMBER | 'true' | 'false' | NAME | NAME '(' (expression (',' expression)*)? ')'
///             | '(' expression ')'
/// ```
/// A line may end after a binary operator; the expression continues on the next line. Nesting is
/// bounded so no input can exhaust the stack.
struct Parser {
    static let maximumNesting = 64
    static let maximumDepth = 200

    private var tokens: [Token]
    private var index = 0
    private var nesting = 0
    private let lexer: Lexer

    init(lexer: Lexer, tokens: [Token]) {
        self.lexer = lexer
        self.tokens = tokens
    }

    static func parse(_ source: String) throws(FormulaError) -> (statements: [Statement], lexer: Lexer) {
        var lexer = Lexer(source: source)
        let tokens = try lexer.tokenize()
        var parser = Parser(lexer: lexer, tokens: tokens)
        return (try parser.parseFormula(), lexer)
    }

    // MARK: Tokens

    private var token: Token { tokens[index] }
    private var previous: Token? { index > 0 ? tokens[index - 1] : nil }

    @discardableResult
    private mutating func advance() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    private func error(_ message: String, at position: SourcePosition) -> FormulaError {
        lexer.error(message, at: position)
    }

    /// The error for a token that cannot stand where it is; `wanted` says what was expected.
    private func unexpected(wanted: String) -> FormulaError {
        let after = previous.map { " after '\($0.text)'" } ?? ""
        let spot = previous.map { SourcePosition(line: $0.position.line, column: $0.endColumn) }
        switch token.kind {
        case .end:
            return error("unexpected end of formula\(after)", at: spot ?? token.position)
        case .newline:
            return error("unexpected end of line\(after)", at: spot ?? token.position)
        case .symbol(.assign):
            return error("unexpected '=' (write '==' to compare)", at: token.position)
        default:
            return error("expected \(wanted), found \(token.quoted)", at: token.position)
        }
    }

    private mutating func skipNewlines() {
        while token.kind == .newline { advance() }
    }

    private mutating func enter() throws(FormulaError) {
        nesting += 1
        if nesting > Self.maximumNesting {
            throw error("formula is nested too deeply (more than \(Self.maximumNesting) levels)", at: token.position)
        }
    }

    // MARK: Statements

    mutating func parseFormula() throws(FormulaError) -> [Statement] {
        var statements: [Statement] = []
        while true {
            skipNewlines()
            if token.kind == .end { return statements }
            statements.append(try parseStatement())
            switch token.kind {
            case .newline, .end: break
            case .symbol(.assign):
                throw error("unexpected '=' (write '==' to compare)", at: token.position)
            case .symbol(.rightParen):
                throw error("unmatched ')'", at: token.position)
            case .symbol(.rightBracket):
                throw error("unmatched ']'", at: token.position)
            default:
                throw error("expected end of line, found \(token.quoted)", at: token.position)
            }
        }
    }

    private mutating func parseStatement() throws(FormulaError) -> Statement {
        let start = token
        guard case .keyword(let keyword) = start.kind,
            [.input, .let, .signal, .column].contains(keyword)
        else {
            let e = try parseExpression()
            return Statement(kind: .expression(e), name: "", position: e.start, namePosition: e.start)
        }
        advance()
        guard case .name(let name) = token.kind else {
            if case .keyword(let word) = token.kind {
                throw error("'\(word.rawValue)' is a reserved word and cannot be a name", at: token.position)
            }
            throw unexpected(wanted: "a name after '\(keyword.rawValue)'")
        }
        let namePosition = advance().position
        guard token.isSymbol(.assign) else {
            throw unexpected(wanted: "'=' after '\(name)'")
        }
        advance()
        let kind: Statement.Kind
        switch keyword {
        case .input: kind = .input(try parseInputDefault(name))
        case .let: kind = .let(try parseExpression())
        case .signal: kind = .signal(try parseExpression())
        default: kind = .column(try parseExpression())
        }
        return Statement(kind: kind, name: name, position: start.position, namePosition: namePosition)
    }

    private mutating func parseInputDefault(_ name: String) throws(FormulaError) -> FormulaValue {
        var sign = 1.0
        if token.isSymbol(.minus) {
            advance()
            sign = -1
        }
        switch token.kind {
        case .number(let value):
            advance()
            return .number(sign * value)
        case .keyword(.true) where sign > 0:
            advance()
            return .bool(true)
        case .keyword(.false) where sign > 0:
            advance()
            return .bool(false)
        case .end, .newline:
            throw unexpected(wanted: "")
        default:
            throw error("input '\(name)' needs a number or true/false as its default", at: token.position)
        }
    }

    // MARK: Expressions

    mutating func parseExpression() throws(FormulaError) -> Expression {
        try enter()
        defer { nesting -= 1 }
        return try parseOr()
    }

    private func combine(
        _ op: BinaryOperator,
        _ lhs: Expression,
        _ rhs: Expression,
        at anchor: SourcePosition
    ) throws(FormulaError) -> Expression {
        let depth = max(lhs.depth, rhs.depth) + 1
        if depth > Self.maximumDepth {
            throw error(
                "formula is nested too deeply (expression longer than \(Self.maximumDepth) operations)",
                at: anchor
            )
        }
        return Expression(kind: .binary(op, lhs, rhs), start: lhs.start, anchor: anchor, depth: depth)
    }

    /// The operand after a binary operator, which may start on the next line.
    private mutating func operand<T>(_ parse: (inout Parser) throws(FormulaError) -> T) throws(FormulaError) -> T {
        skipNewlines()  // the lexer drops trailing newlines, so this never lands on the end
        return try parse(&self)
    }

    private mutating func parseOr() throws(FormulaError) -> Expression {
        var lhs = try parseAnd()
        while token.isKeyword(.or) {
            let op = advance()
            let rhs = try operand { (p: inout Parser) throws(FormulaError) in try p.parseAnd() }
            lhs = try combine(.or, lhs, rhs, at: op.position)
        }
        return lhs
    }

    private mutating func parseAnd() throws(FormulaError) -> Expression {
        var lhs = try parseNot()
        while token.isKeyword(.and) {
            let op = advance()
            let rhs = try operand { (p: inout Parser) throws(FormulaError) in try p.parseNot() }
            lhs = try combine(.and, lhs, rhs, at: op.position)
        }
        return lhs
    }

    private mutating func parseNot() throws(FormulaError) -> Expression {
        guard token.isKeyword(.not) else { return try parseComparison() }
        let op = advance()
        try enter()
        defer { nesting -= 1 }
        let inner = try operand { (p: inout Parser) throws(FormulaError) in try p.parseNot() }
        return Expression(kind: .not(inner), start: op.position, anchor: op.position, depth: inner.depth + 1)
    }

    private mutating func parseComparison() throws(FormulaError) -> Expression {
        let lhs = try parseAdditive()
        guard case .symbol(let symbol) = token.kind,
            let op = BinaryOperator(rawValue: symbol.rawValue), op.isComparison
        else { return lhs }
        let opToken = advance()
        let rhs = try operand { (p: inout Parser) throws(FormulaError) in try p.parseAdditive() }
        if case .symbol(let next) = token.kind, let again = BinaryOperator(rawValue: next.rawValue),
            again.isComparison
        {
            throw error("comparisons cannot be chained; combine them with 'and'", at: token.position)
        }
        return try combine(op, lhs, rhs, at: opToken.position)
    }

    private mutating func parseAdditive() throws(FormulaError) -> Expression {
        var lhs = try parseTerm()
        while token.isSymbol(.plus) || token.isSymbol(.minus) {
            let op = advance()
            let rhs = try operand { (p: inout Parser) throws(FormulaError) in try p.parseTerm() }
            lhs = try combine(op.isSymbol(.plus) ? .add : .subtract, lhs, rhs, at: op.position)
        }
        return lhs
    }

    private mutating func parseTerm() throws(FormulaError) -> Expression {
        var lhs = try parseUnary()
        while token.isSymbol(.star) || token.isSymbol(.slash) {
            let op = advance()
            let rhs = try operand { (p: inout Parser) throws(FormulaError) in try p.parseUnary() }
            lhs = try combine(op.isSymbol(.star) ? .multiply : .divide, lhs, rhs, at: op.position)
        }
        return lhs
    }

    private mutating func parseUnary() throws(FormulaError) -> Expression {
        guard token.isSymbol(.minus) else { return try parsePostfix() }
        let op = advance()
        try enter()
        defer { nesting -= 1 }
        let inner = try parseUnary()
        if case .number(let value) = inner.kind {
            return Expression(kind: .number(-value), start: op.position, anchor: op.position, depth: 1)
        }
        return Expression(kind: .negate(inner), start: op.position, anchor: op.position, depth: inner.depth + 1)
    }

    private mutating func parsePostfix() throws(FormulaError) -> Expression {
        var base = try parsePrimary()
        while token.isSymbol(.leftBracket) {
            let open = advance()
            let offset = try parseExpression()
            guard token.isSymbol(.rightBracket) else {
                if token.kind == .end {
                    throw error("'[' is never closed", at: open.position)
                }
                throw unexpected(wanted: "']'")
            }
            advance()
            let depth = max(base.depth, offset.depth) + 1
            if depth > Self.maximumDepth {
                throw error("formula is nested too deeply", at: open.position)
            }
            base = Expression(kind: .history(base, offset), start: base.start, anchor: open.position, depth: depth)
        }
        return base
    }

    private mutating func parsePrimary() throws(FormulaError) -> Expression {
        let t = token
        switch t.kind {
        case .number(let value):
            advance()
            return Expression(kind: .number(value), start: t.position, anchor: t.position, depth: 1)
        case .keyword(.true), .keyword(.false):
            advance()
            return Expression(kind: .boolean(t.isKeyword(.true)), start: t.position, anchor: t.position, depth: 1)
        case .name(let name):
            advance()
            guard token.isSymbol(.leftParen) else {
                return Expression(kind: .name(name), start: t.position, anchor: t.position, depth: 1)
            }
            return try parseCall(name, at: t.position)
        case .symbol(.leftParen):
            advance()
            let inner = try parseExpression()
            guard token.isSymbol(.rightParen) else {
                if token.kind == .end { throw error("'(' is never closed", at: t.position) }
                throw unexpected(wanted: "')'")
            }
            advance()
            return inner
        case .keyword(let word) where word == .input || word == .let || word == .signal || word == .column:
            throw error("'\(word.rawValue)' must start a line", at: t.position)
        case .symbol(.rightParen):
            throw error("unexpected ')'", at: t.position)
        case .symbol(.rightBracket):
            throw error("unexpected ']'", at: t.position)
        default:
            throw unexpected(wanted: "a value")
        }
    }

    private mutating func parseCall(_ name: String, at position: SourcePosition) throws(FormulaError) -> Expression {
        let open = advance()
        var arguments: [Expression] = []
        if token.isSymbol(.rightParen) {
            advance()
            return Expression(kind: .call(name, []), start: position, anchor: position, depth: 1)
        }
        while true {
            arguments.append(try parseExpression())
            if token.isSymbol(.comma) {
                advance()
                continue
            }
            if token.isSymbol(.rightParen) {
                advance()
                break
            }
            if token.kind == .end { throw error("'(' is never closed", at: open.position) }
            throw unexpected(wanted: "',' or ')'")
        }
        let depth = (arguments.map(\.depth).max() ?? 0) + 1
        if depth > Self.maximumDepth { throw error("formula is nested too deeply", at: position) }
        return Expression(kind: .call(name, arguments), start: position, anchor: position, depth: depth)
    }
}
