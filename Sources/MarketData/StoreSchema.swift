import GRDB
import ScanCore

/// The store's tables, created by a ``DatabaseMigrator`` whose migration names start with
/// `marketdata-`, so the session store can run its own migrator on the same database file.
///
/// - `symbols(symbol PK, name, market, sector, market_cap NULL, active)`
/// - `bar_blocks(symbol, timeframe, period, count, first_time, last_time, times, offsets, open, high,
///   low, close, volume)`: one row per symbol, stored timeframe and period (the UTC year for `1d`,
///   `year * 100 + month` for `1m`), holding that period's bars as packed little-endian columns
///   (`times` Int64 epoch seconds, `offsets` Int32 seconds — empty for daily bars — and Float64 prices
///   and volume). Reading a symbol's ten years of daily bars is ten row reads and a few `memcpy`s.
///   The covering index `bar_blocks_span` answers "how many bars will this load return" without
///   touching the blobs, so a load allocates its columns once, at their final size.
/// - `marketdata_meta(key PK, value)`: `data_version`, bumped in the same transaction as every write,
///   and `store_id`, the store's random identity (v2).
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("marketdata-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE symbols (
                        symbol TEXT NOT NULL PRIMARY KEY,
                        name TEXT NOT NULL DEFAULT '',
                        market TEXT NOT NULL DEFAULT '',
                        sector TEXT NOT NULL DEFAULT '',
                        market_cap REAL,
                        active INTEGER NOT NULL DEFAULT 1
                    );
                    CREATE TABLE bar_blocks (
                        symbol TEXT NOT NULL,
                        timeframe TEXT NOT NULL,
                        period INTEGER NOT NULL,
                        count INTEGER NOT NULL,
                        first_time INTEGER NOT NULL,
                        last_time INTEGER NOT NULL,
                        times BLOB NOT NULL,
                        offsets BLOB NOT NULL,
                        open BLOB NOT NULL,
                        high BLOB NOT NULL,
                        low BLOB NOT NULL,
                        close BLOB NOT NULL,
                        volume BLOB NOT NULL,
                        PRIMARY KEY (symbol, timeframe, period)
                    );
                    CREATE INDEX bar_blocks_last_time ON bar_blocks(timeframe, last_time);
                    CREATE INDEX bar_blocks_span ON bar_blocks(symbol, timeframe, first_time, count);
                    CREATE TABLE marketdata_meta (
                        key TEXT NOT NULL PRIMARY KEY,
                        value INTEGER NOT NULL
                    );
                    INSERT INTO marketdata_meta(key, value) VALUES ('data_version', 1);
                    """
            )
        }
        migrator.registerMigration("marketdata-v2") { db in
            // The store's identity (see ScanCore's StoreVersion): a copy of the file keeps it.
            try db.execute(sql: "INSERT INTO marketdata_meta(key, value) VALUES ('store_id', random())")
        }
        return migrator
    }

    /// The store's identity and data version, read in one transaction.
    static func storeVersion(_ db: Database) throws -> StoreVersion {
        var id: Int64 = 0
        var version: Int64 = 0
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM marketdata_meta") {
            switch row[0] as String {
            case "store_id": id = row[1]
            case "data_version": version = row[1]
            default: break
            }
        }
        return StoreVersion(storeId: UInt64(bitPattern: id), version: version)
    }

    /// Bumps `data_version`; call inside every write transaction.
    static func bumpVersion(_ db: Database) throws {
        try db.execute(sql: "UPDATE marketdata_meta SET value = value + 1 WHERE key = 'data_version'")
    }
}
