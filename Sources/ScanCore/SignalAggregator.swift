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

    public static func aggregate(
        _ results: [SymbolResult],
        sortBy sortOrder: SortOrder = .timestamp
    ) -> AggregatedSignals {
        // Sorts positions of small keys rather than the matches themselves (each a struct of strings,
        // column values and a forward outcome, costly to move), then copies each match to its place
        // once.
        struct Key {
            var epoch: Int64
            var symbolRank: Int32
            var signalRank: Int32
        }
        // Each result's symbol as its rank among the symbols (equal symbols, equal ranks).
        let bySymbol = results.indices.sorted { results[$0].symbol < results[$1].symbol }
        var rank = [Int32](repeating: 0, count: results.count)
        var current: Int32 = -1
        for (k, i) in bySymbol.enumerated() {
            if k == 0 || results[bySymbol[k - 1]].symbol != results[i].symbol { current += 1 }
            rank[i] = current
        }
        // Each match's signal as its rank among the signal names (a formula has a few): the sort
        // compares integers only. The key's place in `keys` (its input position) breaks ties, so equal
        // matches keep their order (a stable sort).
        var signalNames: [String] = []
        var signalIds: [Int32] = []
        var withMatches = 0
        var count = 0
        for result in results {
            if !result.matches.isEmpty { withMatches += 1 }
            count += result.matches.count
            result.matches.withUnsafeBufferPointer { all in
                for i in all.indices {
                    if let id = signalNames.firstIndex(of: all[i].signal) {
                        signalIds.append(Int32(id))
                    } else {
                        signalIds.append(Int32(signalNames.count))
                        signalNames.append(all[i].signal)
                    }
                }
            }
        }
        let byName = signalNames.indices.sorted { signalNames[$0] < signalNames[$1] }
        var signalRank = [Int32](repeating: 0, count: signalNames.count)
        for (k, i) in byName.enumerated() {
            signalRank[i] = Int32(k)  // the names are distinct
        }
        var keys: [Key] = []
        keys.reserveCapacity(count)
        for (r, result) in results.enumerated() {
            result.matches.withUnsafeBufferPointer { all in
                for i in all.indices {
                    keys.append(
                        Key(
                            epoch: all[i].timestamp.epochSeconds,
                            symbolRank: rank[r],
                            signalRank: signalRank[Int(signalIds[keys.count])]
                        )
                    )
                }
            }
        }
        // Positions in `keys` sorted by key: a total order (the position last), so an unstable sort
        // of integers gives the stable order.
        var order = Array(0..<Int32(keys.count))
        keys.withUnsafeBufferPointer { k in
            switch sortOrder {
            case .timestamp:
                order.sort { a, b in
                    let (x, y) = (k[Int(a)], k[Int(b)])
                    return (x.epoch, x.symbolRank, x.signalRank, a) < (y.epoch, y.symbolRank, y.signalRank, b)
                }
            case .symbol:
                order.sort { a, b in
                    let (x, y) = (k[Int(a)], k[Int(b)])
                    return (x.symbolRank, x.epoch, x.signalRank, a) < (y.symbolRank, y.epoch, y.signalRank, b)
                }
            }
        }
        // Each match's place in the sorted list, then every match copied to its place in input order
        // (each result's array read front to back). Gathered in sorted order, the reads jumped from
        // symbol to symbol, a cache miss or more a match: most of this function's time in a profile.
        var place = [Int32](repeating: 0, count: order.count)
        for (k, i) in order.enumerated() { place[Int(i)] = Int32(k) }
        let matches = [SignalMatch](unsafeUninitializedCapacity: order.count) { buffer, initialized in
            var i = 0
            for result in results {
                result.matches.withUnsafeBufferPointer { all in
                    for m in all {
                        buffer.initializeElement(at: Int(place[i]), to: m)
                        i += 1
                    }
                }
            }
            // `order` is a permutation of the positions, so every element was written once.
            initialized = i
        }
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
