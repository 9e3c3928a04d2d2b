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
    /// Newest first.
    func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession]
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
    /// Every stored chunk result of a job, by chunk index.
    func chunkResults(jobId: String) async throws -> [Int: [SymbolResult]]
    /// Removes a job and its chunk results, once its session's final result is stored.
    func deleteJob(id: String) async throws
}
