import Foundation
import Logging
import PostgresNIO
import ScanCore
import SessionStore

/// Scan sessions, resumable jobs and chunk results on the shared PostgreSQL server: with it a
/// service keeps no local state, and a service started on another host against the same database
/// resumes the sessions that were running. Same tables and encoding as the SQLite
/// ``SessionStore/SessionStore`` (`scan_session`, `scan_job`, `scan_job_chunk`; requests and
/// results as JSON with packed matches).
///
/// Every method is `async` and does its I/O on a `Blocking` thread (postgres-nio's futures are
/// waited for there, never on the cooperative pool).
public final class PostgresSessionStore: ScanSessionRepository, JobRepository, WatchRepository, Sendable {
    let connector: PostgresConnector

    /// The store's URL (``PostgresURL/description`` hides the password).
    public var url: PostgresURL { connector.url }

    init(connector: PostgresConnector) { self.connector = connector }

    /// Connects to `url` and creates or migrates the session tables. Blocks; throws
    /// ``PostgresStoreError`` naming the URL.
    public static func open(
        url: PostgresURL,
        logger: Logger = Logger(label: "postgres-store")
    ) throws
        -> PostgresSessionStore
    {
        PostgresSessionStore(connector: try PostgresSchema.open(url, logger, "sessions", PostgresSchema.sessions))
    }

    // MARK: ScanSessionRepository

    public func save(_ session: ScanSession) async throws {
        let request = try SessionRecords.encodeRequest(session.request)
        let result = try session.result.map(SessionRecords.encodeResult)
        try await run { c in
            try self.connector.run(
                """
                INSERT INTO scan_session (id, status, created_at, started_at, finished_at, progress_completed,
                    progress_total, progress_matches, error, request, result)
                VALUES (\(session.id), \(session.status.rawValue), \(session.createdAt.timeIntervalSinceReferenceDate),
                    \(session.startedAt?.timeIntervalSinceReferenceDate),
                    \(session.finishedAt?.timeIntervalSinceReferenceDate), \(Int64(session.progress.completed)),
                    \(Int64(session.progress.total)), \(Int64(session.progress.matchesSoFar)), \(session.error),
                    \(request), \(result))
                ON CONFLICT (id) DO UPDATE SET status = excluded.status, created_at = excluded.created_at,
                    started_at = excluded.started_at, finished_at = excluded.finished_at,
                    progress_completed = excluded.progress_completed, progress_total = excluded.progress_total,
                    progress_matches = excluded.progress_matches, error = excluded.error,
                    request = excluded.request, result = excluded.result
                """,
                on: c
            )
        }
    }

    static let sessionColumns = """
        id, status, created_at, started_at, finished_at, progress_completed, progress_total, progress_matches,
        error, request, result
        """
    /// ``sessionColumns`` with the result read as `NULL`: listed sessions come without their results.
    static let listColumns = """
        id, status, created_at, started_at, finished_at, progress_completed, progress_total, progress_matches,
        error, request, NULL::bytea AS result
        """

    public func session(id: String) async throws -> ScanSession? {
        try await run { c in
            try self.connector.run(
                "SELECT \(unescaped: Self.sessionColumns) FROM scan_session WHERE id = \(id)",
                on: c
            ).first.map(Self.session(from:))
        }
    }

    public func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession] {
        let limit = Int64(max(0, limit))
        return try await run { c in
            let rows: PostgresQueryResult
            if let status {
                rows = try self.connector.run(
                    """
                    SELECT \(unescaped: Self.listColumns) FROM scan_session WHERE status = \(status.rawValue)
                    ORDER BY created_at DESC, id DESC LIMIT \(limit)
                    """,
                    on: c
                )
            } else {
                rows = try self.connector.run(
                    """
                    SELECT \(unescaped: Self.listColumns) FROM scan_session
                    ORDER BY created_at DESC, id DESC LIMIT \(limit)
                    """,
                    on: c
                )
            }
            return try rows.map(Self.session(from:))
        }
    }

    static func session(from row: PostgresRow) throws -> ScanSession {
        let (id, status, created, started, finished, completed, total, matches, error, request, result) =
            try row.decode(
                (String, String, Double, Double?, Double?, Int64, Int64, Int64, String?, Data, Data?).self
            )
        return ScanSession(
            id: id,
            status: try SessionRecords.status(status, session: id),
            request: try SessionRecords.decodeRequest(request),
            progress: ScanProgress(completed: Int(completed), total: Int(total), matchesSoFar: Int(matches)),
            result: try result.map(SessionRecords.decodeResult),
            error: error,
            createdAt: Date(timeIntervalSinceReferenceDate: created),
            startedAt: started.map(Date.init(timeIntervalSinceReferenceDate:)),
            finishedAt: finished.map(Date.init(timeIntervalSinceReferenceDate:))
        )
    }

    /// Deletes finished sessions outside `policy`, with their jobs and chunk results, in one transaction.
    public func prune(_ policy: RetentionPolicy, now: Date = Date()) async throws -> Int {
        if policy.keepsEverything { return 0 }
        let final = ScanStatus.allCases.filter(\.isFinal).map(\.rawValue)
        let cutoff = policy.cutoff(now: now)?.timeIntervalSinceReferenceDate
        let keep = policy.keepSessions.map(Int64.init)
        return try await run(transaction: true) { c in
            var doomed = Set<String>()
            if let keep {
                for row in try self.connector.run(
                    """
                    SELECT id FROM scan_session WHERE status = ANY(\(final))
                    ORDER BY created_at DESC, id DESC OFFSET \(keep)
                    """,
                    on: c
                ) { doomed.insert(try row.decode(String.self)) }
            }
            if let cutoff {
                for row in try self.connector.run(
                    """
                    SELECT id FROM scan_session WHERE status = ANY(\(final))
                    AND COALESCE(finished_at, created_at) < \(cutoff)
                    """,
                    on: c
                ) { doomed.insert(try row.decode(String.self)) }
            }
            let ids = Array(doomed)
            guard !ids.isEmpty else { return 0 }
            try self.connector.run("DELETE FROM scan_job_chunk WHERE job_id = ANY(\(ids))", on: c)
            try self.connector.run("DELETE FROM scan_job WHERE id = ANY(\(ids))", on: c)
            try self.connector.run("DELETE FROM scan_session WHERE id = ANY(\(ids))", on: c)
            return ids.count
        }
    }

    // MARK: WatchRepository

    public func saveWatch(_ watch: StoredWatch) async throws {
        let request = try SessionRecords.encode(watch.request)
        let entries = try SessionRecords.encodeWatchSet(watch.entries, seq: watch.seq)
        try await run { c in
            try self.connector.run(
                """
                INSERT INTO live_watch (id, created_at, seq, request, entries)
                VALUES (\(watch.id), \(watch.createdAt.timeIntervalSinceReferenceDate), \(Int64(watch.seq)),
                    \(request), \(entries))
                ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, seq = excluded.seq,
                    request = excluded.request, entries = excluded.entries
                """,
                on: c
            )
        }
    }

    public func recordEvents(watchId: String, events: [WatchEvent], seq: Int, entries: [WatchEntry]?) async throws {
        let encoded = try events.map { (Int64($0.seq), try SessionRecords.encode($0)) }
        let set = try entries.map { try SessionRecords.encodeWatchSet($0, seq: seq) }
        try await run(transaction: true) { c in
            for (n, data) in encoded {
                try self.connector.run(
                    """
                    INSERT INTO live_watch_event (watch_id, seq, event) VALUES (\(watchId), \(n), \(data))
                    ON CONFLICT (watch_id, seq) DO UPDATE SET event = excluded.event
                    """,
                    on: c
                )
            }
            if let set {
                try self.connector.run(
                    "UPDATE live_watch SET seq = \(Int64(seq)), entries = \(set) WHERE id = \(watchId)",
                    on: c
                )
            } else {
                try self.connector.run("UPDATE live_watch SET seq = \(Int64(seq)) WHERE id = \(watchId)", on: c)
            }
        }
    }

    public func deleteWatch(id: String) async throws {
        try await run(transaction: true) { c in
            try self.connector.run("DELETE FROM live_watch_event WHERE watch_id = \(id)", on: c)
            try self.connector.run("DELETE FROM live_watch WHERE id = \(id)", on: c)
        }
    }

    public func watches() async throws -> [StoredWatch] {
        let rows: [(String, Double, Int64, Data, Data)] = try await run { c in
            try self.connector.run(
                "SELECT id, created_at, seq, request, entries FROM live_watch ORDER BY created_at, id",
                on: c
            ).map { try $0.decode((String, Double, Int64, Data, Data).self) }
        }
        var stored: [StoredWatch] = []
        for (id, created, seq, request, entries) in rows {
            let snapshot = try SessionRecords.decodeWatchSet(entries, rowSeq: Int(seq))
            let after =
                snapshot.seq < Int(seq) ? try await events(watchId: id, after: snapshot.seq, limit: Int.max) : []
            stored.append(
                StoredWatch(
                    id: id,
                    request: try SessionRecords.decode(WatchRequest.self, request),
                    createdAt: Date(timeIntervalSinceReferenceDate: created),
                    seq: Int(seq),
                    entries: StoredWatch.folding(snapshot.entries, after)
                )
            )
        }
        return stored
    }

    public func events(watchId: String, after: Int, limit: Int) async throws -> [WatchEvent] {
        let blobs: [Data] = try await run { c in
            try self.connector.run(
                """
                SELECT event FROM live_watch_event WHERE watch_id = \(watchId) AND seq > \(Int64(after))
                ORDER BY seq LIMIT \(Int64(max(0, limit)))
                """,
                on: c
            ).map { try $0.decode(Data.self) }
        }
        return try blobs.map { try SessionRecords.decode(WatchEvent.self, $0) }
    }

    // MARK: JobRepository

    public func saveJob(_ job: ProcessingJob, chunkSize: Int) async throws {
        let data = try SessionRecords.encodeJob(job)
        try await run(transaction: true) { c in
            // Chunk results of an earlier, different version of this job must not be merged into it.
            try self.connector.run("DELETE FROM scan_job_chunk WHERE job_id = \(job.id)", on: c)
            try self.connector.run(
                """
                INSERT INTO scan_job (id, job, chunk_size) VALUES (\(job.id), \(data), \(Int64(chunkSize)))
                ON CONFLICT (id) DO UPDATE SET job = excluded.job, chunk_size = excluded.chunk_size
                """,
                on: c
            )
        }
    }

    public func job(id: String) async throws -> (job: ProcessingJob, chunkSize: Int)? {
        let stored: (Data, Int64)? = try await run { c in
            try self.connector.run("SELECT job, chunk_size FROM scan_job WHERE id = \(id)", on: c)
                .first.map { try $0.decode((Data, Int64).self) }
        }
        guard let (data, chunkSize) = stored else { return nil }
        return (try SessionRecords.decodeJob(data), Int(chunkSize))
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
        try await run { c in
            try self.connector.run(
                """
                INSERT INTO scan_job_chunk (job_id, chunk_index, results) VALUES (\(jobId), \(Int64(chunkIndex)), \(data))
                ON CONFLICT DO NOTHING
                """,
                on: c
            )
        }
    }

    public func chunkResults(jobId: String) async throws -> [Int: [SymbolResult]] {
        let rows: [(Int64, Data)] = try await run { c in
            try self.connector.run(
                "SELECT chunk_index, results FROM scan_job_chunk WHERE job_id = \(jobId)",
                on: c
            ).map { try $0.decode((Int64, Data).self) }
        }
        var out: [Int: [SymbolResult]] = [:]
        for (index, data) in rows { out[Int(index)] = try SessionRecords.decodeChunk(data) }
        return out
    }

    public func deleteJob(id: String) async throws {
        try await run(transaction: true) { c in
            try self.connector.run("DELETE FROM scan_job_chunk WHERE job_id = \(id)", on: c)
            try self.connector.run("DELETE FROM scan_job WHERE id = \(id)", on: c)
        }
    }

    // MARK: Running

    /// Runs `body` on a `Blocking` thread, in a transaction when asked; errors name the URL.
    @discardableResult
    func run<T: Sendable>(
        transaction: Bool = false,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let connector = self.connector
        return try await Blocking.run {
            do {
                return transaction ? try connector.transaction(body) : try connector.withConnection(body)
            } catch let error as PSQLError {
                throw connector.describe(error)
            }
        }
    }
}
