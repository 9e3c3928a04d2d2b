import ScanCore
import ScanProtocol

/// What the HTML report shows beyond the result document: the scan as asked, names, and the price
/// history of the symbols it charts.
public struct ReportInputs: Sendable {
    public var formula: Formula
    /// How the universe was chosen, in words (`market KOSPI`, `symbols 005930, 000660`).
    public var universe: String
    public var timeframe: Timeframe
    public var dateRange: DateRange?
    public var mode: ScanMode
    /// Display names by symbol.
    public var names: [String: String]
    /// The formula's columns in declaration order (`nil`: every column that occurs, sorted).
    public var columns: [String]?
    /// Closing prices of the charted symbols over the range, by symbol.
    public var prices: [String: PriceHistory]
    /// Why there are no price charts, when there are none.
    public var pricesNote: String?

    public init(
        formula: Formula,
        universe: String,
        timeframe: Timeframe,
        dateRange: DateRange?,
        mode: ScanMode,
        names: [String: String] = [:],
        columns: [String]? = nil,
        prices: [String: PriceHistory] = [:],
        pricesNote: String? = nil
    ) {
        self.formula = formula
        self.universe = universe
        self.timeframe = timeframe
        self.dateRange = dateRange
        self.mode = mode
        self.names = names
        self.columns = columns
        self.prices = prices
        self.pricesNote = pricesNote
    }

    /// How `criteria` reads in the report's header.
    public static func describe(_ c: SymbolCriteria) -> String {
        if let s = c.symbols, !s.isEmpty { return "symbols " + s.joined(separator: ", ") }
        var parts: [String] = []
        if let m = c.markets, !m.isEmpty { parts.append("market " + m.joined(separator: ", ")) }
        if let s = c.sectors, !s.isEmpty { parts.append("sector " + s.joined(separator: ", ")) }
        if let lo = c.minMarketCap { parts.append("market cap ≥ \(NumberFormat.grouped(lo))") }
        if let hi = c.maxMarketCap { parts.append("market cap ≤ \(NumberFormat.grouped(hi))") }
        var text = parts.isEmpty ? "every active symbol" : parts.joined(separator: "; ")
        if !c.exclude.isEmpty { text += "; excluding " + c.exclude.joined(separator: ", ") }
        return text
    }

    /// The symbols the report charts: the `count` with the most matches (ties by symbol).
    public static func chartedSymbols(_ doc: ResultDocument, count: Int = 6) -> [String] {
        var n: [String: Int] = [:]
        for m in doc.signals.matches { n[m.symbol, default: 0] += 1 }
        return n.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(count).map(\.key)
    }

    /// Loads the closes of `symbols` over `range` from `bars`. Blocking: call it off the cooperative
    /// pool. Symbols that cannot be read are left out.
    public static func loadPrices(
        _ symbols: [String],
        bars: any BarRepository,
        timeframe: Timeframe,
        range: DateRange
    ) -> [String: PriceHistory] {
        var out: [String: PriceHistory] = [:]
        for s in symbols {
            guard
                let series = try? bars.loadBars(
                    BarQuery(symbol: s, timeframe: timeframe, range: range, lookbackBars: 0)
                )
            else { continue }
            let span = series.indices(in: range)
            out[s] = PriceHistory(
                timestamps: span.map { series.timestamp(at: $0).description },
                closes: span.map { series.columns.close[$0] }
            )
        }
        return out
    }
}

/// A symbol's closes, oldest first, with the timestamps as the result writes them.
public struct PriceHistory: Sendable, Hashable {
    public var timestamps: [String]
    public var closes: [Double]

    public init(timestamps: [String], closes: [Double]) {
        self.timestamps = timestamps
        self.closes = closes
    }
}
