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

    /// The length of the shortest of `fields`' columns and `close` (always read: a match reports
    /// its close): the bars an evaluation reading `fields` covers. A column the plan does not read
    /// may be left empty (a store loads only what a plan reads: ``FormulaPlan/fields``).
    func commonCount(reading fields: PriceFields) -> Int {
        var n = close.count
        if fields.contains(.open) { n = Swift.min(n, open.count) }
        if fields.contains(.high) { n = Swift.min(n, high.count) }
        if fields.contains(.low) { n = Swift.min(n, low.count) }
        if fields.contains(.volume) { n = Swift.min(n, volume.count) }
        return n
    }

    /// The fields among `fields` whose columns hold fewer than `count` values (none: all loaded).
    public func missing(_ fields: PriceFields, count: Int) -> PriceFields {
        var out: PriceFields = []
        if fields.contains(.open), open.count < count { out.insert(.open) }
        if fields.contains(.high), high.count < count { out.insert(.high) }
        if fields.contains(.low), low.count < count { out.insert(.low) }
        if fields.contains(.close), close.count < count { out.insert(.close) }
        if fields.contains(.volume), volume.count < count { out.insert(.volume) }
        return out
    }
}

/// A set of price columns: what a formula reads, what a store loads.
public struct PriceFields: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let open = PriceFields(rawValue: 1 << 0)
    public static let high = PriceFields(rawValue: 1 << 1)
    public static let low = PriceFields(rawValue: 1 << 2)
    public static let close = PriceFields(rawValue: 1 << 3)
    public static let volume = PriceFields(rawValue: 1 << 4)
    /// Every column.
    public static let all: PriceFields = [.open, .high, .low, .close, .volume]

    /// The names of the columns, in `open high low close volume` order (`open, volume`).
    public var description: String {
        let names: [(PriceFields, String)] = [
            (.open, "open"), (.high, "high"), (.low, "low"), (.close, "close"), (.volume, "volume"),
        ]
        return names.filter { contains($0.0) }.map(\.1).joined(separator: ", ")
    }
}
