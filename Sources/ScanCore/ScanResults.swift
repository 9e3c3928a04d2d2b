/// A bar where a signal fired.
public struct SignalMatch: Sendable, Hashable, Codable {
    public var symbol: String
    public var timestamp: BarTimestamp
    public var signal: String
    public var close: Double
    /// The formula's `column` values, held without a heap object for the usual one column
    /// (``MatchColumns``): a scan's tens of thousands of matches are built, copied and written
    /// without allocating or retaining a dictionary each.
    package var columns: MatchColumns
    /// What happened after this bar, when the scan ran an event study.
    public var forward: ForwardOutcome?

    /// The formula's `column` values at this bar, by column name (NaN when undefined).
    public var values: [String: Double] {
        get { columns.dictionary }
        set { columns = MatchColumns(newValue) }
    }

    public init(
        symbol: String,
        timestamp: BarTimestamp,
        signal: String,
        close: Double,
        values: [String: Double] = [:],
        forward: ForwardOutcome? = nil
    ) {
        self.init(
            symbol: symbol,
            timestamp: timestamp,
            signal: signal,
            close: close,
            columns: MatchColumns(values),
            forward: forward
        )
    }

    package init(
        symbol: String,
        timestamp: BarTimestamp,
        signal: String,
        close: Double,
        columns: MatchColumns,
        forward: ForwardOutcome? = nil
    ) {
        self.symbol = symbol
        self.timestamp = timestamp
        self.signal = signal
        self.close = close
        self.columns = columns
        self.forward = forward
    }

    enum CodingKeys: String, CodingKey {
        case symbol, timestamp, signal, close, values, forward
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            symbol: try c.decode(String.self, forKey: .symbol),
            timestamp: try c.decode(BarTimestamp.self, forKey: .timestamp),
            signal: try c.decode(String.self, forKey: .signal),
            close: try c.decode(Double.self, forKey: .close),
            values: try c.decode([String: Double].self, forKey: .values),
            forward: try c.decodeIfPresent(ForwardOutcome.self, forKey: .forward)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(symbol, forKey: .symbol)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(signal, forKey: .signal)
        try c.encode(close, forKey: .close)
        try c.encode(values, forKey: .values)
        try c.encodeIfPresent(forward, forKey: .forward)
    }

    public static func == (a: SignalMatch, b: SignalMatch) -> Bool {
        a.symbol == b.symbol && a.timestamp == b.timestamp && a.signal == b.signal
            && a.close.bitPattern == b.close.bitPattern && a.forward == b.forward
            && a.columns.count == b.columns.count
            && a.columns.allSatisfy { k, v in
                guard let w = b.columns.value(k) else { return false }
                return v == w || (v.isNaN && w.isNaN)
            }
    }

    public func hash(into h: inout Hasher) {
        h.combine(symbol)
        h.combine(timestamp)
        h.combine(signal)
    }
}

/// A match's column values by name: none (a formula without `column`s), one, stored inline (no heap
/// object when the name is a small string), or more in a dictionary. Always the smallest case that
/// holds them, so equal values have equal cases.
package enum MatchColumns: Sendable {
    case none
    case one(name: String, value: Double)
    case many([String: Double])

    package init(_ values: [String: Double]) {
        if values.count > 1 {
            self = .many(values)
            return
        }
        self = .none
        for (name, value) in values { self = .one(name: name, value: value) }
    }

    /// How many columns.
    package var count: Int {
        switch self {
        case .none: 0
        case .one: 1
        case .many(let d): d.count
        }
    }

    /// The value of column `name`, `nil` when there is no such column.
    package func value(_ name: String) -> Double? {
        switch self {
        case .none: nil
        case .one(let n, let v): n == name ? v : nil
        case .many(let d): d[name]
        }
    }

    /// Whether `body` holds for every (name, value), in the dictionary's order.
    package func allSatisfy(_ body: (String, Double) -> Bool) -> Bool {
        switch self {
        case .none: true
        case .one(let n, let v): body(n, v)
        case .many(let d): d.allSatisfy { body($0.key, $0.value) }
        }
    }

    /// Calls `body` with every (name, value), in the dictionary's order.
    package func forEachColumn(_ body: (String, Double) -> Void) {
        switch self {
        case .none: break
        case .one(let n, let v): body(n, v)
        case .many(let d): for (k, v) in d { body(k, v) }
        }
    }

    /// The values as a dictionary.
    package var dictionary: [String: Double] {
        switch self {
        case .none: [:]
        case .one(let n, let v): [n: v]
        case .many(let d): d
        }
    }
}

/// What scanning one symbol produced.
public struct SymbolResult: Sendable, Hashable, Codable {
    public var symbol: String
    public var matches: [SignalMatch]
    /// Why this symbol could not be scanned (unknown symbol, unreadable data…); the scan goes on.
    public var error: String?
    public var barsScanned: Int
    /// This symbol's part of the event study's baseline, when the scan ran a study.
    public var baseline: BaselineSums?
    /// This symbol's part of the condition funnel, when the scan was explained.
    public var funnel: FunnelCounts?

    public init(
        symbol: String,
        matches: [SignalMatch] = [],
        error: String? = nil,
        barsScanned: Int = 0,
        baseline: BaselineSums? = nil,
        funnel: FunnelCounts? = nil
    ) {
        self.symbol = symbol
        self.matches = matches
        self.error = error
        self.barsScanned = barsScanned
        self.baseline = baseline
        self.funnel = funnel
    }
}

/// A symbol that could not be scanned, and why.
public struct SymbolError: Sendable, Hashable, Codable {
    public var symbol: String
    public var message: String

    public init(symbol: String, message: String) {
        self.symbol = symbol
        self.message = message
    }
}

/// Progress of a job: symbols finished out of the total, and matches found so far.
public struct ScanProgress: Sendable, Hashable, Codable {
    public var completed: Int
    public var total: Int
    public var matchesSoFar: Int

    public init(completed: Int = 0, total: Int = 0, matchesSoFar: Int = 0) {
        self.completed = completed
        self.total = total
        self.matchesSoFar = matchesSoFar
    }
}
