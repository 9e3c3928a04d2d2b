import Testing

@testable import ScanCore

/// The aggregator's order is DESIGN §4's (timestamp, then symbol, then signal; equal matches keep their
/// order) and its statistics count every match: checked against a plain stable sort of the matches.
@Suite struct SignalAggregatorTests {
    /// Results with many ties: shared timestamps, a symbol in two results, several signals at one bar.
    static func results(seed: UInt64) -> [SymbolResult] {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let symbols = ["005930", "000660", "035720", "INDA", "000660", "A", "a", "005930"]
        return symbols.enumerated().map { i, symbol in
            let matches = (0..<next(12)).map { k in
                SignalMatch(
                    symbol: symbol,
                    timestamp: BarTimestamp(
                        epochSeconds: Int64(1_700_000_000 + 86_400 * next(5)),
                        utcOffsetSeconds: 0,
                        isIntraday: false
                    ),
                    signal: ["golden", "dead", "up"][next(3)],
                    close: Double(i * 100 + k),
                    values: [:]
                )
            }
            return SymbolResult(symbol: symbol, matches: matches, barsScanned: 10)
        }
    }

    static func reference(_ results: [SymbolResult], _ order: SignalAggregator.SortOrder) -> [SignalMatch] {
        let flat = Array(results.flatMap(\.matches).enumerated())
        return flat.sorted { x, y in
            let (a, b) = (x.element, y.element)
            let time = (a.timestamp.epochSeconds, b.timestamp.epochSeconds)
            switch order {
            case .timestamp:
                if time.0 != time.1 { return time.0 < time.1 }
                if a.symbol != b.symbol { return a.symbol < b.symbol }
            case .symbol:
                if a.symbol != b.symbol { return a.symbol < b.symbol }
                if time.0 != time.1 { return time.0 < time.1 }
            }
            if a.signal != b.signal { return a.signal < b.signal }
            return x.offset < y.offset
        }.map(\.element)
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func ordersLikeAStableSortOfTheMatches(seed: UInt64) {
        let results = Self.results(seed: seed)
        for order in [SignalAggregator.SortOrder.timestamp, .symbol] {
            let signals = SignalAggregator.aggregate(results, sortBy: order)
            #expect(signals.matches == Self.reference(results, order))
            #expect(signals.totalMatches == results.reduce(0) { $0 + $1.matches.count })
            #expect(signals.totalSymbols == results.count)
            #expect(signals.symbolsWithMatches == results.filter { !$0.matches.isEmpty }.count)
        }
    }

    @Test func statisticsCountEveryMatchByDaySymbolAndSignal() {
        let signals = SignalAggregator.aggregate(Self.results(seed: 9))
        let stats = SignalAggregator.statistics(signals)
        var byDate: [String: Int] = [:]
        for m in signals.matches { byDate[m.timestamp.day.description, default: 0] += 1 }
        #expect(stats.total == signals.matches.count)
        #expect(stats.byDate == byDate)
        #expect(stats.bySymbol == Dictionary(grouping: signals.matches, by: \.symbol).mapValues(\.count))
        #expect(stats.bySignalType == Dictionary(grouping: signals.matches, by: \.signal).mapValues(\.count))
        #expect(SignalAggregator.aggregate([]).matches.isEmpty)
    }

    /// The per-result count the scan uses equals the per-match count of the sorted matches, for both
    /// orders the matches come in (a symbol in two results, days out of order within a result).
    @Test(arguments: [1, 2, 3, 9] as [UInt64])
    func statisticsOfResultsEqualStatisticsOfTheirMatches(seed: UInt64) {
        let results = Self.results(seed: seed) + [SymbolResult(symbol: "ZZZ", error: "unknown symbol 'ZZZ'")]
        let stats = SignalAggregator.statistics(of: results)
        #expect(stats == SignalAggregator.statistics(SignalAggregator.aggregate(results)))
        #expect(stats == SignalAggregator.statistics(SignalAggregator.aggregate(results, sortBy: .symbol)))
        #expect(stats.bySymbol["ZZZ"] == nil)
        #expect(SignalAggregator.statistics(of: []) == SignalStatistics())
    }

    @Test func daysFormatAsYYYYMMDDInEveryYear() {
        for (y, m, d, text) in [
            (2024, 2, 29, "2024-02-29"), (1970, 1, 1, "1970-01-01"), (9, 12, 31, "0009-12-31"),
            (9999, 12, 31, "9999-12-31"), (10_000, 1, 1, "10000-01-01"),
        ] {
            #expect(CalendarDay(year: y, month: m, day: d)?.description == text)
        }
    }
}
