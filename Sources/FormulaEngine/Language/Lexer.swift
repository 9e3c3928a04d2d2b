/// Turns formula source into tokens.
///
/// Newlines end statements, except inside parentheses or brackets (an expression may span lines
/// there). `#` starts a comment that runs to the end of the line. Identifiers are ASCII letters,
/// digits and `_`; numbers are decimal (`12`, `1.5`, `.5`, `2e6`).
struct Lexer {
    private let characters: [Character]
    private var index = 0
    private var line = 1
    private var column = 1
    private var nesting = 0
    let lines: [String]

    init(source: String) {
        characters = Array(source)
        lines = source.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
    }

    func sourceLine(_ line: Int) -> String {
        line >= 1 && line <= lines.count ? lines[line - 1] : ""
    }

    func error(_ message: String, at position: SourcePosition) -> FormulaError {
        FormulaError(
            message: message,
            line: position.line,
            column: position.column,
            sourceLine: sourceLine(position.line)
        )
    }

    /// Every token of the source, ending with `.end`.
    mutating func tokenize() throws(FormulaError) -> [Token] {
        var tokens: [Token] = []
        while true {
            let token = try next()
            if token.kind == .newline, tokens.last.map({ $0.kind == .newline }) ?? true {
                continue  // blank lines and leading newlines carry nothing
            }
            if token.kind == .end {
                if tokens.last?.kind == .newline { tokens.removeLast() }
                tokens.append(token)
                return tokens
            }
            tokens.append(token)
        }
    }

    private var current: Character? { index < characters.count ? characters[index] : nil }
    private var following: Character? { index + 1 < characters.count ? characters[index + 1] : nil }

    private mutating func advance() {
        if let c = current, c.isNewline {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private static func isDigit(_ c: Character?) -> Bool {
        guard let c, c.isASCII else { return false }
        return c.isWholeNumber
    }

    private static func isNameStart(_ c: Character?) -> Bool {
        guard let c, c.isASCII else { return false }
        return c.isLetter || c == "_"
    }

    private static func isNamePart(_ c: Character?) -> Bool { isNameStart(c) || isDigit(c) }

    private mutating func next() throws(FormulaError) -> Token {
        while let c = current {
            if c == "#" {
                while let d = current, !d.isNewline { advance() }
            } else if c.isNewline {
                let start = SourcePosition(line: line, column: column)
                advance()
                if nesting == 0 {
                    return Token(kind: .newline, text: "\n", position: start, endColumn: start.column + 1)
                }
            } else if c.isWhitespace {
                advance()
            } else {
                break
            }
        }
        let start = SourcePosition(line: line, column: column)
        guard let c = current else {
            return Token(kind: .end, text: "", position: start, endColumn: start.column)
        }
        let startIndex = index
        func text() -> String { String(characters[startIndex..<index]) }

        if Self.isNameStart(c) {
            while Self.isNamePart(current) { advance() }
            let word = text()
            let kind: Token.Kind = Keyword(rawValue: word).map { .keyword($0) } ?? .name(word)
            return Token(kind: kind, text: word, position: start, endColumn: column)
        }
        if Self.isDigit(c) || (c == "." && Self.isDigit(following)) {
            while Self.isDigit(current) { advance() }
            if current == ".", Self.isDigit(following) {
                advance()
                while Self.isDigit(current) { advance() }
            }
            if current == "e" || current == "E" {
                let signed = following == "+" || following == "-"
                let afterSign = index + 2 < characters.count ? characters[index + 2] : nil
                if Self.isDigit(following) || (signed && Self.isDigit(afterSign)) {
                    advance()
                    if signed { advance() }
                    while Self.isDigit(current) { advance() }
                }
            }
            let literal = text()
            guard let value = Double(literal) else {
                throw error("'\(literal)' is not a number", at: start)
            }
            return Token(kind: .number(value), text: literal, position: start, endColumn: column)
        }

        advance()
        let two: String? = current.map { String(c) + String($0) }
        if let two, let symbol = Symbol(rawValue: two) {
            advance()
            return Token(kind: .symbol(symbol), text: two, position: start, endColumn: column)
        }
        if let symbol = Symbol(rawValue: String(c)) {
            switch symbol {
            case .leftParen, .leftBracket: nesting += 1
            case .rightParen, .rightBracket: nesting = max(0, nesting - 1)
            default: break
            }
            return Token(kind: .symbol(symbol), text: String(c), position: start, endColumn: column)
        }
        switch two {
        case "&&": throw error("unexpected '&&' (write 'and')", at: start)
        case "||": throw error("unexpected '||' (write 'or')", at: start)
        default: break
        }
        if c == "!" { throw error("unexpected character '!' (write 'not', or '!=' to compare)", at: start) }
        throw error("unexpected character \(Self.describe(c))", at: start)
    }

    /// `'@'` for a visible character, `U+0007` for anything else.
    static func describe(_ c: Character) -> String {
        if c.isLetter || c.isNumber || c.isPunctuation || c.isSymbol {
            return "'\(c)'"
        }
        let scalar = c.unicodeScalars.first?.value ?? 0
        let hex = String(scalar, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
