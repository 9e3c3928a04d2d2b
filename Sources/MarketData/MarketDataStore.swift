import FormulaEngine
import Foundation
import GRDB
import GRDBReads
import ScanCore
import Synchronization

/// The market-data store on SQLite (through GRDB): symbols and bars, for scans and for the importers.
///
/// A file store is a `DatabasePool` in WAL mode, so any number of threads (an engine node's workers)
/// read consistent snapshots while one writer imports. Bars are kept in blocks — one row per symbol,
/// stored timeframe and period holding packed little-endian columns (see `StoreSchema`) — so loading
/// a series is a handful of row reads and `memcpy`s, never a row per bar.
///
/// ``BarRepository`` methods block (call them from your own threads); ``SymbolRepository`` methods are
/// `async` and run on GRDB's reader queues, never blocking Swift's cooperative pool.
///
/// Every write transaction bumps ``dataVersion()``: a caller may cache loaded series keyed by
/// `(symbol, timeframe, dataVersion)` and reuse them while the version holds (see ``MarketDataBackend``).
public final class MarketDataStore: MarketDataBackend, SymbolCatalog, Sendable {
    let writer: any DatabaseWriter
    /// The database file, `nil` for an in-memory store.
    public let path: String?
    /// The symbol table as of a data version (see ``resolve(_:)``).
    private let symbolCache = Mutex<(version: Int64, symbols: [SymbolInfo])?>(nil)

    /// The default database file: `$MARKETSCAN_DB` when set, else `marketscan.sqlite` in the current directory.
    public static var defaultPath: String {
        if let env = ProcessInfo.processInfo.environment["MARKETSCAN_DB"], !env.isEmpty { return env }
        return "marketscan.sqlite"
    }

    private init(writer: any DatabaseWriter, path: String?) throws {
        self.writer = writer
        self.path = path
        // Two processes opening a new file at once may both see a migration missing; the loser's
        // CREATE fails. Migrating again then finds it applied, so retry a few times.
        var attempt = 0
        while true {
            do {
                try StoreSchema.migrator.migrate(writer)
                break
            } catch let error as DatabaseError where attempt < 3 && error.resultCode == .SQLITE_ERROR {
                attempt += 1
                Thread.sleep(forTimeInterval: 0.05 * Double(attempt))
            }
        }
    }

    /// The size the WAL file is cut back to once its frames are checkpointed (`journal_size_limit`).
    public static let walSizeLimitBytes = 64 << 20

    /// Opens (creating when missing) the store in the SQLite file at `path`, migrating its schema.
    public static func open(path: String) throws -> MarketDataStore {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // Only takes effect on a new, empty file: big pages keep a year of daily bars in one page.
            try db.execute(sql: "PRAGMA page_size = 65536")
            // WAL + NORMAL: durable against a killed process; an import is one transaction either way.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // An import is one transaction: its WAL is the size of what it wrote, and SQLite would keep a
            // file that size for good. Cut it back to 64 MB when the log restarts after a checkpoint.
            try db.execute(sql: "PRAGMA journal_size_limit = \(Self.walSizeLimitBytes)")
        }
        do {
            return try MarketDataStore(writer: DatabasePool(path: path, configuration: config), path: path)
        } catch let error as DatabaseError {
            throw MarketDataError(.io, "cannot open market-data store '\(path)': \(error.message ?? "\(error)")")
        }
    }

    /// A private in-memory store (for tests and throw-away runs).
    public static func inMemory() throws -> MarketDataStore {
        try MarketDataStore(writer: DatabaseQueue(), path: nil)
    }

    // MARK: - SymbolRepository

    public func resolve(_ criteria: SymbolCriteria) async throws -> ResolvedUniverse {
        let all = try await writer.readReturningReader { db in try self.cachedSymbols(db) }
        return UniverseResolver.resolve(criteria, among: all)
    }

    /// Every symbol, read again only when the data version changed (every write transaction bumps
    /// it, in this process or another): a scan resolves its universe without re-reading the table.
    private func cachedSymbols(_ db: Database) throws -> [SymbolInfo] {
        let version = try Int64.fetchOne(db, sql: "SELECT value FROM marketdata_meta WHERE key = 'data_version'")
        if let version, let cached = symbolCache.withLock({ $0 }), cached.version == version {
            return cached.symbols
        }
        let symbols = try Self.fetchSymbols(db)
        if let version { symbolCache.withLock { $0 = (version, symbols) } }
        return symbols
    }

    public func listSymbols(_ query: SymbolQuery) async throws -> SymbolListing {
        let all = try await writer.readReturningReader { db in try Self.fetchListed(db) }
        return query.apply(to: all)
    }

    public func symbols(_ symbols: [String]) async throws -> [SymbolInfo] {
        let wanted = Set(symbols)
        let all = try await writer.readReturningReader { db in try Self.fetchSymbols(db) }
        return all.filter { wanted.contains($0.symbol) }
    }

    /// Every symbol with the range of bars stored for it per timeframe (an index scan; no bar is read).
    public func listedSymbols() throws -> [ListedSymbol] {
        try writer.read { db in try Self.fetchListed(db) }
    }

    static func fetchListed(_ db: Database) throws -> [ListedSymbol] {
        var ranges: [String: [StoredBarRange]] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT symbol, timeframe, MIN(first_time), MAX(last_time), SUM(count) FROM bar_blocks
                GROUP BY symbol, timeframe ORDER BY symbol, timeframe = '1d' DESC, timeframe
                """
        )
        while let row = try rows.next() {
            guard let tf = Timeframe(rawValue: row[1]) else { continue }
            ranges[row[0], default: []].append(
                StoredBarRange(timeframe: tf, first: row[2], last: row[3], count: row[4])
            )
        }
        return try Self.fetchSymbols(db).map { ListedSymbol(info: $0, bars: ranges[$0.symbol] ?? []) }
    }

    public func allSymbols() throws -> [SymbolInfo] {
        try writer.read { db in try Self.fetchSymbols(db) }
    }

    static func fetchSymbols(_ db: Database) throws -> [SymbolInfo] {
        try Row.fetchAll(
            db,
            sql: "SELECT symbol, name, market, sector, market_cap, active FROM symbols ORDER BY symbol"
        ).map { row in
            SymbolInfo(
                symbol: row[0],
                name: row[1],
                market: row[2],
                sector: row[3],
                marketCap: row[4],
                active: (row[5] as Int64? ?? 1) != 0
            )
        }
    }

    public func upsertSymbols(_ symbols: [SymbolInfo]) throws {
        try writer.write { db in
            try Self.upsertSymbols(symbols, db)
            try StoreSchema.bumpVersion(db)
        }
    }

    static func upsertSymbols(_ symbols: [SymbolInfo], _ db: Database) throws {
        let stmt = try db.cachedStatement(
            sql: """
                INSERT INTO symbols(symbol, name, market, sector, market_cap, active) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(symbol) DO UPDATE SET name = excluded.name, market = excluded.market,
                sector = excluded.sector, market_cap = excluded.market_cap, active = excluded.active
                """
        )
        for s in symbols {
            try stmt.execute(arguments: [s.symbol, s.name, s.market, s.sector, s.marketCap, s.active ? 1 : 0])
        }
    }

    // MARK: - BarRepository

    public func dataVersion() throws -> Int64 {
        try writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM marketdata_meta WHERE key = 'data_version'") ?? 0
        }
    }

    public func storeVersion() throws -> StoreVersion {
        try writer.read { db in try StoreSchema.storeVersion(db) }
    }

    public func loadBars(_ query: BarQuery) throws -> BarSeries {
        guard let result = try loadBars([query]).first else {
            throw MarketDataError(.corruptData, "no bars read for \(query.symbol)")
        }
        return try result.get()
    }

    /// Every query on one read transaction (one snapshot), each loaded as ``loadBars(_:)-(BarQuery)``.
    public func loadBars(_ queries: [BarQuery]) throws -> [Result<BarSeries, any Error>] {
        try writer.read { db in
            let known = try Self.knownSymbols(queries.map(\.symbol), db)
            return queries.map { q in
                Result {
                    guard known.contains(q.symbol) else {
                        throw MarketDataError(.unknownSymbol, "unknown symbol '\(q.symbol)'")
                    }
                    return try BarLoader.load(
                        db,
                        symbol: q.symbol,
                        timeframe: q.timeframe,
                        range: q.range,
                        lookbackBars: q.lookbackBars,
                        lookaheadBars: q.lookaheadBars,
                        fields: q.fields
                    )
                }
            }
        }
    }

    public func latestDay(for timeframe: Timeframe) throws -> CalendarDay? {
        try writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT last_time, offsets FROM bar_blocks WHERE timeframe = ?
                        ORDER BY last_time DESC LIMIT 1
                        """,
                    arguments: [timeframe.storedBase.rawValue]
                )
            else { return nil }
            let last: Int64 = row[0]
            var offsets: [Int32] = []
            _ = try row.withUnsafeData(atIndex: 1) { PackedColumn.append($0, to: &offsets) }
            return CalendarDay(epochSeconds: last, utcOffset: offsets.last ?? 0)
        }
    }

    public func storedBarCount(timeframe: Timeframe, symbol: String? = nil) throws -> Int {
        try writer.read { db in
            if let symbol {
                return try Int.fetchOne(
                    db,
                    sql: "SELECT COALESCE(SUM(count), 0) FROM bar_blocks WHERE timeframe = ? AND symbol = ?",
                    arguments: [timeframe.rawValue, symbol]
                ) ?? 0
            }
            return try Int.fetchOne(
                db,
                sql: "SELECT COALESCE(SUM(count), 0) FROM bar_blocks WHERE timeframe = ?",
                arguments: [timeframe.rawValue]
            ) ?? 0
        }
    }

    /// The symbols of `symbols` that the store knows.
    ///
    /// Read with a few cached statements (one per size of ``knownSymbolsBuckets``, a short list padded
    /// with repeats of its last symbol to the next size): every load asks this, most often for one
    /// symbol (the SQLite store reads a symbol per transaction), and compiling a new `IN (...)`
    /// statement each time cost more than the lookup.
    static func knownSymbols(_ symbols: [String], _ db: Database) throws -> Set<String> {
        var known = Set<String>()
        let unique = Array(Set(symbols))
        let widest = knownSymbolsBuckets[knownSymbolsBuckets.count - 1]
        var i = 0
        while i < unique.count {
            var chunk = Array(unique[i..<min(i + widest, unique.count)])
            let width = knownSymbolsBuckets.first { $0 >= chunk.count } ?? widest
            chunk += repeatElement(chunk[chunk.count - 1], count: width - chunk.count)
            let marks = Array(repeating: "?", count: width).joined(separator: ",")
            let statement = try db.cachedStatement(sql: "SELECT symbol FROM symbols WHERE symbol IN (\(marks))")
            known.formUnion(try String.fetchAll(statement, arguments: StatementArguments(chunk)))
            i += widest
        }
        return known
    }

    /// The statement sizes of ``knownSymbols(_:_:)``.
    static let knownSymbolsBuckets = [1, 8, 64, 500]

    // MARK: - Writes

    public func writeBars(
        _ series: [BarSeries],
        createSymbols: Bool,
        progress: ((_ done: Int, _ total: Int) throws -> Void)?
    ) throws {
        for s in series { try Self.validateForWrite(s) }
        try writer.write { db in
            let known = try Self.knownSymbols(series.map(\.symbol), db)
            let missing = try Self.missingSymbols(of: series, known: known, createSymbols: createSymbols)
            if !missing.isEmpty { try Self.upsertSymbols(missing.map { SymbolInfo(symbol: $0) }, db) }
            for (n, s) in series.enumerated() {
                try BlockWriter.write(s, db)
                try progress?(n + 1, series.count)
            }
            try StoreSchema.bumpVersion(db)
        }
    }

    /// The symbols of `series` missing from `known`, in order (each once), for a write to add; throws
    /// naming them (the first ten) unless `createSymbols`. Shared by every store.
    package static func missingSymbols(
        of series: [BarSeries],
        known: Set<String>,
        createSymbols: Bool
    ) throws
        -> [String]
    {
        var missing: [String] = []
        var seen = known
        for s in series where seen.insert(s.symbol).inserted { missing.append(s.symbol) }
        guard !missing.isEmpty, !createSymbols else { return missing }
        let list = missing.prefix(10).joined(separator: ", ")
        throw MarketDataError(
            .unknownSymbol,
            "unknown symbol\(missing.count == 1 ? "" : "s") \(list)"
                + (missing.count > 10 ? " and \(missing.count - 10) more" : "")
        )
    }

    /// Checks a series before any store writes it (stored timeframe, column lengths, order, daily times).
    package static func validateForWrite(_ s: BarSeries) throws {
        guard s.timeframe == .daily || s.timeframe == .minute1 else {
            throw MarketDataError(.invalidInput, "only 1d and 1m bars are stored, not \(s.timeframe)")
        }
        let n = s.count
        let c = s.columns
        guard c.open.count == n, c.high.count == n, c.low.count == n, c.close.count == n, c.volume.count == n,
            s.utcOffsets.isEmpty || s.utcOffsets.count == n
        else {
            throw MarketDataError(.invalidInput, "bars of \(s.symbol): columns of different lengths")
        }
        for i in 1..<max(n, 1) where s.times[i] <= s.times[i - 1] {
            throw MarketDataError(.invalidInput, "bars of \(s.symbol): times not strictly increasing at bar \(i)")
        }
        if s.timeframe == .daily {
            for t in s.times where t % 86_400 != 0 {
                throw MarketDataError(.invalidInput, "daily bars of \(s.symbol) must be at 00:00 UTC of their date")
            }
        }
    }
}
