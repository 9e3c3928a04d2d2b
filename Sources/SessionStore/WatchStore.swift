import Foundation
import GRDB
import GRDBReads
import ScanCore

/// The live watches' tables (migration `sessions-watches-v1`):
///
/// - `live_watch(id PK, created_at, seq, request JSON, entries JSON)`: each watch with a snapshot of
///   its set (`{"seq", "entries"}`: the set after event `seq`; the events after it complete it);
/// - `live_watch_event(watch_id, seq, event JSON, PK (watch_id, seq))`: its enter/exit log.
enum WatchTables {
    static func create(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE live_watch (
                    id TEXT PRIMARY KEY NOT NULL,
                    created_at DOUBLE NOT NULL,
                    seq INTEGER NOT NULL,
                    request BLOB NOT NULL,
                    entries BLOB NOT NULL
                );
                CREATE TABLE live_watch_event (
                    watch_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    event BLOB NOT NULL,
                    PRIMARY KEY (watch_id, seq)
                );
                """
        )
    }
}

extension SessionStore {
    public func saveWatch(_ watch: StoredWatch) async throws {
        let request = try SessionRecords.encode(watch.request)
        let entries = try SessionRecords.encodeWatchSet(watch.entries, seq: watch.seq)
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO live_watch (id, created_at, seq, request, entries)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [
                    watch.id, watch.createdAt.timeIntervalSinceReferenceDate, watch.seq, request, entries,
                ]
            )
        }
    }

    public func recordEvents(watchId: String, events: [WatchEvent], seq: Int, entries: [WatchEntry]?) async throws {
        let encoded = try events.map { ($0.seq, try SessionRecords.encode($0)) }
        let set = try entries.map { try SessionRecords.encodeWatchSet($0, seq: seq) }
        try await writer.write { db in
            let insert = try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO live_watch_event (watch_id, seq, event) VALUES (?, ?, ?)"
            )
            for (n, data) in encoded { try insert.execute(arguments: [watchId, n, data]) }
            if let set {
                try db.execute(
                    sql: "UPDATE live_watch SET seq = ?, entries = ? WHERE id = ?",
                    arguments: [seq, set, watchId]
                )
            } else {
                try db.execute(sql: "UPDATE live_watch SET seq = ? WHERE id = ?", arguments: [seq, watchId])
            }
        }
    }

    public func deleteWatch(id: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM live_watch_event WHERE watch_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM live_watch WHERE id = ?", arguments: [id])
        }
    }

    public func watches() async throws -> [StoredWatch] {
        let rows: [(String, Double, Int, Data, Data)] = try await writer.readReturningReader { db in
            try Row.fetchAll(db, sql: "SELECT * FROM live_watch ORDER BY created_at, id").map {
                ($0["id"], $0["created_at"], $0["seq"], $0["request"], $0["entries"])
            }
        }
        var stored: [StoredWatch] = []
        for (id, created, seq, request, entries) in rows {
            let snapshot = try SessionRecords.decodeWatchSet(entries, rowSeq: seq)
            let after = snapshot.seq < seq ? try await events(watchId: id, after: snapshot.seq, limit: Int.max) : []
            stored.append(
                StoredWatch(
                    id: id,
                    request: try SessionRecords.decode(WatchRequest.self, request),
                    createdAt: Date(timeIntervalSinceReferenceDate: created),
                    seq: seq,
                    entries: StoredWatch.folding(snapshot.entries, after)
                )
            )
        }
        return stored
    }

    public func events(watchId: String, after: Int, limit: Int) async throws -> [WatchEvent] {
        let blobs: [Data] = try await writer.readReturningReader { db in
            try Data.fetchAll(
                db,
                sql: "SELECT event FROM live_watch_event WHERE watch_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                arguments: [watchId, after, max(0, limit)]
            )
        }
        return try blobs.map { try SessionRecords.decode(WatchEvent.self, $0) }
    }
}
