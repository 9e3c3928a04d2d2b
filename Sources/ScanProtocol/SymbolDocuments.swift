import ScanCore

/// `LIST_SYMBOLS`: `{"symbols"?, "markets"?, "sectors"?, "search"?, "offset"?, "limit"?}` (every filter applies).
public struct ListSymbolsBody: Sendable, Hashable, Codable {
    public var symbols: [String]?
    public var markets: [String]?
    public var sectors: [String]?
    public var search: String?
    public var offset: Int?
    public var limit: Int?

    public init(
        symbols: [String]? = nil,
        markets: [String]? = nil,
        sectors: [String]? = nil,
        search: String? = nil,
        offset: Int? = nil,
        limit: Int? = nil
    ) {
        self.symbols = symbols
        self.markets = markets
        self.sectors = sectors
        self.search = search
        self.offset = offset
        self.limit = limit
    }

    enum CodingKeys: String, CodingKey { case symbols, markets, sectors, search, offset, limit }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        symbols = try c.decodeIfPresent([String].self, forKey: .symbols)
        markets = try c.decodeIfPresent([String].self, forKey: .markets)
        sectors = try c.decodeIfPresent([String].self, forKey: .sectors)
        search = try c.decodeIfPresent(String.self, forKey: .search)
        offset = try RequestCodec.decodeInteger(c, .offset)
        limit = try RequestCodec.decodeInteger(c, .limit)
    }

    /// The same query as a client builds it.
    public init(_ q: SymbolQuery) {
        self.init(
            symbols: q.symbols.isEmpty ? nil : q.symbols,
            markets: q.markets.isEmpty ? nil : q.markets,
            sectors: q.sectors.isEmpty ? nil : q.sectors,
            search: q.search,
            offset: q.offset == 0 ? nil : q.offset,
            limit: q.limit
        )
    }

    /// The checked query: `offset` ≥ 0, `limit` ≥ 0.
    public func validated() throws(ProtocolError) -> SymbolQuery {
        if let o = offset, o < 0 { throw .badRequest("field 'offset' must be a non-negative integer (got \(o))") }
        if let l = limit, l < 0 { throw .badRequest("field 'limit' must be a non-negative integer (got \(l))") }
        return SymbolQuery(
            symbols: symbols ?? [],
            markets: markets ?? [],
            sectors: sectors ?? [],
            search: search,
            offset: offset ?? 0,
            limit: limit
        )
    }
}

/// The stored bars of one timeframe: `{"from", "to", "count"}` (dates for `1d`, UTC instants for `1m`).
public struct BarRangeDocument: Sendable, Hashable, Codable {
    public var from: String
    public var to: String
    public var count: Int

    public init(from: String, to: String, count: Int) {
        self.from = from
        self.to = to
        self.count = count
    }

    public init(_ r: StoredBarRange) {
        func text(_ t: Int64) -> String {
            BarTimestamp(epochSeconds: t, utcOffsetSeconds: 0, isIntraday: r.timeframe.isIntraday).description
        }
        self.init(from: text(r.first), to: text(r.last), count: r.count)
    }
}

/// One symbol of a `LIST_SYMBOLS` reply.
public struct SymbolDocument: Sendable, Hashable, Codable {
    public var symbol: String
    public var name: String
    public var market: String
    public var sector: String
    /// `null` when unknown.
    public var marketCap: Double?
    public var active: Bool
    /// Stored timeframe (`1d`, `1m`) → the bars stored; timeframes without bars are left out.
    public var bars: [String: BarRangeDocument]

    enum CodingKeys: String, CodingKey {
        case symbol, name, market, sector, active, bars
        case marketCap = "market_cap"
    }

    public init(_ s: ListedSymbol) {
        symbol = s.info.symbol
        name = s.info.name
        market = s.info.market
        sector = s.info.sector
        marketCap = s.info.marketCap
        active = s.info.active
        bars = Dictionary(s.bars.map { ($0.timeframe.rawValue, BarRangeDocument($0)) }) { a, _ in a }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(symbol, forKey: .symbol)
        try c.encode(name, forKey: .name)
        try c.encode(market, forKey: .market)
        try c.encode(sector, forKey: .sector)
        try c.encode(marketCap, forKey: .marketCap)  // null when unknown, never left out
        try c.encode(active, forKey: .active)
        try c.encode(bars, forKey: .bars)
    }
}

/// The `LIST_SYMBOLS` reply: `{"symbols": [...], "total", "markets": [...], "sectors": [...]}`.
public struct SymbolListReply: Sendable, Hashable, Codable {
    public var symbols: [SymbolDocument]
    /// How many symbols matched in all (`symbols` is the page from `offset`).
    public var total: Int
    /// Every market and every sector of the service's catalogue, sorted.
    public var markets: [String]
    public var sectors: [String]

    public init(_ listing: SymbolListing) {
        symbols = listing.symbols.map(SymbolDocument.init)
        total = listing.total
        markets = listing.markets
        sectors = listing.sectors
    }
}
