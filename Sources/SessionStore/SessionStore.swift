import Foundation
import GRDB
import ScanCore

/// Scan sessions and resumable jobs in SQLite (GRDB), by default in the market-data database file.
///
/// Tables `scan_session`, `scan_job`, `scan_job_chunk` (and the live watches' tables, see
/// `WatchStore.swift`) are created by migrations named
/// `sessions-…` (MarketData runs its own migrator on the same file). A file database is opened as a
/// WAL `DatabasePool`. Requests, results and chunk results are stored as JSON blobs; matches are packed
/// column-wise. Dates are stored as seconds since 2001-01-01 (`Date.timeIntervalSinceReferenceDate`)
/// so they read back exactly. All async methods run on GRDB's own queues, never the cooperative pool.
public final class SessionStore: ScanSessionRepository, JobRepository, WatchRepository, Sendable {
    public let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` in WAL mode and migrates it. Blocks.
    public convenience init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // WAL + NORMAL: a commit survives the process being killed (what resuming relies on); only
            // an OS crash or power loss can lose the last commits. FULL would fsync every session
            // transition and chunk result, which is most of a small scan's time.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        try self.init(writer: DatabasePool(path: path, configuration: config))
    }

    /// Uses an open database (for example the market-data store's pool, or an in-memory
    /// `DatabaseQueue` in tests) and migrates it. Blocks.
    public init(writer: any DatabaseWriter) throws {
        self.writer = writer
        // Two processes opening a new file at once may both see a migration missing; the loser's
        // CREATE fails. Migrating again then finds it applied, so retry a few times.
        var attempt = 0
        while true {
            do {
                try Self.migrator.migrate(writer)
                break
            } catch let error as DatabaseError where attempt < 3 && error.resultCode == .SQLITE_ERROR {
                attempt += 1
                Thread.sleep(forTimeInterval: 0.05 * Double(attempt))
            }
        }
    }

    /// A private in-memory store (tests, throw-away runs).
    public static func inMemory() throws -> SessionStore {
        try SessionStore(writer: DatabaseQueue())
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("sessions-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE scan_session (
                        id TEXT PRIMARY KEY NOT NULL,
                        status TEXT NOT NULL,
                        created_at DOUBLE NOT NULL,
                        started_at DOUBLE,
                        finished_at DOUBLE,
                        progress_completed INTEGER NOT NULL,
                        progress_total INTEGER NOT NULL,
                        progress_matches INTEGER NOT NULL,
                        error TEXT,
                        request BLOB NOT NULL,
                        result BLOB
                    );
                    CREATE INDEX scan_session_created ON scan_session(created_at);
                    CREATE INDEX scan_session_status ON scan_session(status, created_at);
                    CREATE TABLE scan_job (
                        id TEXT PRIMARY KEY NOT NULL,
                        job BLOB NOT NULL,
                        chunk_size INTEGER NOT NULL
                    );
                    CREATE TABLE scan_job_chunk (
                        job_id TEXT NOT NULL,
                        chunk_index INTEGER NOT NULL,
                        results BLOB NOT NULL,
                        PRIMARY KEY (job_id, chunk_index)
                    );
                    """
            )
        }
        m.registerMigration("sessions-watches-v1") { db in try WatchTables.create(db) }
        return m
    }

    // MARK: ScanSessionRepository

    public func save(_ session: ScanSession) async throws {
        let request = try SessionRecords.encodeRequest(session.request)
        let result = try session.result.map(SessionRecords.encodeResult)
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO scan_session (id, status, created_at, started_at, finished_at,
                        progress_completed, progress_total, progress_matches, error, request, result)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.id, session.status.rawValue, session.createdAt.timeIntervalSinceReferenceDate,
                    session.startedAt?.timeIntervalSinceReferenceDate,
                    session.finishedAt?.timeIntervalSinceReferenceDate,
                    session.progress.completed, session.progress.total, session.progress.matchesSoFar,
                    session.error, request, result,
                ]
            )
        }
    }

    public func session(id: String) async throws -> ScanSession? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM scan_session WHERE id = ?", arguments: [id]).map(
                Self.session(from:)
            )
        }
    }

    /// Every column but the result (read as `NULL`): listed sessions come without their results.
    static let listColumns = """
        id, status, created_at, started_at, finished_at, progress_completed, progress_total, progress_matches, \
        error, request, NULL AS result
        """

    public func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession] {
        let limit = max(0, limit)
        return try await writer.read { db in
            let rows: [Row]
            if let status {
                rows = try Row.fetchAll(
                    db,
                    sql:
                        "SELECT \(Self.listColumns) FROM scan_session WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                    arguments: [status.rawValue, limit]
                )
            } else {
                rows = try Row.fetchAll(
                    db,
                    sql: "SELECT \(Self.listColumns) FROM scan_session ORDER BY created_at DESC, id DESC LIMIT ?",
                    arguments: [limit]
                )
            }
            return try rows.map(Self.session(from:))
        }
    }

    /// Deletes finished sessions outside `policy`, and their jobs and chunk results, in one transaction.
    /// Freed pages are reused by later writes (the file does not shrink without a `VACUUM`).
    public func prune(_ policy: RetentionPolicy, now: Date = Date()) async throws -> Int {
        if policy.keepsEverything { return 0 }
        let final = ScanStatus.allCases.filter(\.isFinal).map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let cutoff = policy.cutoff(now: now)?.timeIntervalSinceReferenceDate
        let keep = policy.keepSessions
        return try await writer.write { db in
            var doomed = Set<String>()
            if let keep {
                // Everything after the newest `keep` finished sessions.
                let ids = try String.fetchAll(
                    db,
                    sql: """
                        SELECT id FROM scan_session WHERE status IN (\(final))
                        ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?
                        """,
                    arguments: [keep]
                )
                doomed.formUnion(ids)
            }
            if let cutoff {
                let ids = try String.fetchAll(
                    db,
                    sql: """
                        SELECT id FROM scan_session WHERE status IN (\(final))
                        AND COALESCE(finished_at, created_at) < ?
                        """,
                    arguments: [cutoff]
                )
                doomed.formUnion(ids)
            }
            for id in doomed {
                try db.execute(sql: "DELETE FROM scan_job_chunk WHERE job_id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM scan_job WHERE id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM scan_session WHERE id = ?", arguments: [id])
            }
            return doomed.count
        }
    }

    private static func session(from row: Row) throws -> ScanSession {
        let id: String = row["id"]
        let status = try SessionRecords.status(row["status"], session: id)
        let requestData: Data = row["request"]
        let resultData: Data? = row["result"]
        let started: Double? = row["started_at"]
        let finished: Double? = row["finished_at"]
        return ScanSession(
            id: id,
            status: status,
            request: try SessionRecords.decodeRequest(requestData),
            progress: ScanProgress(
                completed: row["progress_completed"],
                total: row["progress_total"],
                matchesSoFar: row["progress_matches"]
            ),
            result: try resultData.map(SessionRecords.decodeResult),
            error: row["error"],
            createdAt: Date(timeIntervalSinceReferenceDate: row["created_at"]),
            startedAt: started.map(Date.init(timeIntervalSinceReferenceDate:)),
            finishedAt: finished.map(Date.init(timeIntervalSinceReferenceDate:))
        )
    }

    // MARK: JobRepository

    public func saveJob(_ job: ProcessingJob, chunkSize: Int) async throws {
        let data = try SessionRecords.encodeJob(job)
        try await writer.write { db in
            // Chunk results of an earlier, different version of this job must not be merged into it.
            try db.execute(sql: "DELETE FROM scan_job_chunk WHERE job_id = ?", arguments: [job.id])
            try db.execute(
                sql: "INSERT OR REPLACE INTO scan_job (id, job, chunk_size) VALUES (?, ?, ?)",
                arguments: [job.id, data, chunkSize]
            )
        }
    }

    public func job(id: String) async throws -> (job: ProcessingJob, chunkSize: Int)? {
        let stored: (Data, Int)? = try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT job, chunk_size FROM scan_job WHERE id = ?", arguments: [id])
                .map { ($0["job"], $0["chunk_size"]) }
        }
        guard let (data, chunkSize) = stored else { return nil }
        return (try SessionRecords.decodeJob(data), chunkSize)
    }

    public func saveChunkResult(jobId: String, chunkIndex: Int, results: [SymbolResult]) async throws {
        try await insertChunk(jobId: jobId, chunkIndex: chunkIndex, data: try SessionRecords.encodeChunk(results))
    }

    public func saveChunkResult(
        jobId: String,
        chunkIndex: Int,
        results: [SymbolResult],
        resultsBlock: ArraySlice<UInt8>
    ) async throws {
        try await insertChunk(
            jobId: jobId,
            chunkIndex: chunkIndex,
            data: SessionRecords.chunkRecord(resultsBlock: resultsBlock)
        )
    }

    private func insertChunk(jobId: String, chunkIndex: Int, data: Data) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO scan_job_chunk (job_id, chunk_index, results) VALUES (?, ?, ?)",
                arguments: [jobId, chunkIndex, data]
            )
        }
    }

    public func chunkResults(jobId: String) async throws -> [Int: [SymbolResult]] {
        let rows: [(Int, Data)] = try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT chunk_index, results FROM scan_job_chunk WHERE job_id = ?",
                arguments: [jobId]
            )
            .map { ($0["chunk_index"], $0["results"]) }
        }
        var out: [Int: [SymbolResult]] = [:]
        for (index, data) in rows {
            out[index] = try SessionRecords.decodeChunk(data)
        }
        return out
    }

    /// Removes a job and its chunk results (the service calls it once the session's result is stored).
    public func deleteJob(id: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM scan_job_chunk WHERE job_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM scan_job WHERE id = ?", arguments: [id])
        }
    }
}
