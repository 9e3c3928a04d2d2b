import Foundation
import GRDB
import GRDBReads
import ScanCore
import Synchronization

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
    /// Each running session's request as last encoded (it is saved with every transition, unchanged).
    private let requests = EncodedRequests()
    /// Chunk records waiting to be written together (see ``insertChunk(jobId:chunkIndex:data:)``).
    private let chunkQueue = Mutex(ChunkQueue())
    /// Checkpoints the file's WAL after the writes that end a piece of work (``WALCheckpointer``);
    /// `nil` for a database opened elsewhere (``init(writer:)``).
    let checkpointer: WALCheckpointer?

    /// The size the WAL file is cut back to once its frames are checkpointed (`journal_size_limit`).
    public static let walSizeLimitBytes = 64 << 20

    /// Opens (creating if needed) the database at `path` in WAL mode and migrates it. Blocks.
    public convenience init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // WAL + NORMAL: a commit survives the process being killed (what resuming relies on); only
            // an OS crash or power loss can lose the last commits. FULL would fsync every session
            // transition and chunk result, which is most of a small scan's time.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // SQLite keeps the WAL file at its largest size and reuses it; a burst of large results
            // would leave that much on disk for good. Cut it back to 64 MB when it restarts.
            try db.execute(sql: "PRAGMA journal_size_limit = \(Self.walSizeLimitBytes)")
            // Checkpoints run after a session ends, off the writers' path (``WALCheckpointer``); the
            // automatic one, inside whichever commit fills the WAL, stays only as a safety net.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(WALCheckpointer.safetyNetFrames)")
            // Debian's SQLite is built with SECURE_DELETE, which overwrites every freed page with zeros:
            // each scan's chunk records, freed when its result is stored, were written to the WAL a
            // second time as zeros and then checkpointed (BENCHMARKS.md, "A study's writes"). FAST
            // zeroes deleted content only in pages written anyway.
            try db.execute(sql: "PRAGMA secure_delete = FAST")
        }
        try self.init(
            writer: DatabasePool(path: path, configuration: config),
            checkpointer: WALCheckpointer(path: path)
        )
    }

    /// Uses an open database (for example the market-data store's pool, or an in-memory
    /// `DatabaseQueue` in tests) and migrates it. Blocks.
    public convenience init(writer: any DatabaseWriter) throws {
        try self.init(writer: writer, checkpointer: nil)
    }

    private init(writer: any DatabaseWriter, checkpointer: WALCheckpointer?) throws {
        self.writer = writer
        self.checkpointer = checkpointer
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

    /// A final state (completed, failed, cancelled) also drops the session's job and chunk results in
    /// the same transaction: the stored result is whole, so a restart has nothing of it to resume.
    public func save(_ session: ScanSession) async throws {
        let request = try requests.encoded(session)
        let result = try session.result.map(SessionRecords.encodeResult)
        let final = session.status.isFinal
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
            if final { try Self.deleteJob(session.id, in: db) }
        }
        if final {
            requests.forget(session.id)
            checkpointer?.request()
        }
    }

    public var finalStateDropsJob: Bool { true }

    public func session(id: String) async throws -> ScanSession? {
        try await writer.readReturningReader { db in
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
        return try await writer.readReturningReader { db in
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
        let pruned = try await writer.write { db in
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
        if pruned > 0 { checkpointer?.request() }
        return pruned
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

    /// In one write transaction: the stored job and its chunk results when it is this very job, else
    /// the job stored (and chunk results of an earlier version of it dropped).
    public func resumeOrSaveJob(_ job: ProcessingJob, chunkSize: Int) async throws -> StoredJob? {
        let data = try SessionRecords.encodeJob(job)
        let stored: (chunkSize: Int, rows: [(Int, Data)])? = try await writer.write { db in
            if let row = try Row.fetchOne(
                db,
                sql: "SELECT job, chunk_size FROM scan_job WHERE id = ?",
                arguments: [job.id]
            ), try SessionRecords.decodeJob(row["job"]) == job {
                let rows = try Row.fetchAll(
                    db,
                    sql: "SELECT chunk_index, results FROM scan_job_chunk WHERE job_id = ?",
                    arguments: [job.id]
                ).map { ($0["chunk_index"] as Int, $0["results"] as Data) }
                return (row["chunk_size"], rows)
            }
            try db.execute(sql: "DELETE FROM scan_job_chunk WHERE job_id = ?", arguments: [job.id])
            try db.execute(
                sql: "INSERT OR REPLACE INTO scan_job (id, job, chunk_size) VALUES (?, ?, ?)",
                arguments: [job.id, data, chunkSize]
            )
            return nil
        }
        guard let stored else { return nil }
        var chunks: [Int: [SymbolResult]] = [:]
        for (index, data) in stored.rows { chunks[index] = try SessionRecords.decodeChunk(data) }
        return StoredJob(chunkSize: stored.chunkSize, chunks: chunks)
    }

    public func job(id: String) async throws -> (job: ProcessingJob, chunkSize: Int)? {
        let stored: (Data, Int)? = try await writer.readReturningReader { db in
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

    /// Group commit: a record is queued; the first caller while no write runs writes every queued record
    /// in one transaction (records queued meanwhile go in the next one, written by a task). Each caller
    /// returns once the transaction holding its record is committed (or throws its error).
    private func insertChunk(jobId: String, chunkIndex: Int, data: Data) async throws {
        let leads = chunkQueue.withLock { q -> Bool in
            guard q.writing else {
                q.writing = true
                return true
            }
            return false
        }
        if leads {
            let result = await writeChunks([(jobId, chunkIndex, data)])
            handOffQueuedChunks()
            return try result.get()
        }
        let queued = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Bool, any Error>) in
            let queued = chunkQueue.withLock { q -> Bool in
                guard q.writing else {
                    q.writing = true
                    return false
                }
                q.rows.append((jobId, chunkIndex, data))
                q.waiters.append(c)
                return true
            }
            if !queued { c.resume(returning: false) }
        }
        if !queued {  // the write ended between the two looks: lead now
            let result = await writeChunks([(jobId, chunkIndex, data)])
            handOffQueuedChunks()
            try result.get()
        }
    }

    /// Writes what was queued while a write ran, batch after batch, in a task; clears `writing` when
    /// nothing is queued.
    private func handOffQueuedChunks() {
        let more = chunkQueue.withLock { q -> Bool in
            if q.rows.isEmpty { q.writing = false }
            return q.writing
        }
        guard more else { return }
        Task { await self.drainQueuedChunks() }
    }

    private func drainQueuedChunks() async {
        while true {
            let batch: ChunkQueue.Batch? = chunkQueue.withLock { q in q.take() }
            guard let batch else { return }
            let result = await writeChunks(batch.rows)
            for w in batch.waiters {
                switch result {
                case .success: w.resume(returning: true)
                case .failure(let error): w.resume(throwing: error)
                }
            }
        }
    }

    private func writeChunks(_ rows: [ChunkQueue.Row]) async -> Result<Void, any Error> {
        do {
            try await writer.write { db in
                for row in rows {
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO scan_job_chunk (job_id, chunk_index, results) VALUES (?, ?, ?)",
                        arguments: [row.jobId, row.chunkIndex, row.data]
                    )
                }
            }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    public func chunkResults(jobId: String) async throws -> [Int: [SymbolResult]] {
        let rows: [(Int, Data)] = try await writer.readReturningReader { db in
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
        try await writer.write { db in try Self.deleteJob(id, in: db) }
    }

    private static func deleteJob(_ id: String, in db: Database) throws {
        try db.execute(sql: "DELETE FROM scan_job_chunk WHERE job_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM scan_job WHERE id = ?", arguments: [id])
    }
}

/// Chunk records queued for the next group commit, and whether a write is under way.
private struct ChunkQueue {
    typealias Row = (jobId: String, chunkIndex: Int, data: Data)
    struct Batch {
        var rows: [Row]
        var waiters: [CheckedContinuation<Bool, any Error>]
    }

    var rows: [Row] = []
    var waiters: [CheckedContinuation<Bool, any Error>] = []
    var writing = false

    /// Everything queued (the writer stays busy), or `nil` when nothing is (the writer is then free).
    mutating func take() -> Batch? {
        guard !rows.isEmpty else {
            writing = false
            return nil
        }
        defer {
            rows = []
            waiters = []
        }
        return Batch(rows: rows, waiters: waiters)
    }
}

/// Requests as encoded for their sessions' rows: a session is saved at each transition with the same
/// request, so it is encoded once (kept until the session's final state is saved; at most 256 kept).
private final class EncodedRequests: Sendable {
    private let byId = Mutex<[String: (request: BatchScanRequest, data: Data)]>([:])

    func encoded(_ session: ScanSession) throws -> Data {
        if let known = byId.withLock({ $0[session.id] }), known.request == session.request { return known.data }
        let data = try SessionRecords.encodeRequest(session.request)
        if !session.status.isFinal {
            byId.withLock { all in
                if all.count >= 256 { all = [:] }
                all[session.id] = (session.request, data)
            }
        }
        return data
    }

    func forget(_ id: String) { _ = byId.withLock { $0.removeValue(forKey: id) } }
}

extension SessionStore: CheckpointReporting {
    /// Reports the WAL checkpoints a store opened on a file runs (``WALCheckpointer``); a store over a
    /// database opened elsewhere runs none, and never calls `report`.
    public func reportCheckpoints(to report: @escaping @Sendable (_ succeeded: Bool) -> Void) {
        checkpointer?.reportCheckpoints(to: report)
    }
}
