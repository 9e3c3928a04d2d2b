import Logging
import MarketData
import ScanCore
import SessionStore

/// Which store a command uses, chosen once from its options and the environment: an SQLite file
/// (`--db PATH`, `$MARKETSCAN_DB`, `./marketscan.sqlite` — the embedded default) or the shared
/// PostgreSQL server (`--store URL`, `$MARKETSCAN_STORE`).
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresURL)

    /// `--db` and `--store` exclude each other; either wins over the environment, and
    /// `$MARKETSCAN_STORE` wins over `$MARKETSCAN_DB`. Throws for an invalid URL (password hidden).
    public static func choose(db: String?, store: String?) throws -> StoreLocation {
        if db != nil, store != nil {
            throw PostgresStoreError(
                .invalidURL,
                url: PostgresURL.masked(store ?? ""),
                "--db and --store cannot be used together"
            )
        }
        if let store { return .postgres(try PostgresURL(parsing: store)) }
        if let db { return .sqlite(path: db) }
        if let url = try PostgresURL.fromEnvironment() { return .postgres(url) }
        return .sqlite(path: MarketDataStore.defaultPath)
    }

    /// `sqlite:PATH` or the PostgreSQL URL without its password (what heartbeats and logs show).
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url): url.description
        }
    }

    /// Opens (creating and migrating) the market-data store. Blocks.
    public func openMarketData(logger: Logger = Logger(label: "store")) throws -> any MarketDataBackend {
        switch self {
        case .sqlite(let path): try MarketDataStore.open(path: path)
        case .postgres(let url): try PostgresMarketDataStore.open(url: url, logger: logger)
        }
    }

    /// Opens (creating and migrating) the session store. Blocks.
    public func openSessions(
        logger: Logger = Logger(label: "store")
    ) throws
        -> any ScanSessionRepository & JobRepository & WatchRepository
    {
        switch self {
        case .sqlite(let path): try SessionStore(path: path)
        case .postgres(let url): try PostgresSessionStore.open(url: url, logger: logger)
        }
    }
}
