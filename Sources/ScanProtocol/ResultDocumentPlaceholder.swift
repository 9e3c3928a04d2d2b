// PLACEHOLDER until `ResultDocument.swift` (owned by the ScanCore/CLI engineer) lands on main; delete
// this file at that merge and adapt `ResultDocument+Service` calls. Shape: `scan run --format json`.
import ScanCore

/// The result JSON of `scan run --format json`, also the wire RESULT.
public struct ResultDocument: Sendable, Hashable, Codable {
    public var jobId: String
    public var sessionId: String?
    public var status: String
    public var signals: SignalsDocument
    public var statistics: StatisticsDocument
    public var processingTimeMs: Double
    public var errorsCount: Int
    public var errors: [ErrorDocument]

    enum CodingKeys: String, CodingKey {
        case jobId = "job_id"
        case sessionId = "session_id"
        case status, signals, statistics
        case processingTimeMs = "processing_time_ms"
        case errorsCount = "errors_count"
        case errors
    }

    public init(_ result: BatchScanResult, sessionId: String?, status: String) {
        jobId = result.jobId
        self.sessionId = sessionId
        self.status = status
        signals = SignalsDocument(
            totalSymbols: result.signals.totalSymbols, symbolsWithMatches: result.signals.symbolsWithMatches,
            totalMatches: result.signals.totalMatches,
            matches: result.signals.matches.map {
                MatchDocument(
                    symbol: $0.symbol, timestamp: $0.timestamp.description, signal: $0.signal, close: $0.close,
                    values: $0.values.mapValues { $0.isFinite ? $0 : nil })
            })
        statistics = StatisticsDocument(
            total: result.statistics.total, bySymbol: result.statistics.bySymbol, byDate: result.statistics.byDate,
            bySignalType: result.statistics.bySignalType)
        processingTimeMs = result.processingTimeMs
        errorsCount = result.errorsCount
        errors = result.errors.map { ErrorDocument(symbol: $0.symbol, message: $0.message) }
    }

    public struct SignalsDocument: Sendable, Hashable, Codable {
        public var totalSymbols: Int
        public var symbolsWithMatches: Int
        public var totalMatches: Int
        public var matches: [MatchDocument]

        enum CodingKeys: String, CodingKey {
            case totalSymbols = "total_symbols"
            case symbolsWithMatches = "symbols_with_matches"
            case totalMatches = "total_matches"
            case matches
        }
    }

    public struct MatchDocument: Sendable, Hashable, Codable {
        public var symbol: String
        public var timestamp: String
        public var signal: String
        public var close: Double
        public var values: [String: Double?]
    }

    public struct StatisticsDocument: Sendable, Hashable, Codable {
        public var total: Int
        public var bySymbol: [String: Int]
        public var byDate: [String: Int]
        public var bySignalType: [String: Int]

        enum CodingKeys: String, CodingKey {
            case total
            case bySymbol = "by_symbol"
            case byDate = "by_date"
            case bySignalType = "by_signal_type"
        }
    }

    public struct ErrorDocument: Sendable, Hashable, Codable {
        public var symbol: String
        public var message: String
    }
}
