import Foundation
import Logging
import MarketData
import PostgresNIO
import ScanCore

/// The market-data store on a PostgreSQL server, shared by engine nodes and the service on any
/// number of machines. Same layout and rules as the SQLite ``MarketData/MarketDataStore``: one row
/// per symbol, stored timeframe and period holding packed little-endian columns (`bytea`), a
/// `data_version` bumped in the same transaction as every write, and a random store identity
/// (see ``ScanCore/StoreVersion``).
///
/// ``ScanCore/BarRepository`` and the write methods block (call them from your own threads); the
/// ``ScanCore/SymbolRepository`` methods are `async` and do their I/O on a `Blocking` thread. A bulk
/// load reads one `REPEATABLE READ` snapshot. See ``PostgresConnector`` for how a lost database is
/// handled.
public final class PostgresMarketDataStore: MarketDataBackend, Sendable {
    let connector: PostgresConnector

    /// The store's URL (``PostgresURL/description`` hides the password).
    public var url: PostgresURL { connector.url }

    init(connector: PostgresConnector) { self.connector = connector }

    /// Connects to `url`, checks the credentials and the database, and creates or migrates the
    /// market-data tables. Blocks; throws ``PostgresStoreError`` naming the URL.
    public static func open(
        url: PostgresURL,
        logger: Logger = Logger(label: "postgres-store")
    ) throws
        -> PostgresMarketDataStore
    {
        let connector = PostgresConnector(url: url, logger: logger)
        try connector.connectOnce()
        try PostgresSchema.migrate(connector, component: "marketdata", migrations: PostgresSchema.marketData)
        return PostgresMarketDataStore(connector: connector)
    }

    // MARK: SymbolRepository

    public func resolve(_ criteria: SymbolCriteria) async throws -> ResolvedUniverse {
        let all = try await Blocking.run { try self.allSymbols() }
        return UniverseResolver.resolve(criteria, among: all)
    }

    public func symbols(_ symbols: [String]) async throws -> [SymbolInfo] {
        let wanted = Set(symbols)
        return try await Blocking.run { try self.allSymbols() }.filter { wanted.contains($0.symbol) }
    }

    public func allSymbols() throws -> [SymbolInfo] {
        try read { c in try self.fetchSymbols(c) }
    }

    func fetchSymbols(_ c: PostgresConnection) throws -> [SymbolInfo] {
        try connector.run(
            "SELECT symbol, name, market, sector, market_cap, active FROM symbols ORDER BY symbol",
            on: c
        ).map { row in
            let (symbol, name, market, sector, cap, active) = try row.decode(
                (String, String, String, String, Double?, Bool).self
            )
            return SymbolInfo(
                symbol: symbol,
                name: name,
                market: market,
                sector: sector,
                marketCap: cap,
                active: active
            )
        }
    }

    public func upsertSymbols(_ symbols: [SymbolInfo]) throws {
        try write { c in
            try self.upsert(symbols, c)
            try self.bumpVersion(c)
        }
    }

    func upsert(_ symbols: [SymbolInfo], _ c: PostgresConnection) throws {
        for s in symbols {
            try connector.run(
                """
                INSERT INTO symbols (symbol, name, market, sector, market_cap, active)
                VALUES (\(s.symbol), \(s.name), \(s.market), \(s.sector), \(s.marketCap), \(s.active))
                ON CONFLICT (symbol) DO UPDATE SET name = excluded.name, market = excluded.market,
                sector = excluded.sector, market_cap = excluded.market_cap, active = excluded.active
                """,
                on: c
            )
        }
    }

    // MARK: BarRepository

    public func dataVersion() throws -> Int64 { try storeVersion().version }

    public func storeVersion() throws -> StoreVersion {
        try read { c in
            var id: Int64 = 0
            var version: Int64 = 0
            for row in try connector.run("SELECT key, value FROM marketdata_meta", on: c) {
                let (key, value) = try row.decode((String, Int64).self)
                if key == "store_id" { id = value }
                if key == "data_version" { version = value }
            }
            return StoreVersion(storeId: UInt64(bitPattern: id), version: version)
        }
    }

    public func loadBars(_ query: BarQuery) throws -> BarSeries {
        try read { c in
            guard try !self.known([query.symbol], c).isEmpty else {
                throw MarketDataError(.unknownSymbol, "unknown symbol '\(query.symbol)'")
            }
            return try self.load(query.symbol, query.timeframe, query.range, query.lookbackBars, c)
        }
    }

    public func loadBars(
        symbols: [String],
        timeframe: Timeframe,
        range: DateRange,
        lookbackBars: Int
    ) throws -> BarBatch {
        try read(snapshot: true) { c in
            let known = try self.known(symbols, c)
            var series: [String: BarSeries] = [:]
            var unknown: [String] = []
            for symbol in symbols where series[symbol] == nil {
                guard known.contains(symbol) else {
                    if !unknown.contains(symbol) { unknown.append(symbol) }
                    continue
                }
                series[symbol] = try self.load(symbol, timeframe, range, lookbackBars, c)
            }
            return BarBatch(series: series, unknown: unknown)
        }
    }

    public func latestDay(for timeframe: Timeframe) throws -> CalendarDay? {
        try read { c in
            let rows = try connector.run(
                """
                SELECT last_time, offsets FROM bar_blocks WHERE timeframe = \(timeframe.storedBase.rawValue)
                ORDER BY last_time DESC LIMIT 1
                """,
                on: c
            )
            guard let row = rows.first else { return nil }
            let (last, offsetBytes) = try row.decode((Int64, ByteBuffer).self)
            let offset =
                offsetBytes.readableBytes >= 4
                ? offsetBytes.getInteger(
                    at: offsetBytes.readerIndex + offsetBytes.readableBytes - 4,
                    endianness: .little,
                    as: Int32.self
                ) ?? 0 : 0
            return CalendarDay(epochSeconds: last, utcOffset: offset)
        }
    }

    public func storedBarCount(timeframe: Timeframe, symbol: String?) throws -> Int {
        try read { c in
            let rows: PostgresQueryResult
            if let symbol {
                rows = try connector.run(
                    """
                    SELECT COALESCE(SUM(count), 0)::bigint FROM bar_blocks
                    WHERE timeframe = \(timeframe.rawValue) AND symbol = \(symbol)
                    """,
                    on: c
                )
            } else {
                rows = try connector.run(
                    "SELECT COALESCE(SUM(count), 0)::bigint FROM bar_blocks WHERE timeframe = \(timeframe.rawValue)",
                    on: c
                )
            }
            return Int(try rows.first?.decode(Int64.self) ?? 0)
        }
    }

    // MARK: Writes

    public func writeBars(
        _ series: [BarSeries],
        createSymbols: Bool,
        progress: ((_ done: Int, _ total: Int) throws -> Void)?
    ) throws {
        for s in series { try MarketDataStore.validateForWrite(s) }
        try write { c in
            let known = try self.known(series.map(\.symbol), c)
            var missing: [String] = []
            for s in series where !known.contains(s.symbol) && !missing.contains(s.symbol) { missing.append(s.symbol) }
            if !missing.isEmpty {
                guard createSymbols else {
                    let list = missing.prefix(10).joined(separator: ", ")
                    throw MarketDataError(
                        .unknownSymbol,
                        "unknown symbol\(missing.count == 1 ? "" : "s") \(list)"
                            + (missing.count > 10 ? " and \(missing.count - 10) more" : "")
                    )
                }
                try self.upsert(missing.map { SymbolInfo(symbol: $0) }, c)
            }
            for (n, s) in series.enumerated() {
                try self.writeBlocks(s, c)
                try progress?(n + 1, series.count)
            }
            try self.bumpVersion(c)
        }
    }

    /// Merges `series` into its stored blocks (read, merged, written back, within the caller's transaction).
    func writeBlocks(_ series: BarSeries, _ c: PostgresConnection) throws {
        let parts = BlockWriter.parts(of: series)
        guard !parts.isEmpty else { return }
        let tf = series.timeframe.rawValue
        let periods = parts.map { Int64($0.period) }
        var existing: [Int64: BarBlock] = [:]
        for row in try connector.run(
            """
            SELECT period, \(unescaped: BarBlock.selectedColumns) FROM bar_blocks
            WHERE symbol = \(series.symbol) AND timeframe = \(tf) AND period = ANY(\(periods)) FOR UPDATE
            """,
            on: c
        ) {
            let period = try row.decode(Int64.self)
            existing[period] = try Self.block(row, from: 1, symbol: series.symbol)
        }
        for (period, part) in parts {
            let block = existing[Int64(period)].map { $0.merged(with: part) } ?? part
            guard let first = block.times.first, let last = block.times.last else { continue }
            let p = block.packedColumns
            try connector.run(
                """
                INSERT INTO bar_blocks (symbol, timeframe, period, count, first_time, last_time,
                    times, offsets, open, high, low, close, volume)
                VALUES (\(series.symbol), \(tf), \(Int64(period)), \(Int64(block.count)), \(first), \(last),
                    \(p[0]), \(p[1]), \(p[2]), \(p[3]), \(p[4]), \(p[5]), \(p[6]))
                ON CONFLICT (symbol, timeframe, period) DO UPDATE SET count = excluded.count,
                    first_time = excluded.first_time, last_time = excluded.last_time, times = excluded.times,
                    offsets = excluded.offsets, open = excluded.open, high = excluded.high, low = excluded.low,
                    close = excluded.close, volume = excluded.volume
                """,
                on: c
            )
        }
    }

    func bumpVersion(_ c: PostgresConnection) throws {
        try connector.run("UPDATE marketdata_meta SET value = value + 1 WHERE key = 'data_version'", on: c)
    }

    // MARK: Reading blocks

    func load(
        _ symbol: String,
        _ timeframe: Timeframe,
        _ range: DateRange,
        _ lookbackBars: Int,
        _ c: PostgresConnection
    ) throws -> BarSeries {
        if !timeframe.isIntraday {
            let upper = range.to.epochSeconds
            var joined = BarBlock()
            for row in try connector.run(
                """
                SELECT \(unescaped: BarBlock.selectedColumns) FROM bar_blocks
                WHERE symbol = \(symbol) AND timeframe = '1d' AND first_time <= \(upper) ORDER BY first_time
                """,
                on: c
            ) {
                try Self.append(row, from: 0, to: &joined, symbol: symbol)
            }
            return BarLoader.daily(joined, upTo: upper, symbol: symbol, timeframe: timeframe)
        }
        let window = IntradayWindow(timeframe: timeframe, range: range, lookbackBars: lookbackBars)
        var collector = window.collector(symbol: symbol)
        var before = window.upper
        // Newest blocks first, a few at a time, until the collector has enough history.
        reading: while true {
            let rows = try connector.run(
                """
                SELECT first_time, \(unescaped: BarBlock.selectedColumns) FROM bar_blocks
                WHERE symbol = \(symbol) AND timeframe = '1m' AND first_time < \(before)
                ORDER BY first_time DESC LIMIT 4
                """,
                on: c
            )
            for row in rows {
                before = try row.decode(Int64.self)
                if try collector.add(try Self.block(row, from: 1, symbol: symbol)) { break reading }
            }
            if rows.count < 4 { break }
        }
        return collector.series()
    }

    static func block(_ row: PostgresRow, from first: Int, symbol: String) throws -> BarBlock {
        var b = BarBlock()
        try append(row, from: first, to: &b, symbol: symbol)
        return b
    }

    /// Appends the packed columns of `row` (``BarBlock/selectedColumns`` from index `first`).
    static func append(_ row: PostgresRow, from first: Int, to block: inout BarBlock, symbol: String) throws {
        let cells = Array(row.makeRandomAccess()[first..<(first + 7)])
        let buffers = cells.map { $0.bytes ?? ByteBuffer() }
        try withBytes(buffers[...]) { try block.append(packed: $0, symbol: symbol) }
    }

    /// Calls `body` with the readable bytes of every buffer.
    static func withBytes<T>(
        _ buffers: ArraySlice<ByteBuffer>,
        _ acc: [UnsafeRawBufferPointer] = [],
        _ body: ([UnsafeRawBufferPointer]) throws -> T
    ) throws -> T {
        guard let head = buffers.first else { return try body(acc) }
        return try head.withUnsafeReadableBytes { bytes in
            try withBytes(buffers.dropFirst(), acc + [bytes], body)
        }
    }

    func known(_ symbols: [String], _ c: PostgresConnection) throws -> Set<String> {
        let unique = Array(Set(symbols))
        guard !unique.isEmpty else { return [] }
        var found = Set<String>()
        for row in try connector.run("SELECT symbol FROM symbols WHERE symbol = ANY(\(unique))", on: c) {
            found.insert(try row.decode(String.self))
        }
        return found
    }

    // MARK: Transactions

    /// A read, on one snapshot when `snapshot` (several statements that must agree).
    func read<T>(snapshot: Bool = false, _ body: (PostgresConnection) throws -> T) throws -> T {
        do {
            if snapshot {
                return try connector.transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
            }
            return try connector.withConnection(body)
        } catch let error as MarketDataError {
            throw error
        } catch let error as PostgresStoreError {
            throw error
        } catch let error as PSQLError {
            throw connector.describe(error)
        }
    }

    func write<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        do {
            return try connector.transaction(body)
        } catch let error as MarketDataError {
            throw error
        } catch let error as PostgresStoreError {
            throw error
        } catch let error as PSQLError {
            throw connector.describe(error)
        }
    }
}
