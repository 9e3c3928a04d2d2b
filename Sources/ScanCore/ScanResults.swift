/// A bar where a signal fired.
public struct SignalMatch: Sendable, Hashable, Codable {
    public var symbol: String
    public var timestamp: BarTimestamp
    public var signal: String
    public var close: Double
    /// The formula's `column` values at this bar, by column name (NaN when undefined).
    public var values: [String: Double]
    /// What happened after this bar, when the scan ran an event study.
    public var forward: ForwardOutcome?

    public init(
        symbol: String,
        timestamp: BarTimestamp,
        signal: String,
        close: Double,
        values: [String: Double] = [:],
        forward: ForwardOutcome? = nil
    ) {
        self.symbol = symbol
        self.timestamp = timestamp
        self.signal = signal
        self.close = close
        self.values = values
        self.forward = forward
    }

    public static func == (a: SignalMatch, b: SignalMatch) -> Bool {
        a.symbol == b.symbol && a.timestamp == b.timestamp && a.signal == b.signal
            && a.close.bitPattern == b.close.bitPattern && a.forward == b.forward
            && a.values.count == b.values.count
            && a.values.allSatisfy { k, v in
                guard let w = b.values[k] else { return false }
                return v == w || (v.isNaN && w.isNaN)
            }
    }

    public func hash(into h: inout Hasher) {
        h.combine(symbol)
        h.combine(timestamp)
        h.combine(signal)
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
