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
        var counter = StatisticsCounter(total: signals.matches.count)
        for m in signals.matches {
            counter.stats.bySymbol[m.symbol, default: 0] += 1
            counter.count(m)
        }
        return counter.finished()
    }

    /// ``statistics(_:)`` of the matches of `results` (the same counts), counted per result: one
    /// dictionary update per symbol instead of one per match.
    public static func statistics(of results: [SymbolResult]) -> SignalStatistics {
        var counter = StatisticsCounter(total: results.reduce(0) { $0 + $1.matches.count })
        for r in results where !r.matches.isEmpty {
            counter.stats.bySymbol[r.symbol, default: 0] += r.matches.count
            for m in r.matches { counter.count(m) }
        }
        return counter.finished()
    }
}

/// Counts matches per date and per signal. Dates are counted in runs of equal days (matches come
/// sorted by time, or grouped by symbol in time order) and formatted once per distinct day; signals
/// (a formula has a few) in a short list searched in order.
private struct StatisticsCounter {
    var stats: SignalStatistics
    private var byDay: [CalendarDay: Int] = [:]
    private var day: CalendarDay?
    private var run = 0
    private var signals: [(name: String, count: Int)] = []

    init(total: Int) {
        stats = SignalStatistics(total: total)
    }

    mutating func count(_ m: SignalMatch) {
        let d = m.timestamp.day
        if d == day {
            run += 1
        } else {
            flushDay()
            day = d
            run = 1
        }
        if let i = signals.firstIndex(where: { $0.name == m.signal }) {
            signals[i].count += 1
        } else {
            signals.append((m.signal, 1))
        }
    }

    private mutating func flushDay() {
        if let day, run > 0 { byDay[day, default: 0] += run }
        run = 0
    }

    mutating func finished() -> SignalStatistics {
        flushDay()
        stats.byDate.reserveCapacity(byDay.count)
        for (day, count) in byDay { stats.byDate[day.description, default: 0] += count }
        for (name, count) in signals { stats.bySignalType[name, default: 0] += count }
        return stats
    }
}
