/// What a symbol listing asks for (`scan data symbols`, the `LIST_SYMBOLS` verb): filters that all
/// apply, then a page.
///
/// `symbols` keeps only the named symbols; `markets` and `sectors` keep symbols in any of the listed
/// values (case-insensitive); `search` keeps symbols whose code or name contains the text
/// (case-insensitive). Empty lists and a `nil` search mean "no filter". Inactive symbols are listed
/// (with ``SymbolInfo/active`` false). Symbols are ordered by code.
public struct SymbolQuery: Sendable, Hashable {
    public var symbols: [String]
    public var markets: [String]
    public var sectors: [String]
    public var search: String?
    /// Symbols to skip (after filtering).
    public var offset: Int
    /// At most this many symbols; `nil` for all.
    public var limit: Int?

    public init(
        symbols: [String] = [],
        markets: [String] = [],
        sectors: [String] = [],
        search: String? = nil,
        offset: Int = 0,
        limit: Int? = nil
    ) {
        self.symbols = symbols
        self.markets = markets
        self.sectors = sectors
        self.search = search
        self.offset = offset
        self.limit = limit
    }

    /// Whether `info` passes every filter.
    public func matches(_ info: SymbolInfo) -> Bool {
        if !symbols.isEmpty && !symbols.contains(info.symbol) { return false }
        if !markets.isEmpty && !markets.contains(where: { $0.lowercased() == info.market.lowercased() }) {
            return false
        }
        if !sectors.isEmpty && !sectors.contains(where: { $0.lowercased() == info.sector.lowercased() }) {
            return false
        }
        if let search, !search.isEmpty {
            let text = search.lowercased()
            if !info.symbol.lowercased().contains(text) && !info.name.lowercased().contains(text) { return false }
        }
        return true
    }

    /// Applies the query to a catalogue: the page of matching symbols, how many matched in all, and
    /// the markets and sectors of the whole catalogue (so a client can offer the choices).
    public func apply(to all: [ListedSymbol]) -> SymbolListing {
        let matching = all.filter { matches($0.info) }.sorted { $0.info.symbol < $1.info.symbol }
        let start = min(max(offset, 0), matching.count)
        let end = limit.map { min(matching.count, start + max($0, 0)) } ?? matching.count
        func distinct(_ values: [String]) -> [String] { Set(values.filter { !$0.isEmpty }).sorted() }
        return SymbolListing(
            symbols: Array(matching[start..<end]),
            total: matching.count,
            markets: distinct(all.map(\.info.market)),
            sectors: distinct(all.map(\.info.sector))
        )
    }
}

/// The bars stored for one symbol and stored timeframe.
public struct StoredBarRange: Sendable, Hashable {
    public var timeframe: Timeframe
    /// The first and last bar (epoch seconds: midnight UTC of the date for daily bars).
    public var first: Int64
    public var last: Int64
    public var count: Int

    public init(timeframe: Timeframe, first: Int64, last: Int64, count: Int) {
        self.timeframe = timeframe
        self.first = first
        self.last = last
        self.count = count
    }
}

/// A symbol with the bars stored for it.
public struct ListedSymbol: Sendable, Hashable {
    public var info: SymbolInfo
    /// One entry per stored timeframe that has bars, `1d` first.
    public var bars: [StoredBarRange]

    public init(info: SymbolInfo, bars: [StoredBarRange] = []) {
        self.info = info
        self.bars = bars
    }
}

/// The answer to a ``SymbolQuery``.
public struct SymbolListing: Sendable, Hashable {
    /// The page of matching symbols, by code.
    public var symbols: [ListedSymbol]
    /// How many symbols matched (before the page was cut).
    public var total: Int
    /// Every market and sector of the catalogue (not only of the matches), sorted, without blanks.
    public var markets: [String]
    public var sectors: [String]

    public init(symbols: [ListedSymbol], total: Int, markets: [String], sectors: [String]) {
        self.symbols = symbols
        self.total = total
        self.markets = markets
        self.sectors = sectors
    }
}

/// A catalogue that can list its symbols with their stored bars.
public protocol SymbolCatalog: Sendable {
    /// The symbols matching `query`, off the cooperative pool.
    func listSymbols(_ query: SymbolQuery) async throws -> SymbolListing
}
