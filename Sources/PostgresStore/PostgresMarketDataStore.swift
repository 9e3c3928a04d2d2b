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
public final class PostgresMarketDataStore: MarketDataBackend, SymbolCatalog, Sendable {
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
        PostgresMarketDataStore(
            connector: try PostgresSchema.open(url, logger, "marketdata", PostgresSchema.marketData)
        )
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

    public func listSymbols(_ query: SymbolQuery) async throws -> SymbolListing {
        query.apply(to: try await Blocking.run { try self.listedSymbols() })
    }

    /// Every symbol with the range of bars stored for it per timeframe (from the blocks' index
    /// columns; no bar is read), on one snapshot. Blocks.
    public func listedSymbols() throws -> [ListedSymbol] {
        try read(snapshot: true) { c in
            var ranges: [String: [StoredBarRange]] = [:]
            for row in try connector.run(
                """
                SELECT symbol, timeframe, MIN(first_time), MAX(last_time), SUM(count)::bigint FROM bar_blocks
                GROUP BY symbol, timeframe ORDER BY symbol, timeframe = '1d' DESC, timeframe
                """,
                on: c
            ) {
                let (symbol, tf, first, last, count) = try row.decode((String, String, Int64, Int64, Int64).self)
                guard let timeframe = Timeframe(rawValue: tf) else { continue }
                ranges[symbol, default: []].append(
                    StoredBarRange(timeframe: timeframe, first: first, last: last, count: Int(count))
                )
            }
            return try self.fetchSymbols(c).map { ListedSymbol(info: $0, bars: ranges[$0.symbol] ?? []) }
        }
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
        guard let result = try loadBars([query]).first else {
            throw MarketDataError(.corruptData, "no bars read for \(query.symbol)")
        }
        return try result.get()
    }

    /// 64: a scan's chunk is read in groups of 64 symbols, one statement per group.
    public var preferredReadBatch: Int { 64 }

    /// Every query on one `REPEATABLE READ` snapshot: one statement for the symbols' existence and one
    /// per distinct upper bound for daily and weekly queries (`symbol = ANY($1)`, so a chunk's symbols
    /// come in one round trip); intraday queries read their newest minute blocks a few at a time per
    /// symbol. Bars after the range (``ScanCore/BarQuery/lookaheadBars``) as in the SQLite store.
    public func loadBars(_ queries: [BarQuery]) throws -> [Result<BarSeries, any Error>] {
        guard !queries.isEmpty else { return [] }
        return try read(snapshot: queries.count > 1) { c in
            let known = try self.known(queries.map(\.symbol), c)
            var out = [Result<BarSeries, any Error>?](repeating: nil, count: queries.count)
            var daily: [Int64: [Int]] = [:]
            for (i, q) in queries.enumerated() {
                guard known.contains(q.symbol) else {
                    out[i] = .failure(MarketDataError(.unknownSymbol, "unknown symbol '\(q.symbol)'"))
                    continue
                }
                let range = BarLoader.lookaheadRange(q.range, timeframe: q.timeframe, lookaheadBars: q.lookaheadBars)
                guard q.timeframe.isIntraday else {
                    daily[range.to.epochSeconds, default: []].append(i)
                    continue
                }
                do {
                    let series = try self.intraday(q.symbol, q.timeframe, range, q.lookbackBars, c)
                    out[i] = .success(Self.cut(series, q))
                } catch let error as MarketDataError {
                    out[i] = .failure(error)
                }
            }
            for (upper, indices) in daily {
                let blocks = try self.dailyBlocks(Array(Set(indices.map { queries[$0].symbol })), upTo: upper, c)
                for i in indices {
                    let q = queries[i]
                    out[i] = Result {
                        let joined = try blocks[q.symbol]?.get() ?? BarBlock()
                        return Self.cut(
                            BarLoader.daily(joined, upTo: upper, symbol: q.symbol, timeframe: q.timeframe),
                            q
                        )
                    }
                }
            }
            return out.map { $0 ?? .failure(MarketDataError(.corruptData, "no bars read")) }
        }
    }

    /// `series` keeping the bars after the range that `query` asks for.
    static func cut(_ series: BarSeries, _ query: BarQuery) -> BarSeries {
        guard query.lookaheadBars > 0 else { return series }
        return BarLoader.keepingLookahead(series, after: query.range, lookaheadBars: query.lookaheadBars)
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
            let missing = try MarketDataStore.missingSymbols(
                of: series,
                known: known,
                createSymbols: createSymbols
            )
            if !missing.isEmpty { try self.upsert(missing.map { SymbolInfo(symbol: $0) }, c) }
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

    /// The daily blocks of `symbols` starting no later than `upper`, joined per symbol in time order
    /// (one statement; a symbol without bars is absent, a corrupt one fails alone).
    func dailyBlocks(
        _ symbols: [String],
        upTo upper: Int64,
        _ c: PostgresConnection
    ) throws -> [String: Result<BarBlock, any Error>] {
        let rows = try connector.run(
            """
            SELECT symbol, count, \(unescaped: BarBlock.selectedColumns) FROM bar_blocks
            WHERE symbol = ANY(\(symbols)) AND timeframe = '1d' AND first_time <= \(upper)
            ORDER BY symbol, first_time
            """,
            on: c
        )
        // Rows come grouped by symbol: size each symbol's columns once, then copy its blocks in.
        var spans: [(symbol: String, rows: Range<Int>, bars: Int)] = []
        for (i, row) in rows.enumerated() {
            let (symbol, count) = try row.decode((String, Int64).self)
            if let last = spans.last, last.symbol == symbol {
                spans[spans.count - 1] = (symbol, last.rows.lowerBound..<(i + 1), last.bars + Int(max(0, count)))
            } else {
                spans.append((symbol, i..<(i + 1), Int(max(0, count))))
            }
        }
        var out: [String: Result<BarBlock, any Error>] = [:]
        for span in spans {
            out[span.symbol] = Result {
                // Sized once, then each block's columns copied into place (one copy out of the buffer).
                var joined = DailyColumns(count: span.bars)
                var filled = 0
                for i in span.rows {
                    let cells = rows[i].makeRandomAccess()
                    let n = Int(try cells[1].decode(Int64.self))
                    guard n >= 0, filled + n <= span.bars, cells.count >= 2 + BarBlock.columnCount,
                        joined.copy(cells, from: 2, count: n, at: filled)
                    else {
                        throw MarketDataError(
                            .corruptData,
                            "stored bar block of \(span.symbol) has inconsistent column lengths"
                        )
                    }
                    filled += n
                }
                return joined.block
            }
        }
        return out
    }

    /// A symbol's daily columns, allocated once and filled block by block (daily blocks have no
    /// UTC offsets).
    struct DailyColumns {
        var block = BarBlock()

        init(count n: Int) {
            block.times = [Int64](repeating: 0, count: n)
            block.open = [Double](repeating: 0, count: n)
            block.high = [Double](repeating: 0, count: n)
            block.low = [Double](repeating: 0, count: n)
            block.close = [Double](repeating: 0, count: n)
            block.volume = [Double](repeating: 0, count: n)
        }

        /// Copies a row's packed columns (``BarBlock/selectedColumns`` from `first`, `n` bars each)
        /// over the bars from `start`; `false` when a column does not hold `n` values.
        mutating func copy(_ cells: PostgresRandomAccessRow, from first: Int, count n: Int, at start: Int) -> Bool {
            func put<T: BitwiseCopyable>(_ k: Int, _ array: inout [T]) -> Bool {
                let size = MemoryLayout<T>.size
                guard let bytes = cells[first + k].bytes, bytes.readableBytes == n * size else { return n == 0 }
                return bytes.withUnsafeReadableBytes { src in
                    array.withUnsafeMutableBytes { dst in
                        guard let to = dst.baseAddress, let from = src.baseAddress, n > 0 else { return true }
                        to.advanced(by: start * size).copyMemory(from: from, byteCount: n * size)
                        return true
                    }
                }
            }
            guard put(0, &block.times), put(2, &block.open), put(3, &block.high), put(4, &block.low),
                put(5, &block.close), put(6, &block.volume)
            else { return false }
            #if !_endian(little)
            for i in start..<(start + n) {
                block.times[i] = Int64(littleEndian: block.times[i])
                for c in [\BarBlock.open, \.high, \.low, \.close, \.volume] {
                    block[keyPath: c][i] = Double(bitPattern: UInt64(littleEndian: block[keyPath: c][i].bitPattern))
                }
            }
            #endif
            return true
        }
    }

    /// An intraday series: the newest minute blocks before the window's end, a few at a time, until
    /// the collector has enough history.
    func intraday(
        _ symbol: String,
        _ timeframe: Timeframe,
        _ range: DateRange,
        _ lookbackBars: Int,
        _ c: PostgresConnection
    ) throws -> BarSeries {
        let window = IntradayWindow(timeframe: timeframe, range: range, lookbackBars: lookbackBars)
        var collector = window.collector(symbol: symbol)
        var before = window.upper
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

    /// Appends the packed columns of `row` (``BarBlock/selectedColumns`` from index `first`), copying
    /// each `bytea` straight out of the received buffer.
    static func append(_ row: PostgresRow, from first: Int, to block: inout BarBlock, symbol: String) throws {
        let cells = row.makeRandomAccess()
        guard cells.count >= first + BarBlock.columnCount else {
            throw MarketDataError(.corruptData, "stored bar block of \(symbol) lacks columns")
        }
        let before = block.count
        var ok = true
        for k in 0..<BarBlock.columnCount where ok {
            guard let bytes = cells[first + k].bytes else { continue }
            ok = bytes.withUnsafeReadableBytes { block.append(packedColumn: k, $0) }
        }
        try block.checkLengths(since: before, ok: ok, symbol: symbol)
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
        try described {
            if snapshot {
                return try connector.transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
            }
            return try connector.withConnection(body)
        }
    }

    func write<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try described { try connector.transaction(body) }
    }

    /// Runs `body`, turning the driver's errors into ``PostgresStoreError``s naming the URL (the
    /// stores' own errors pass through).
    private func described<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PSQLError {
            throw connector.describe(error)
        }
    }
}
