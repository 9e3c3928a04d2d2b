// The value types of FormulaEngine's public surface (the plan and evaluator are in their own files).

/// A value of a formula `input`, either its default or a request parameter overriding it.
public enum FormulaValue: Sendable, Hashable, Codable {
    case number(Double)
    case bool(Bool)
}

/// An error in a formula that a person can act on: where it is, what is wrong, and a hint.
public struct FormulaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message without location, e.g. `unknown function 'smaa' — did you mean 'sma'?`.
    public var message: String
    /// 1-based line of the offending spot.
    public var line: Int
    /// 1-based column of the offending spot (in characters).
    public var column: Int
    /// The full source line, for the caret display.
    public var sourceLine: String

    public init(message: String, line: Int, column: Int, sourceLine: String) {
        self.message = message
        self.line = line
        self.column = column
        self.sourceLine = sourceLine
    }

    /// `line L, column C: message`, then the source line and a caret under the spot.
    public var description: String {
        let caret = String(repeating: " ", count: max(0, column - 1)) + "^"
        return "line \(line), column \(column): \(message)\n  \(sourceLine)\n  \(caret)"
    }
}

/// The contiguous price columns of one symbol, oldest bar first. All arrays have the same count.
public struct PriceColumns: Sendable {
    public var open: [Double]
    public var high: [Double]
    public var low: [Double]
    public var close: [Double]
    public var volume: [Double]

    public init(open: [Double], high: [Double], low: [Double], close: [Double], volume: [Double]) {
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }

    public var count: Int { close.count }

    /// The length of the shortest column: the bars an evaluation covers.
    var commonCount: Int { Swift.min(open.count, high.count, low.count, close.count, volume.count) }
}
