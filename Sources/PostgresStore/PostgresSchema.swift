import Logging
import PostgresNIO

/// The store's schema in PostgreSQL, created and migrated by the program.
///
/// `marketscan_schema(component PK, version)` records each component's schema version
/// (`marketdata`, `sessions`); a component's migrations run in one transaction under an advisory
/// lock, so processes opening a new database at once do not race. A database whose recorded
/// version is newer than this program knows is refused with a message naming both versions.
enum PostgresSchema {
    /// The advisory lock every migration holds (an arbitrary constant: "MSCN").
    static let lockKey: Int64 = 0x4D53_434E

    /// Connects to `url` (checking the credentials and the database) and brings `component`'s tables
    /// to `migrations`: how every store opens. Blocks; throws ``PostgresStoreError`` naming the URL.
    static func open(
        _ url: PostgresURL,
        _ logger: Logger,
        _ component: String,
        _ migrations: [[String]]
    ) throws -> PostgresConnector {
        let connector = PostgresConnector(url: url, logger: logger)
        try connector.connectOnce()
        try migrate(connector, component: component, migrations: migrations)
        return connector
    }

    /// Brings `component` to `migrations.count` (each migration a list of statements). Blocks.
    static func migrate(_ connector: PostgresConnector, component: String, migrations: [[String]]) throws {
        try connector.transaction { c in
            try connector.run("SELECT pg_advisory_xact_lock(\(lockKey))", on: c)
            try connector.run(
                """
                CREATE TABLE IF NOT EXISTS marketscan_schema (
                    component text PRIMARY KEY,
                    version bigint NOT NULL
                )
                """,
                on: c
            )
            let rows = try connector.run(
                "SELECT version FROM marketscan_schema WHERE component = \(component)",
                on: c
            )
            let current = try rows.first.map { try $0.decode(Int64.self) } ?? 0
            guard current <= migrations.count else {
                throw PostgresStoreError(
                    .schema,
                    url: connector.url.description,
                    "the database's \(component) schema is version \(current), newer than this program's "
                        + "(\(migrations.count)): upgrade the program, or use another database"
                )
            }
            guard current < migrations.count else { return }
            for migration in migrations[Int(current)...] {
                for statement in migration { try connector.run(PostgresQuery(unsafeSQL: statement), on: c) }
            }
            let target = Int64(migrations.count)
            try connector.run(
                """
                INSERT INTO marketscan_schema (component, version) VALUES (\(component), \(target))
                ON CONFLICT (component) DO UPDATE SET version = excluded.version
                """,
                on: c
            )
        }
    }

    /// The market-data tables: the SQLite store's layout (see `MarketData`'s `StoreSchema`) with
    /// `bytea` columns holding the packed little-endian columns of one symbol, stored timeframe and
    /// period per row.
    static let marketData: [[String]] = [
        [
            """
            CREATE TABLE symbols (
                symbol text PRIMARY KEY,
                name text NOT NULL DEFAULT '',
                market text NOT NULL DEFAULT '',
                sector text NOT NULL DEFAULT '',
                market_cap double precision,
                active boolean NOT NULL DEFAULT true
            )
            """,
            """
            CREATE TABLE bar_blocks (
                symbol text NOT NULL,
                timeframe text NOT NULL,
                period bigint NOT NULL,
                count bigint NOT NULL,
                first_time bigint NOT NULL,
                last_time bigint NOT NULL,
                times bytea NOT NULL,
                offsets bytea NOT NULL,
                open bytea NOT NULL,
                high bytea NOT NULL,
                low bytea NOT NULL,
                close bytea NOT NULL,
                volume bytea NOT NULL,
                PRIMARY KEY (symbol, timeframe, period)
            )
            """,
            "CREATE INDEX bar_blocks_last_time ON bar_blocks (timeframe, last_time)",
            "CREATE INDEX bar_blocks_span ON bar_blocks (symbol, timeframe, first_time)",
            "CREATE TABLE marketdata_meta (key text PRIMARY KEY, value bigint NOT NULL)",
            "INSERT INTO marketdata_meta (key, value) VALUES ('data_version', 1)",
            // The store's identity: 64 random bits.
            """
            INSERT INTO marketdata_meta (key, value)
            VALUES ('store_id', ('x' || substr(md5(random()::text || clock_timestamp()::text), 1, 16))::bit(64)::bigint)
            """,
        ]
    ]

    /// The session tables (the SQLite session store's layout; dates as seconds since 2001-01-01).
    static let sessions: [[String]] = [
        [
            """
            CREATE TABLE scan_session (
                id text PRIMARY KEY,
                status text NOT NULL,
                created_at double precision NOT NULL,
                started_at double precision,
                finished_at double precision,
                progress_completed bigint NOT NULL,
                progress_total bigint NOT NULL,
                progress_matches bigint NOT NULL,
                error text,
                request bytea NOT NULL,
                result bytea
            )
            """,
            "CREATE INDEX scan_session_created ON scan_session (created_at)",
            "CREATE INDEX scan_session_status ON scan_session (status, created_at)",
            "CREATE TABLE scan_job (id text PRIMARY KEY, job bytea NOT NULL, chunk_size bigint NOT NULL)",
            """
            CREATE TABLE scan_job_chunk (
                job_id text NOT NULL,
                chunk_index bigint NOT NULL,
                results bytea NOT NULL,
                PRIMARY KEY (job_id, chunk_index)
            )
            """,
            // Live watches (SessionStore's `sessions-watches-v1`).
            """
            CREATE TABLE live_watch (
                id text PRIMARY KEY,
                created_at double precision NOT NULL,
                seq bigint NOT NULL,
                request bytea NOT NULL,
                entries bytea NOT NULL
            )
            """,
            """
            CREATE TABLE live_watch_event (
                watch_id text NOT NULL,
                seq bigint NOT NULL,
                event bytea NOT NULL,
                PRIMARY KEY (watch_id, seq)
            )
            """,
        ]
    ]
}
