import FormulaEngine
import Foundation
import MarketData
import PostgresStore
import ScanCore
import Testing

@Suite("PostgresURL")
struct PostgresURLTests {
    @Test("parses user, password, host, port and database; hides the password")
    func parses() throws {
        let url = try PostgresURL(parsing: "postgres://scan:s%40cret@db.example:6543/market")
        #expect(
            url == PostgresURL(user: "scan", password: "s@cret", host: "db.example", port: 6543, database: "market")
        )
        #expect(url.description == "postgres://scan:***@db.example:6543/market")
        let bare = try PostgresURL(parsing: "postgresql://scan@[::1]/m")
        #expect(bare.host == "::1" && bare.port == 5432 && bare.password == nil)
        #expect(bare.description == "postgres://scan@[::1]:5432/m")
    }

    @Test(
        "refuses malformed URLs with a message that never shows the password",
        arguments: [
            "mysql://u:hunter2@h/db", "postgres://u:hunter2@h", "postgres://:hunter2@h/db",
            "postgres://u:hunter2@h:99999/db", "postgres://u:hunter2@h:port/db", "postgres://u:hunter2@h/db?sslmode=x",
            "postgres://u:hunter2@/db",
        ]
    )
    func refuses(_ text: String) {
        #expect {
            _ = try PostgresURL(parsing: text)
        } throws: { error in
            let message = "\(error)"
            return (error as? PostgresStoreError)?.kind == .invalidURL && !message.contains("hunter2")
                && message.contains("postgres://")
        }
    }

    @Test("--db and --store exclude each other; --store selects PostgreSQL")
    func location() throws {
        #expect(throws: PostgresStoreError.self) { try StoreLocation.choose(db: "a.sqlite", store: "postgres://u@h/d") }
        #expect(try StoreLocation.choose(db: "a.sqlite", store: nil) == .sqlite(path: "a.sqlite"))
        let pg = try StoreLocation.choose(db: nil, store: "postgres://u:pw@h/d")
        #expect(pg.description == "postgres://u:***@h:5432/d")
    }
}

@Suite("PostgreSQL store", .scratchPostgres, .serialized, .timeLimit(.minutes(3)))
struct PostgresStoreTests {
    func database(_ name: String = #function) throws -> PostgresURL {
        let clean = name.lowercased().filter { $0.isLetter || $0.isNumber }
        return try PostgresURL(parsing: try ScratchServer.running().createDatabase("t_\(clean.prefix(40))"))
    }

    @Test("market data reads back exactly as from SQLite (daily, weekly, minute, bulk)")
    func roundTrip() throws {
        let pg = try PostgresMarketDataStore.open(url: try database())
        let lite = try MarketDataStore.inMemory()
        for store in [pg, lite] as [any MarketDataBackend] {
            _ = try SampleData.load(into: store)
            let minutes = try MarketGenerator(.init(symbols: 3, days: 30, timeframe: .minute1, seed: 3))
            try minutes.write(into: store)
        }
        #expect(try pg.allSymbols() == lite.allSymbols())
        #expect(
            try pg.storedBarCount(timeframe: .daily, symbol: nil) == lite.storedBarCount(timeframe: .daily, symbol: nil)
        )
        #expect(try pg.latestDay(for: .daily) == lite.latestDay(for: .daily))
        #expect(try pg.latestDay(for: .minute5) == lite.latestDay(for: .minute5))
        let symbols = try lite.allSymbols().map(\.symbol)
        let range = DateRange(
            from: CalendarDay(year: 2021, month: 3, day: 1)!,
            to: CalendarDay(year: 2022, month: 6, day: 30)!
        )
        for tf in [Timeframe.daily, .weekly] {
            let a = try pg.loadBars(symbols: symbols + ["NOPE"], timeframe: tf, range: range, lookbackBars: 50)
            let b = try lite.loadBars(symbols: symbols + ["NOPE"], timeframe: tf, range: range, lookbackBars: 50)
            #expect(a.unknown == ["NOPE"] && b.unknown == ["NOPE"])
            #expect(b.series.values.filter { $0.count > 0 }.count == 48, "the sample's symbols have bars")
            for s in symbols {
                #expect(Self.same(a.series[s], b.series[s]), "\(s) \(tf)")
            }
        }
        let minuteSymbol = MarketGenerator.code(1)
        let last = try #require(try lite.latestDay(for: .minute1))
        for tf in [Timeframe.minute1, .minute15] {
            let q = BarQuery(
                symbol: minuteSymbol,
                timeframe: tf,
                range: DateRange(from: last.adding(days: -5), to: last),
                lookbackBars: 40
            )
            #expect(Self.same(try pg.loadBars(q), try lite.loadBars(q)), "\(tf)")
        }
        #expect(throws: MarketDataError.self) {
            try pg.loadBars(BarQuery(symbol: "NOPE", timeframe: .daily, range: range, lookbackBars: 0))
        }
    }

    static func same(_ a: BarSeries?, _ b: BarSeries?) -> Bool {
        guard let a, let b else { return false }
        return a.times == b.times && a.utcOffsets == b.utcOffsets && a.columns.open == b.columns.open
            && a.columns.high == b.columns.high && a.columns.low == b.columns.low && a.columns.close == b.columns.close
            && a.columns.volume == b.columns.volume
    }

    @Test("every write bumps the data version; the store's identity stays; another database has another")
    func versions() throws {
        let url = try database()
        let store = try PostgresMarketDataStore.open(url: url)
        let v0 = try store.storeVersion()
        try store.upsertSymbols([SymbolInfo(symbol: "A", market: "X")])
        let v1 = try store.storeVersion()
        #expect(v1.storeId == v0.storeId && v1.version > v0.version)
        _ = try store.allSymbols()
        #expect(try store.storeVersion() == v1)
        // A failed write (unknown symbol) changes nothing.
        let bars = BarSeries(
            symbol: "B",
            timeframe: .daily,
            times: [86_400],
            columns: PriceColumns(open: [1], high: [1], low: [1], close: [1], volume: [1])
        )
        #expect(throws: MarketDataError.self) { try store.writeBars([bars], createSymbols: false) }
        #expect(try store.storeVersion() == v1)
        let reopened = try PostgresMarketDataStore.open(url: url)
        #expect(try reopened.storeVersion() == v1)
        let other = try PostgresMarketDataStore.open(url: try database("versionsOther"))
        #expect(try other.storeVersion().storeId != v1.storeId)
    }

    @Test("sessions, jobs and chunk results round-trip; the same chunk twice is stored once")
    func sessions() async throws {
        let store = try PostgresSessionStore.open(url: try database())
        let request = BatchScanRequest(
            symbolCriteria: SymbolCriteria(markets: ["KOSPI"]),
            timeframe: .daily,
            formula: Formula(name: "f", source: "close > 1")
        )
        let match = SignalMatch(
            symbol: "A",
            timestamp: BarTimestamp(epochSeconds: 86_400, utcOffsetSeconds: 0, isIntraday: false),
            signal: "f",
            close: 2.5,
            values: ["rsi": .nan]
        )
        var session = ScanSession(
            id: "s1",
            status: .running,
            request: request,
            createdAt: Date(timeIntervalSinceReferenceDate: 1000.25)
        )
        try await store.save(session)
        session.status = .completed
        session.result = BatchScanUseCase.result(
            jobId: "s1",
            results: [SymbolResult(symbol: "A", matches: [match], barsScanned: 10)],
            processingTime: .milliseconds(3),
            cancelled: false
        )
        session.finishedAt = Date(timeIntervalSinceReferenceDate: 2000.5)
        try await store.save(session)
        let back = try #require(try await store.session(id: "s1"))
        #expect(
            back.status == .completed && back.finishedAt == session.finishedAt && back.createdAt == session.createdAt
        )
        #expect(back.result?.signals.matches.first?.close == 2.5)
        #expect(back.result?.signals.matches.first?.values["rsi"]?.isNaN == true)
        #expect(try await store.list(status: .completed, limit: 10).map(\.id) == ["s1"])
        #expect(try await store.list(status: .completed, limit: 10).first?.result == nil, "a list has no results")
        #expect(try await store.list(status: .running, limit: 10).isEmpty)
        #expect(try await store.session(id: "nope") == nil)

        let job = ProcessingJob(
            id: "s1",
            symbols: ["A", "B"],
            timeframe: .daily,
            dateRange: DateRange(from: CalendarDay(daysSinceEpoch: 1), to: CalendarDay(daysSinceEpoch: 9)),
            formula: request.formula,
            dataVersion: StoreVersion(storeId: 7, version: 3)
        )
        try await store.saveJob(job, chunkSize: 1)
        try await store.saveChunkResult(
            jobId: "s1",
            chunkIndex: 0,
            results: [SymbolResult(symbol: "A", matches: [match])]
        )
        try await store.saveChunkResult(jobId: "s1", chunkIndex: 0, results: [SymbolResult(symbol: "A", error: "x")])
        let stored = try #require(try await store.job(id: "s1"))
        #expect(stored.job == job && stored.chunkSize == 1)
        let chunks = try await store.chunkResults(jobId: "s1")
        #expect(chunks.count == 1 && chunks[0]?.first?.error == nil)
        try await store.deleteJob(id: "s1")
        #expect(try await store.job(id: "s1") == nil)
        #expect(try await store.chunkResults(jobId: "s1").isEmpty)
    }

    @Test("bad credentials, a missing database, a closed port: clear errors naming the URL, password hidden")
    func badStores() throws {
        let server = try ScratchServer.running()
        let wrong = try PostgresURL(parsing: "postgres://marketscan:wrong-pw@127.0.0.1:\(server.port)/marketscan")
        #expect {
            _ = try PostgresMarketDataStore.open(url: wrong)
        } throws: { error in
            (error as? PostgresStoreError)?.kind == .authentication && "\(error)".contains("postgres://marketscan:***@")
                && !"\(error)".contains("wrong-pw")
        }
        let missing = try PostgresURL(parsing: "postgres://marketscan:marketscan@127.0.0.1:\(server.port)/no_such_db")
        #expect {
            _ = try PostgresSessionStore.open(url: missing)
        } throws: { error in
            (error as? PostgresStoreError)?.kind == .database && "\(error)".contains("no_such_db")
        }
        // A port nothing listens on: refused at once, not a hang.
        let closed = try PostgresURL(parsing: "postgres://marketscan:marketscan@127.0.0.1:1/marketscan")
        #expect {
            _ = try PostgresMarketDataStore.open(url: closed)
        } throws: { error in
            (error as? PostgresStoreError)?.kind == .unreachable && "\(error)".contains("127.0.0.1:1/marketscan")
        }
    }

    @Test("a database with a newer schema is refused, naming both versions")
    func newerSchema() throws {
        let url = try database()
        _ = try PostgresMarketDataStore.open(url: url)
        try ScratchServer.running().sql(
            url.database,
            "UPDATE marketscan_schema SET version = 99 WHERE component = 'marketdata'"
        )
        #expect {
            _ = try PostgresMarketDataStore.open(url: url)
        } throws: { error in
            let m = "\(error)"
            return (error as? PostgresStoreError)?.kind == .schema && m.contains("99") && m.contains("(1)")
        }
    }

    @Test("a server restart between reads is ridden out on a new connection")
    func restart() throws {
        let store = try PostgresMarketDataStore.open(url: try database())
        try store.upsertSymbols([SymbolInfo(symbol: "A")])
        let before = try store.storeVersion()
        try ScratchServer.running().restart()
        #expect(try store.storeVersion() == before)
        #expect(try store.allSymbols().map(\.symbol) == ["A"])
    }
}

@Suite("PostgreSQL store: listing and the event study", .scratchPostgres, .serialized, .timeLimit(.minutes(3)))
struct PostgresListingAndStudyTests {
    /// The bundled sample in a new PostgreSQL database `name` and in an in-memory SQLite store.
    static func sampleStores(_ name: String) throws -> (PostgresMarketDataStore, MarketDataStore) {
        let pg = try PostgresMarketDataStore.open(
            url: try PostgresURL(parsing: try ScratchServer.running().createDatabase(name))
        )
        let lite = try MarketDataStore.inMemory()
        for store in [pg, lite] as [any MarketDataBackend] { _ = try SampleData.load(into: store) }
        return (pg, lite)
    }

    @Test("LIST_SYMBOLS' listing is the SQLite store's: stored bar ranges, filters, pages")
    func listing() async throws {
        let (pg, lite) = try Self.sampleStores("t_listing")
        let all = try await pg.listSymbols(SymbolQuery())
        #expect(all.total == 48 && all.symbols.allSatisfy { $0.bars.first?.timeframe == .daily })
        #expect(all == (try await lite.listSymbols(SymbolQuery())))
        for query in [SymbolQuery(markets: ["kosdaq"]), SymbolQuery(search: "삼성", offset: 1, limit: 2)] {
            #expect(try await pg.listSymbols(query) == (try await lite.listSymbols(query)), "\(query)")
        }
    }

    @Test("a scan's event study is the same on both stores, with the bars after --to read on PostgreSQL too")
    func studyAcrossStores() async throws {
        let (pg, lite) = try Self.sampleStores("t_study")
        // The sample ends 2022-09-19: signals of the range's last weeks need bars after --to for 20-bar returns.
        let to = try #require(CalendarDay(year: 2022, month: 6, day: 30))
        var request = BatchScanRequest(
            symbolCriteria: SymbolCriteria(markets: ["KOSPI"]),
            timeframe: .daily,
            dateRange: DateRange(from: try #require(CalendarDay(year: 2021, month: 7, day: 1)), to: to),
            formula: Formula(name: "up", source: "close > sma(close, 20)")
        )
        request.study = try StudySpec(horizons: [1, 5, 20])
        func scan(_ store: any MarketDataBackend) async throws -> BatchScanResult {
            try await BatchScanUseCase(
                symbols: store,
                bars: store,
                engine: InProcessEngine(bars: store, threads: 2, chunkSize: 5)
            ).execute(request)
        }
        let a = try await scan(pg)
        let b = try await scan(lite)
        #expect(a.errorsCount == 0 && a.signals.matches.count > 100)
        #expect("\(a.signals.matches)" == "\(b.signals.matches)")
        #expect("\(String(describing: a.study))" == "\(String(describing: b.study))")
        let last = a.signals.matches.filter { $0.timestamp.day == to }
        #expect(!last.isEmpty && last.allSatisfy { $0.forward?.returns.allSatisfy(\.isFinite) == true })
    }
}
