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
        // Sorts small keys rather than the matches themselves (each a struct of strings and a
        // dictionary, costly to move), then gathers the matches in key order: one copy each. The last
        // key is the match's position in the input, so equal matches keep their order (a stable sort).
        struct Key {
            var epoch: Int64
            var symbolRank: Int32
            var result: Int32
            var match: Int32
            var position: Int32
        }
        // Each result's symbol as its rank among the symbols (equal symbols, equal ranks).
        let bySymbol = results.indices.sorted { results[$0].symbol < results[$1].symbol }
        var rank = [Int32](repeating: 0, count: results.count)
        var current: Int32 = -1
        for (k, i) in bySymbol.enumerated() {
            if k == 0 || results[bySymbol[k - 1]].symbol != results[i].symbol { current += 1 }
            rank[i] = current
        }
        var keys: [Key] = []
        keys.reserveCapacity(results.reduce(0) { $0 + $1.matches.count })
        var withMatches = 0
        for (r, result) in results.enumerated() {
            if !result.matches.isEmpty { withMatches += 1 }
            for (m, match) in result.matches.enumerated() {
                keys.append(
                    Key(
                        epoch: match.timestamp.epochSeconds,
                        symbolRank: rank[r],
                        result: Int32(r),
                        match: Int32(m),
                        position: Int32(keys.count)
                    )
                )
            }
        }
        func signal(_ k: Key) -> String { results[Int(k.result)].matches[Int(k.match)].signal }
        switch order {
        case .timestamp:
            keys.sort { a, b in
                if a.epoch != b.epoch { return a.epoch < b.epoch }
                if a.symbolRank != b.symbolRank { return a.symbolRank < b.symbolRank }
                let (x, y) = (signal(a), signal(b))
                if x != y { return x < y }
                return a.position < b.position
            }
        case .symbol:
            keys.sort { a, b in
                if a.symbolRank != b.symbolRank { return a.symbolRank < b.symbolRank }
                if a.epoch != b.epoch { return a.epoch < b.epoch }
                let (x, y) = (signal(a), signal(b))
                if x != y { return x < y }
                return a.position < b.position
            }
        }
        let matches = keys.map { results[Int($0.result)].matches[Int($0.match)] }
        return AggregatedSignals(
            totalSymbols: results.count,
            symbolsWithMatches: withMatches,
            totalMatches: matches.count,
            matches: matches
        )
    }

    public static func statistics(_ signals: AggregatedSignals) -> SignalStatistics {
        var stats = SignalStatistics(total: signals.matches.count)
        // Dates are counted by day and formatted once per distinct day.
        var byDay: [CalendarDay: Int] = [:]
        for m in signals.matches {
            stats.bySymbol[m.symbol, default: 0] += 1
            byDay[m.timestamp.day, default: 0] += 1
            stats.bySignalType[m.signal, default: 0] += 1
        }
        stats.byDate.reserveCapacity(byDay.count)
        for (day, count) in byDay { stats.byDate[day.description, default: 0] += count }
        return stats
    }
}
