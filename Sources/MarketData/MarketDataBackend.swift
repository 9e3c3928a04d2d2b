import ScanCore

/// Everything the scanner needs from a market-data store: universes, bar series, the symbol listing
/// (`LIST_SYMBOLS`, `scan data symbols`) and the writes the importers and the generator make.
///
/// ``MarketDataStore`` (SQLite through GRDB) and `PostgresStore`'s `PostgresMarketDataStore` (for
/// engine nodes on other machines) conform; callers do not change. Both read a batch of queries
/// (``ScanCore/BarRepository/loadBars(_:)-([BarQuery])``) on one consistent snapshot.
///
/// ## Caching
/// Series are immutable values and ``BarRepository/dataVersion()`` changes on every write, so a
/// caller may keep loaded series keyed by `(symbol, timeframe, dataVersion)` and reuse them for as
/// long as the version holds (one cheap query per job instead of re-reading the bars). The store does
/// not cache series itself: what is worth keeping depends on the caller's memory budget.
public protocol MarketDataBackend: SymbolRepository, BarRepository, SymbolCatalog {
    /// Every symbol in the store (active or not), ordered by symbol. Blocking.
    func allSymbols() throws -> [SymbolInfo]

    /// Inserts or replaces symbols (by symbol) in one transaction.
    func upsertSymbols(_ symbols: [SymbolInfo]) throws

    /// Writes bars of stored timeframes (`1d`, `1m`) in one transaction, replacing stored bars with the
    /// same symbol, timeframe and time. Each series must be sorted by strictly increasing time.
    /// Symbols must exist unless `createSymbols` is set (then bare symbols are added).
    ///
    /// `progress` is called with (series written, series total); when it throws, the transaction is
    /// rolled back and the store is left as it was.
    func writeBars(
        _ series: [BarSeries],
        createSymbols: Bool,
        progress: ((_ done: Int, _ total: Int) throws -> Void)?
    ) throws

    /// Number of stored bars of a stored timeframe, for all symbols or one.
    func storedBarCount(timeframe: Timeframe, symbol: String?) throws -> Int
}

extension MarketDataBackend {
    /// Loads the bars of many symbols at once, on one consistent snapshot (one batched read).
    ///
    /// The rules of ``BarQuery`` apply to every symbol; symbols the store does not know are listed in
    /// ``BarBatch/unknown`` instead of failing the whole load. Any other failure throws.
    public func loadBars(
        symbols: [String],
        timeframe: Timeframe,
        range: DateRange,
        lookbackBars: Int
    ) throws
        -> BarBatch
    {
        var unique: [String] = []
        var seen = Set<String>()
        for s in symbols where seen.insert(s).inserted { unique.append(s) }
        let results = try loadBars(
            unique.map { BarQuery(symbol: $0, timeframe: timeframe, range: range, lookbackBars: lookbackBars) }
        )
        var batch = BarBatch(series: [:], unknown: [])
        batch.series.reserveCapacity(unique.count)
        for (symbol, result) in zip(unique, results) {
            switch result {
            case .success(let series): batch.series[symbol] = series
            case .failure(let error as MarketDataError) where error.kind == .unknownSymbol: batch.unknown.append(symbol)
            case .failure(let error): throw error
            }
        }
        return batch
    }

    /// Writes bars without progress reporting; see ``writeBars(_:createSymbols:progress:)``.
    public func writeBars(_ series: [BarSeries], createSymbols: Bool = false) throws {
        try writeBars(series, createSymbols: createSymbols, progress: nil)
    }
}

/// The result of a bulk load: series by symbol, plus requested symbols the store does not know.
public struct BarBatch: Sendable {
    public var series: [String: BarSeries]
    public var unknown: [String]

    public init(series: [String: BarSeries], unknown: [String]) {
        self.series = series
        self.unknown = unknown
    }
}
