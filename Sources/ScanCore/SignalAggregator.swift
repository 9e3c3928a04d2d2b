/// Every match of a scan, sorted, with counts.
public struct AggregatedSignals: Sendable, Hashable, Codable {
    public var totalSymbols: Int
    public var symbolsWithMatches: Int
    public var totalMatches: Int
    public var matches: [SignalMatch]

    public init(totalSymbols: Int = 0, symbolsWithMatches: Int = 0, totalMatches: Int = 0, matches: [SignalMatch] = [])
    {
        self.totalSymbols = totalSymbols
        self.symbolsWithMatches = symbolsWithMatches
        self.totalMatches = totalMatches
        self.matches = matches
    }
}

/// Match counts: in all, per symbol, per session date (`YYYY-MM-DD`) and per signal.
public struct SignalStatistics: Sendable, Hashable, Codable {
    public var total: Int
    public var bySymbol: [String: Int]
    public var byDate: [String: Int]
    public var bySignalType: [String: Int]

    public init(
        total: Int = 0,
        bySymbol: [String: Int] = [:],
        byDate: [String: Int] = [:],
        bySignalType: [String: Int] = [:]
    ) {
        self.total = total
        self.bySymbol = bySymbol
        self.byDate = byDate
        self.bySignalType = bySignalType
    }
}

/// Merges per-symbol results into one sorted list of matches and its statistics.
public enum SignalAggregator {
    /// How matches are ordered. The contract (DESIGN §4) is timestamp, then symbol, then signal.
    public enum SortOrder: Sendable {
        case timestamp
        case symbol
    }

    public static func aggregate(_ results: [SymbolResult], sortBy order: SortOrder = .timestamp) -> AggregatedSignals {
        var matches: [SignalMatch] = []
        matches.reserveCapacity(results.reduce(0) { $0 + $1.matches.count })
        var withMatches = 0
        for r in results {
            if !r.matches.isEmpty { withMatches += 1 }
            matches.append(contentsOf: r.matches)
        }
        switch order {
        case .timestamp:
            matches.sort { a, b in
                if a.timestamp.epochSeconds != b.timestamp.epochSeconds {
                    return a.timestamp.epochSeconds < b.timestamp.epochSeconds
                }
                if a.symbol != b.symbol { return a.symbol < b.symbol }
                return a.signal < b.signal
            }
        case .symbol:
            matches.sort { a, b in
                if a.symbol != b.symbol { return a.symbol < b.symbol }
                if a.timestamp.epochSeconds != b.timestamp.epochSeconds {
                    return a.timestamp.epochSeconds < b.timestamp.epochSeconds
                }
                return a.signal < b.signal
            }
        }
        return AggregatedSignals(
            totalSymbols: results.count,
            symbolsWithMatches: withMatches,
            totalMatches: matches.count,
            matches: matches
        )
    }

    public static func statistics(_ signals: AggregatedSignals) -> SignalStatistics {
        var stats = SignalStatistics(total: signals.matches.count)
        for m in signals.matches {
            stats.bySymbol[m.symbol, default: 0] += 1
            stats.byDate[m.timestamp.day.description, default: 0] += 1
            stats.bySignalType[m.signal, default: 0] += 1
        }
        return stats
    }
}
