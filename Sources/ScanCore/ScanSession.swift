import Foundation

/// The outcome of a batch scan.
public struct BatchScanResult: Sendable, Hashable, Codable {
    public var jobId: String
    public var signals: AggregatedSignals
    public var statistics: SignalStatistics
    public var processingTimeMs: Double
    public var errorsCount: Int
    public var errors: [SymbolError]
    /// True when the scan was cancelled and this holds only the part that finished.
    public var cancelled: Bool
    /// The event study, when the request asked for one.
    public var study: StudyReport?
    /// The condition funnel, when the request asked for it.
    public var funnel: FunnelReport?

    public init(
        jobId: String,
        signals: AggregatedSignals,
        statistics: SignalStatistics,
        processingTimeMs: Double,
        errors: [SymbolError],
        cancelled: Bool = false,
        study: StudyReport? = nil,
        funnel: FunnelReport? = nil
    ) {
        self.study = study
        self.funnel = funnel
        self.jobId = jobId
        self.signals = signals
        self.statistics = statistics
        self.processingTimeMs = processingTimeMs
        self.errorsCount = errors.count
        self.errors = errors
        self.cancelled = cancelled
    }
}

/// The lifecycle state of a ``ScanSession``.
public enum ScanStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, running, completed, failed, cancelled

    /// Completed, failed and cancelled sessions never change again.
    public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// A scan as the product tracks it: persisted at every status transition.
public struct ScanSession: Sendable, Hashable, Codable {
    public var id: String
    public var status: ScanStatus
    public var request: BatchScanRequest
    public var progress: ScanProgress
    public var result: BatchScanResult?
    public var error: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?

    public init(
        id: String,
        status: ScanStatus = .pending,
        request: BatchScanRequest,
        progress: ScanProgress = ScanProgress(),
        result: BatchScanResult? = nil,
        error: String? = nil,
        createdAt: Date = Date(),
        startedAt: Date? = nil,
        finishedAt: Date? = nil
    ) {
        self.id = id
        self.status = status
        self.request = request
        self.progress = progress
        self.result = result
        self.error = error
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// Stores sessions. `save` writes the session whole (status, progress, result) in one transaction.
public protocol ScanSessionRepository: Sendable {
    func save(_ session: ScanSession) async throws
    func session(id: String) async throws -> ScanSession?
    /// Newest first, without their results (`result` is `nil`; ``session(id:)`` has it): a list is an
    /// overview, and decoding every listed session's matches made one `LIST_SESSIONS` cost the service
    /// tens of megabytes.
    func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession]
    /// Deletes the finished sessions `policy` does not keep at `now`, with their jobs and chunk results
    /// (a store that is also the ``JobRepository`` removes both in one transaction). Returns how many
    /// sessions were deleted. Pending and running sessions are never deleted.
    func prune(_ policy: RetentionPolicy, now: Date) async throws -> Int
    /// Whether ``save(_:)`` of a final state (completed, failed, cancelled) also removes the job and the
    /// chunk results of the same id in that transaction (a store that is also the ``JobRepository``):
    /// the service then has no clean-up of its own to write. `false` unless a store says so.
    var finalStateDropsJob: Bool { get }
}

extension ScanSessionRepository {
    public var finalStateDropsJob: Bool { false }
}

/// A store that checkpoints its write-ahead log on its own, and says how each checkpoint went (for the
/// service's metrics: a failing checkpoint is otherwise silent, left to the store's safety net).
public protocol CheckpointReporting: Sendable {
    /// Calls `report` after each checkpoint, with whether it succeeded, from the thread that ran it.
    /// Replaces the function given before.
    func reportCheckpoints(to report: @escaping @Sendable (_ succeeded: Bool) -> Void)
}

/// Persists what a distributed scan needs to resume after a restart: the job as dispatched and every
/// finished chunk's results, as they arrive. A job's id is its session's id in the service.
public protocol JobRepository: Sendable {
    /// Stores the job and how it was chunked (before the first chunk is dispatched), discarding chunk
    /// results stored for an earlier version of the same job id.
    func saveJob(_ job: ProcessingJob, chunkSize: Int) async throws
    /// The stored job and its chunk size, `nil` when unknown.
    func job(id: String) async throws -> (job: ProcessingJob, chunkSize: Int)?
    /// Stores one finished chunk's results; storing the same `(jobId, chunkIndex)` again is a no-op.
    func saveChunkResult(jobId: String, chunkIndex: Int, results: [SymbolResult]) async throws
    /// ``saveChunkResult(jobId:chunkIndex:results:)`` given also `resultsBlock`: the node protocol's
    /// binary results block that decoded to exactly `results` (what a RESULT message carries), which a
    /// store that keeps chunk records in that form writes as is instead of encoding `results` again.
    func saveChunkResult(
        jobId: String,
        chunkIndex: Int,
        results: [SymbolResult],
        resultsBlock: ArraySlice<UInt8>
    )
        async throws
    /// Every stored chunk result of a job, by chunk index.
    func chunkResults(jobId: String) async throws -> [Int: [SymbolResult]]
    /// Removes a job and its chunk results, once its session's final result is stored.
    func deleteJob(id: String) async throws
    /// Starts a job or finds it stored: when the store holds this very job (equal to `job`), returns how
    /// it was chunked and its stored chunk results (a restarted service resumes it); otherwise stores
    /// `job` with `chunkSize` as ``saveJob(_:chunkSize:)`` does and returns `nil`. A store may do it all
    /// in one transaction.
    func resumeOrSaveJob(_ job: ProcessingJob, chunkSize: Int) async throws -> StoredJob?
}

/// A job found stored by ``JobRepository/resumeOrSaveJob(_:chunkSize:)``: its chunk size and the
/// results of its finished chunks, by chunk index.
public struct StoredJob: Sendable, Equatable {
    public var chunkSize: Int
    public var chunks: [Int: [SymbolResult]]

    public init(chunkSize: Int, chunks: [Int: [SymbolResult]]) {
        self.chunkSize = chunkSize
        self.chunks = chunks
    }
}

extension JobRepository {
    /// ``job(id:)``, then ``chunkResults(jobId:)`` or ``saveJob(_:chunkSize:)``.
    public func resumeOrSaveJob(_ job: ProcessingJob, chunkSize: Int) async throws -> StoredJob? {
        if let saved = try await self.job(id: job.id), saved.job == job {
            return StoredJob(chunkSize: saved.chunkSize, chunks: try await chunkResults(jobId: job.id))
        }
        try await saveJob(job, chunkSize: chunkSize)
        return nil
    }

    /// Stores `results` (the block is not needed by a store that encodes its own records).
    public func saveChunkResult(
        jobId: String,
        chunkIndex: Int,
        results: [SymbolResult],
        resultsBlock: ArraySlice<UInt8>
    ) async throws {
        try await saveChunkResult(jobId: jobId, chunkIndex: chunkIndex, results: results)
    }
}

/// Which finished sessions a store keeps (`scan-service --keep-sessions N --keep-days D`).
///
/// Only final sessions (completed, failed, cancelled) are ever pruned; pending and running ones are
/// kept whatever their age, and do not count towards ``keepSessions``. A session is pruned when it
/// is outside the newest ``keepSessions`` finished ones, or finished more than ``maxAge`` ago.
public struct RetentionPolicy: Sendable, Hashable {
    /// How many finished sessions to keep, newest (by creation time) first; `nil` for no count limit.
    public var keepSessions: Int?
    /// How long a finished session is kept after it finished; `nil` for no age limit.
    public var maxAge: Duration?

    public init(keepSessions: Int? = nil, maxAge: Duration? = nil) {
        self.keepSessions = keepSessions.map { max(0, $0) }
        self.maxAge = maxAge
    }

    /// Keeps everything (no limit of either kind).
    public static let keepAll = RetentionPolicy()

    /// True when the policy never prunes anything.
    public var keepsEverything: Bool { keepSessions == nil && maxAge == nil }

    /// The finish time before which a finished session is too old at `now`; `nil` without an age limit.
    public func cutoff(now: Date) -> Date? {
        guard let maxAge else { return nil }
        let (seconds, attoseconds) = maxAge.components
        return now.addingTimeInterval(-(Double(seconds) + Double(attoseconds) / 1e18))
    }
}
