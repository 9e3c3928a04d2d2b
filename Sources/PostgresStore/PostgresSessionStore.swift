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
public final class PostgresSessionStore: ScanSessionRepository, JobRepository, Sendable {
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
        let connector = PostgresConnector(url: url, logger: logger)
        try connector.connectOnce()
        try PostgresSchema.migrate(connector, component: "sessions", migrations: PostgresSchema.sessions)
        return PostgresSessionStore(connector: connector)
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
                    SELECT \(unescaped: Self.sessionColumns) FROM scan_session WHERE status = \(status.rawValue)
                    ORDER BY created_at DESC, id DESC LIMIT \(limit)
                    """,
                    on: c
                )
            } else {
                rows = try self.connector.run(
                    """
                    SELECT \(unescaped: Self.sessionColumns) FROM scan_session
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
        let data = try SessionRecords.encodeChunk(results)
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
