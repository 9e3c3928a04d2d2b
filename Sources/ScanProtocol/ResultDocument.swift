import Foundation
import ScanCore

/// The JSON shape of a scan result: what `scan run --format json` prints and what the wire protocol
/// carries as RESULT (DESIGN §4, §5). Keys are snake_case and encoded sorted, so output is stable.
///
/// ```
/// {"errors": [{"message", "symbol"}], "errors_count", "job_id", "processing_time_ms", "session_id"?,
///  "signals": {"matches": [{"close", "signal", "symbol", "timestamp", "values": {name: number|null}}],
///              "symbols_with_matches", "total_matches", "total_symbols"},
///  "statistics": {"by_date", "by_signal_type", "by_symbol", "total"}, "status"}
/// ```
/// `timestamp` is `YYYY-MM-DD` for daily/weekly bars and ISO 8601 with offset for intraday bars; an
/// undefined (NaN) value is `null`.
public struct ResultDocument: Codable, Sendable, Hashable {
    public var jobId: String
    /// The session id in service mode; absent for local runs.
    public var sessionId: String?
    /// A ``ScanStatus`` raw value: `completed`, `cancelled`, `failed`, … .
    public var status: String
    public var signals: Signals
    public var statistics: Statistics
    public var processingTimeMs: Double
    public var errorsCount: Int
    public var errors: [ErrorEntry]
    /// The event study (`"study"` in the request), else absent.
    public var study: StudyReport?
    /// The condition funnel (`"explain": true` in the request), else absent.
    public var funnel: FunnelReport?

    enum CodingKeys: String, CodingKey {
        case jobId = "job_id"
        case sessionId = "session_id"
        case status, signals, statistics, study, funnel
        case processingTimeMs = "processing_time_ms"
        case errorsCount = "errors_count"
        case errors
    }

    /// Every match, sorted by timestamp, symbol, signal, with counts.
    public struct Signals: Codable, Sendable, Hashable {
        public var totalSymbols: Int
        public var symbolsWithMatches: Int
        public var totalMatches: Int
        public var matches: [Match]

        enum CodingKeys: String, CodingKey {
            case totalSymbols = "total_symbols"
            case symbolsWithMatches = "symbols_with_matches"
            case totalMatches = "total_matches"
            case matches
        }

        public init(totalSymbols: Int, symbolsWithMatches: Int, totalMatches: Int, matches: [Match]) {
            self.totalSymbols = totalSymbols
            self.symbolsWithMatches = symbolsWithMatches
            self.totalMatches = totalMatches
            self.matches = matches
        }
    }

    /// A bar where a signal fired.
    public struct Match: Codable, Sendable, Hashable {
        public var symbol: String
        /// `YYYY-MM-DD` (daily) or ISO 8601 with offset (intraday).
        public var timestamp: String
        public var signal: String
        /// `nil` (JSON `null`) when not a number.
        public var close: Double?
        /// The formula's `column` values; `null` where undefined.
        public var values: [String: Double?]
        /// What happened after this bar, when the scan ran an event study.
        public var forward: Forward?

        public init(
            symbol: String,
            timestamp: String,
            signal: String,
            close: Double?,
            values: [String: Double?],
            forward: Forward? = nil
        ) {
            self.symbol = symbol
            self.timestamp = timestamp
            self.signal = signal
            self.close = close
            self.values = values
            self.forward = forward
        }

        /// Always writes `close` and every value, `null` included (the contract has the keys).
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(symbol, forKey: .symbol)
            try c.encode(timestamp, forKey: .timestamp)
            try c.encode(signal, forKey: .signal)
            try c.encode(close, forKey: .close)
            try c.encode(values, forKey: .values)
            try c.encodeIfPresent(forward, forKey: .forward)
        }

        enum CodingKeys: String, CodingKey { case symbol, timestamp, signal, close, values, forward }

        /// The document of `m`: its timestamp formatted, non-finite numbers `null`.
        init(_ m: SignalMatch) {
            func number(_ x: Double) -> Double? { x.isFinite ? x : nil }
            self.init(
                symbol: m.symbol,
                timestamp: m.timestamp.description,
                signal: m.signal,
                close: number(m.close),
                values: m.values.mapValues(number),
                forward: m.forward.map {
                    Forward(
                        returns: $0.returns.map(number),
                        maxFavorable: number($0.maxFavorable),
                        maxAdverse: number($0.maxAdverse)
                    )
                }
            )
        }
    }

    /// A match's forward returns (one per `study.horizons`, `null` when incomplete) and its maximum
    /// favourable / adverse excursion over the longest horizon (`null` when incomplete). Fractions: 0.05 = +5 %.
    public struct Forward: Codable, Sendable, Hashable {
        public var returns: [Double?]
        public var maxFavorable: Double?
        public var maxAdverse: Double?

        enum CodingKeys: String, CodingKey {
            case returns
            case maxFavorable = "max_favorable"
            case maxAdverse = "max_adverse"
        }

        public init(returns: [Double?], maxFavorable: Double?, maxAdverse: Double?) {
            self.returns = returns
            self.maxFavorable = maxFavorable
            self.maxAdverse = maxAdverse
        }

        /// Always writes every key, `null` included.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(returns, forKey: .returns)
            try c.encode(maxFavorable, forKey: .maxFavorable)
            try c.encode(maxAdverse, forKey: .maxAdverse)
        }
    }

    /// Match counts: total, per symbol, per date (`YYYY-MM-DD`), per signal.
    public struct Statistics: Codable, Sendable, Hashable {
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

        public init(total: Int, bySymbol: [String: Int], byDate: [String: Int], bySignalType: [String: Int]) {
            self.total = total
            self.bySymbol = bySymbol
            self.byDate = byDate
            self.bySignalType = bySignalType
        }
    }

    /// A symbol that could not be scanned.
    public struct ErrorEntry: Codable, Sendable, Hashable {
        public var symbol: String
        public var message: String

        public init(symbol: String, message: String) {
            self.symbol = symbol
            self.message = message
        }
    }

    public init(
        jobId: String,
        sessionId: String? = nil,
        status: String,
        signals: Signals,
        statistics: Statistics,
        processingTimeMs: Double,
        errorsCount: Int,
        errors: [ErrorEntry],
        study: StudyReport? = nil,
        funnel: FunnelReport? = nil
    ) {
        self.study = study
        self.funnel = funnel
        self.jobId = jobId
        self.sessionId = sessionId
        self.status = status
        self.signals = signals
        self.statistics = statistics
        self.processingTimeMs = processingTimeMs
        self.errorsCount = errorsCount
        self.errors = errors
    }

    /// The document of `result`. `status` defaults to `cancelled` or `completed` from the result.
    public init(_ result: BatchScanResult, sessionId: String? = nil, status: ScanStatus? = nil) {
        self.init(result, sessionId: sessionId, status: status, matches: result.signals.matches[...])
    }

    /// The document of `result` with `matches` (a part of the result's, or none) as its match list.
    init(_ result: BatchScanResult, sessionId: String?, status: ScanStatus?, matches: ArraySlice<SignalMatch>) {
        let s = result.signals
        self.init(
            jobId: result.jobId,
            sessionId: sessionId,
            status: (status ?? (result.cancelled ? .cancelled : .completed)).rawValue,
            signals: Signals(
                totalSymbols: s.totalSymbols,
                symbolsWithMatches: s.symbolsWithMatches,
                totalMatches: s.totalMatches,
                matches: matches.map(Match.init)
            ),
            statistics: Statistics(
                total: result.statistics.total,
                bySymbol: result.statistics.bySymbol,
                byDate: result.statistics.byDate,
                bySignalType: result.statistics.bySignalType
            ),
            processingTimeMs: (result.processingTimeMs * 1000).rounded() / 1000,
            errorsCount: result.errorsCount,
            errors: result.errors.map { ErrorEntry(symbol: $0.symbol, message: $0.message) },
            study: result.study,
            funnel: result.funnel
        )
    }

    /// The ``BatchScanResult`` this document describes (`null` numbers become NaN).
    /// - Throws: ``ResultDocumentError`` for a timestamp that is neither `YYYY-MM-DD` nor ISO 8601 with offset.
    public func batchScanResult() throws -> BatchScanResult {
        let matches = try signals.matches.enumerated().map { i, m in
            guard let ts = BarTimestamp(parsing: m.timestamp) else {
                throw ResultDocumentError.badTimestamp(index: i, text: m.timestamp)
            }
            return SignalMatch(
                symbol: m.symbol,
                timestamp: ts,
                signal: m.signal,
                close: m.close ?? .nan,
                values: m.values.mapValues { $0 ?? .nan },
                forward: m.forward.map {
                    ForwardOutcome(
                        returns: $0.returns.map { $0 ?? .nan },
                        maxFavorable: $0.maxFavorable ?? .nan,
                        maxAdverse: $0.maxAdverse ?? .nan
                    )
                }
            )
        }
        var result = BatchScanResult(
            jobId: jobId,
            signals: AggregatedSignals(
                totalSymbols: signals.totalSymbols,
                symbolsWithMatches: signals.symbolsWithMatches,
                totalMatches: signals.totalMatches,
                matches: matches
            ),
            statistics: SignalStatistics(
                total: statistics.total,
                bySymbol: statistics.bySymbol,
                byDate: statistics.byDate,
                bySignalType: statistics.bySignalType
            ),
            processingTimeMs: processingTimeMs,
            errors: errors.map { SymbolError(symbol: $0.symbol, message: $0.message) },
            cancelled: status == ScanStatus.cancelled.rawValue,
            study: study,
            funnel: funnel
        )
        result.errorsCount = errorsCount
        return result
    }

    /// The document as JSON with sorted keys (pretty-printed when asked).
    public func jsonData(pretty: Bool = false) throws -> Data {
        if !pretty {
            // The same JSON as `JSONEncoder`'s below, with the matches written by hand (``ResultJSONWriter``):
            // for tens of thousands of matches and their forward returns the encoder costs more than the scan.
            var out: [UInt8] = []
            try ResultJSONWriter.appendResult(self, to: &out)
            return Data(out)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Decodes a document from JSON.
    public static func decode(_ data: Data) throws -> ResultDocument {
        try JSONDecoder().decode(ResultDocument.self, from: data)
    }
}

/// A ``ResultDocument`` that cannot be turned back into a result.
public enum ResultDocumentError: Error, Sendable, Hashable, CustomStringConvertible {
    case badTimestamp(index: Int, text: String)

    public var description: String {
        switch self {
        case .badTimestamp(let i, let t):
            "signals.matches[\(i)].timestamp '\(t)' is neither YYYY-MM-DD nor ISO 8601 with offset"
        }
    }
}
