import ScanCore

/// Matches stored column-wise (one array per field), so a result of many matches stays compact.
struct PackedMatches: Codable, Sendable {
    var symbols: [String] = []
    var times: [Int64] = []
    var offsets: [Int32] = []
    var intraday: [Bool] = []
    var signals: [String] = []
    var closes: [Double] = []
    /// Every column name that occurs, sorted.
    var valueNames: [String] = []
    /// `values[c][k]`: column `valueNames[c]` of match `k`; `nil` when that match has no such column.
    var values: [[Double?]] = []

    init(_ matches: [SignalMatch]) {
        valueNames = Set(matches.flatMap { $0.values.keys }).sorted()
        values = valueNames.map { name in matches.map { $0.values[name] } }
        for m in matches {
            symbols.append(m.symbol)
            times.append(m.timestamp.epochSeconds)
            offsets.append(m.timestamp.utcOffsetSeconds)
            intraday.append(m.timestamp.isIntraday)
            signals.append(m.signal)
            closes.append(m.close)
        }
    }

    func unpacked() throws -> [SignalMatch] {
        let n = symbols.count
        guard times.count == n, offsets.count == n, intraday.count == n, signals.count == n, closes.count == n,
            values.count == valueNames.count, values.allSatisfy({ $0.count == n })
        else { throw SessionStoreError.corrupt("stored matches have columns of different lengths") }
        return (0..<n).map { k in
            var v: [String: Double] = [:]
            for (c, name) in valueNames.enumerated() { if let x = values[c][k] { v[name] = x } }
            return SignalMatch(
                symbol: symbols[k],
                timestamp: BarTimestamp(epochSeconds: times[k], utcOffsetSeconds: offsets[k], isIntraday: intraday[k]),
                signal: signals[k], close: closes[k], values: v)
        }
    }
}

/// A ``BatchScanResult`` as stored: the matches packed, everything else as is.
struct StoredResult: Codable, Sendable {
    var jobId: String
    var totalSymbols: Int
    var symbolsWithMatches: Int
    var matches: PackedMatches
    var statistics: SignalStatistics
    var processingTimeMs: Double
    var errors: [SymbolError]
    var cancelled: Bool

    init(_ r: BatchScanResult) {
        jobId = r.jobId
        totalSymbols = r.signals.totalSymbols
        symbolsWithMatches = r.signals.symbolsWithMatches
        matches = PackedMatches(r.signals.matches)
        statistics = r.statistics
        processingTimeMs = r.processingTimeMs
        errors = r.errors
        cancelled = r.cancelled
    }

    func unpacked() throws -> BatchScanResult {
        let m = try matches.unpacked()
        return BatchScanResult(
            jobId: jobId,
            signals: AggregatedSignals(
                totalSymbols: totalSymbols, symbolsWithMatches: symbolsWithMatches, totalMatches: m.count, matches: m),
            statistics: statistics, processingTimeMs: processingTimeMs, errors: errors, cancelled: cancelled)
    }
}

/// One chunk's ``SymbolResult``s as stored.
struct StoredChunk: Codable, Sendable {
    struct Symbol: Codable, Sendable {
        var symbol: String
        var error: String?
        var barsScanned: Int
    }

    var symbols: [Symbol]
    var matches: PackedMatches

    init(_ results: [SymbolResult]) {
        symbols = results.map { Symbol(symbol: $0.symbol, error: $0.error, barsScanned: $0.barsScanned) }
        matches = PackedMatches(results.flatMap(\.matches))
    }

    func unpacked() throws -> [SymbolResult] {
        let bySymbol = Dictionary(grouping: try matches.unpacked(), by: \.symbol)
        return symbols.map {
            SymbolResult(symbol: $0.symbol, matches: bySymbol[$0.symbol] ?? [], error: $0.error, barsScanned: $0.barsScanned)
        }
    }
}
