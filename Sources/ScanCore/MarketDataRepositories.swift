import FormulaEngine

/// A listed instrument.
public struct SymbolInfo: Sendable, Hashable, Codable {
    public var symbol: String
    public var name: String
    public var market: String
    public var sector: String
    /// Market capitalisation in the listing currency; `nil` when unknown (e.g. ETFs in the sample).
    public var marketCap: Double?
    public var active: Bool

    public init(
        symbol: String,
        name: String = "",
        market: String = "",
        sector: String = "",
        marketCap: Double? = nil,
        active: Bool = true
    ) {
        self.symbol = symbol
        self.name = name
        self.market = market
        self.sector = sector
        self.marketCap = marketCap
        self.active = active
    }
}

/// The universe a ``SymbolCriteria`` resolved to: known symbols, in a stable order, and explicitly
/// requested symbols the store does not know.
public struct ResolvedUniverse: Sendable, Hashable {
    public var symbols: [SymbolInfo]
    public var unknown: [String]

    public init(symbols: [SymbolInfo], unknown: [String] = []) {
        self.symbols = symbols
        self.unknown = unknown
    }
}

/// Resolves universes. Implementations do their I/O off the cooperative pool.
public protocol SymbolRepository: Sendable {
    /// Applies `criteria` (explicit list, else market/sector/market cap; exclusions last).
    func resolve(_ criteria: SymbolCriteria) async throws -> ResolvedUniverse
    /// Details of the given symbols (unknown ones are left out).
    func symbols(_ symbols: [String]) async throws -> [SymbolInfo]
}

/// One symbol's bars of one timeframe, oldest first, as contiguous columns.
public struct BarSeries: Sendable {
    public var symbol: String
    public var timeframe: Timeframe
    /// Bar start instants (epoch seconds, UTC). Daily/weekly bars: the session date at 00:00 UTC.
    public var times: [Int64]
    /// The exchange's UTC offset at each bar (seconds); empty for daily/weekly bars (offset 0).
    public var utcOffsets: [Int32]
    public var columns: PriceColumns

    public init(symbol: String, timeframe: Timeframe, times: [Int64], utcOffsets: [Int32] = [], columns: PriceColumns) {
        self.symbol = symbol
        self.timeframe = timeframe
        self.times = times
        self.utcOffsets = utcOffsets
        self.columns = columns
    }

    public var count: Int { times.count }

    public func timestamp(at i: Int) -> BarTimestamp {
        BarTimestamp(
            epochSeconds: times[i],
            utcOffsetSeconds: utcOffsets.isEmpty ? 0 : utcOffsets[i],
            isIntraday: timeframe.isIntraday
        )
    }

    /// The session date of bar `i`.
    public func day(at i: Int) -> CalendarDay {
        CalendarDay(epochSeconds: times[i], utcOffset: utcOffsets.isEmpty ? 0 : utcOffsets[i])
    }

    /// Indices of the bars whose session date lies in `range`.
    public func indices(in range: DateRange) -> Range<Int> {
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if day(at: mid) < range.from { lo = mid + 1 } else { hi = mid }
        }
        let start = lo
        hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if day(at: mid) <= range.to { lo = mid + 1 } else { hi = mid }
        }
        return start..<lo
    }
}

/// Which bars to load for one symbol.
public struct BarQuery: Sendable, Hashable {
    public var symbol: String
    public var timeframe: Timeframe
    public var range: DateRange
    /// Bars needed before `range.from` for warm-up. Daily and weekly loads always return the whole
    /// history up to `range.to` (so results never depend on the range start); intraday loads return
    /// at least this many bars before `range.from` when they exist.
    public var lookbackBars: Int
    /// Bars wanted after `range.to` (an event study's longest horizon); 0 loads nothing after it.
    public var lookaheadBars: Int
    /// The price columns wanted (with `close`: a match reports its close). A store may load more; a
    /// column it leaves out is empty (a fresh scan of daily bars then reads and holds only these).
    public var fields: PriceFields

    public init(
        symbol: String,
        timeframe: Timeframe,
        range: DateRange,
        lookbackBars: Int,
        lookaheadBars: Int = 0,
        fields: PriceFields = .all
    ) {
        self.lookaheadBars = max(0, lookaheadBars)
        self.fields = fields.union(.close)
        self.symbol = symbol
        self.timeframe = timeframe
        self.range = range
        self.lookbackBars = lookbackBars
    }
}

/// Reads bar series. Thread-safe; calls block, so callers run them on their own threads, never on
/// Swift's cooperative pool.
public protocol BarRepository: Sendable {
    /// A number that changes on every write to the store; cached series are valid while it holds.
    func dataVersion() throws -> Int64
    /// The bars of `query`, resampled when the timeframe is not stored. Throws for an unknown symbol;
    /// a known symbol without bars gives an empty series.
    func loadBars(_ query: BarQuery) throws -> BarSeries
    /// The newest session date stored for a timeframe (via its stored base), `nil` when none.
    func latestDay(for timeframe: Timeframe) throws -> CalendarDay?
    /// The store's identity and data version: what a node and the service compare to agree that
    /// they read the same data (see ``StoreVersion``).
    func storeVersion() throws -> StoreVersion
    /// The bars of many queries (a chunk's symbols) in one read: one result per query, in order, a
    /// query failing alone (an unknown symbol, a corrupt block) as ``loadBars(_:)`` would. Throws only
    /// when the store cannot be read at all.
    func loadBars(_ queries: [BarQuery]) throws -> [Result<BarSeries, any Error>]
    /// How many queries a caller should hand ``loadBars(_:)-([BarQuery])`` at once: 1 where a read is
    /// cheap on its own (a local file), more where each read costs a round trip to a server.
    var preferredReadBatch: Int { get }
}

extension BarRepository {
    /// An anonymous store (identity 0) at ``dataVersion()``: for stores without an identity, such as
    /// test doubles. The real stores report the identity they were created with.
    public func storeVersion() throws -> StoreVersion {
        StoreVersion(storeId: 0, version: try dataVersion())
    }

    /// One ``loadBars(_:)`` per query.
    public func loadBars(_ queries: [BarQuery]) throws -> [Result<BarSeries, any Error>] {
        queries.map { q in Result { try loadBars(q) } }
    }

    /// 1: one query at a time.
    public var preferredReadBatch: Int { 1 }
}

/// Which data a store holds: the store's identity, drawn at random when the store is created (a
/// copy of an SQLite file, or a PostgreSQL replica, keeps it), and its data version, bumped by every
/// write. Two stores at the same ``StoreVersion`` hold the same bars; a copy that lags behind has
/// the same identity and a lower version.
public struct StoreVersion: Sendable, Hashable, Codable, CustomStringConvertible {
    public var storeId: UInt64
    public var version: Int64

    public init(storeId: UInt64, version: Int64) {
        self.storeId = storeId
        self.version = version
    }

    /// `STOREID:VERSION`, the identity as 16 hex digits (e.g. `3f2a9c1b00d4e5f6:17`).
    public var description: String {
        let hex = String(storeId, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ":\(version)"
    }
}
