import Foundation
import ScanCore

/// Matches stored column-wise (one array per field), so a result of many matches stays compact.
///
/// Encoded (format 2) with every numeric column as one little-endian byte blob (a base64 string in
/// JSON) and symbols and signals as a table of distinct names plus 32-bit indices, so storing tens of
/// thousands of matches costs a few `memcpy`s rather than a JSON number per field. Format 1 (a JSON
/// array per column) still decodes.
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
    /// Forward returns per match (event study): `forwardWidth` values per match (the returns, then the
    /// favourable and adverse excursions), flat; empty when the matches carry none.
    var forwardWidth = 0
    var forward: [Double] = []

    init(_ matches: [SignalMatch]) {
        if let first = matches.first?.forward, first.returnCount > 0,
            matches.allSatisfy({ $0.forward?.returnCount == first.returnCount })
        {
            forwardWidth = first.returnCount + 2
            forward.reserveCapacity(forwardWidth * matches.count)
            for m in matches {
                guard let f = m.forward else { continue }
                for k in 0..<f.returnCount { forward.append(f.forwardReturn(k)) }
                forward.append(f.maxFavorable)
                forward.append(f.maxAdverse)
            }
        }
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

    // MARK: Coding (format 2)

    enum CodingKeys: String, CodingKey {
        case format, symbolTable, symbolIndex, signalTable, signalIndex, valueMasks
        case symbols, times, offsets, intraday, signals, closes, valueNames, values
        case forwardWidth, forward
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(2, forKey: .format)
        let (symbolTable, symbolIndex) = Self.table(symbols)
        let (signalTable, signalIndex) = Self.table(signals)
        try c.encode(symbolTable, forKey: .symbolTable)
        try c.encode(Self.blob(symbolIndex), forKey: .symbolIndex)
        try c.encode(signalTable, forKey: .signalTable)
        try c.encode(Self.blob(signalIndex), forKey: .signalIndex)
        try c.encode(Self.blob(times), forKey: .times)
        try c.encode(Self.blob(offsets), forKey: .offsets)
        try c.encode(Self.blob(intraday.map { $0 ? UInt8(1) : 0 }), forKey: .intraday)
        try c.encode(Self.blob(closes.map(\.bitPattern)), forKey: .closes)
        try c.encode(valueNames, forKey: .valueNames)
        try c.encode(values.map { Self.blob($0.map { ($0 ?? 0).bitPattern }) }, forKey: .values)
        try c.encode(values.map { Self.blob($0.map { $0 == nil ? UInt8(0) : 1 }) }, forKey: .valueMasks)
        if forwardWidth > 0 {
            try c.encode(forwardWidth, forKey: .forwardWidth)
            try c.encode(Self.blob(forward.map(\.bitPattern)), forKey: .forward)
        }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard try c.decodeIfPresent(Int.self, forKey: .format) == 2 else {
            symbols = try c.decode([String].self, forKey: .symbols)
            times = try c.decode([Int64].self, forKey: .times)
            offsets = try c.decode([Int32].self, forKey: .offsets)
            intraday = try c.decode([Bool].self, forKey: .intraday)
            signals = try c.decode([String].self, forKey: .signals)
            closes = try c.decode([Double].self, forKey: .closes)
            valueNames = try c.decode([String].self, forKey: .valueNames)
            values = try c.decode([[Double?]].self, forKey: .values)
            return
        }
        func names(_ table: CodingKeys, _ index: CodingKeys) throws -> [String] {
            let t = try c.decode([String].self, forKey: table)
            return try Self.unblob(c.decode(Data.self, forKey: index), as: UInt32.self).map { i in
                guard Int(i) < t.count else {
                    throw SessionStoreError.corrupt("stored matches index past their name table")
                }
                return t[Int(i)]
            }
        }
        symbols = try names(.symbolTable, .symbolIndex)
        signals = try names(.signalTable, .signalIndex)
        times = try Self.unblob(c.decode(Data.self, forKey: .times), as: Int64.self)
        offsets = try Self.unblob(c.decode(Data.self, forKey: .offsets), as: Int32.self)
        intraday = try Self.unblob(c.decode(Data.self, forKey: .intraday), as: UInt8.self).map { $0 != 0 }
        closes = try Self.unblob(c.decode(Data.self, forKey: .closes), as: UInt64.self).map(Double.init(bitPattern:))
        valueNames = try c.decode([String].self, forKey: .valueNames)
        let bits = try c.decode([Data].self, forKey: .values)
        let masks = try c.decode([Data].self, forKey: .valueMasks)
        guard bits.count == masks.count else { throw SessionStoreError.corrupt("stored match values lack their masks") }
        values = try zip(bits, masks).map { b, m in
            let x = try Self.unblob(b, as: UInt64.self)
            let present = try Self.unblob(m, as: UInt8.self)
            guard x.count == present.count else {
                throw SessionStoreError.corrupt("stored match values and masks differ")
            }
            return zip(x, present).map { $1 != 0 ? Double(bitPattern: $0) : nil }
        }
        forwardWidth = try c.decodeIfPresent(Int.self, forKey: .forwardWidth) ?? 0
        if forwardWidth > 0 {
            forward = try Self.unblob(c.decode(Data.self, forKey: .forward), as: UInt64.self)
                .map(Double.init(bitPattern:))
        }
    }

    /// Distinct names in order of first appearance, and each element's index into them.
    private static func table(_ names: [String]) -> ([String], [UInt32]) {
        var table: [String] = []
        var ids: [String: UInt32] = [:]
        let index = names.map { name in
            if let id = ids[name] { return id }
            let id = UInt32(table.count)
            ids[name] = id
            table.append(name)
            return id
        }
        return (table, index)
    }

    /// The elements' little-endian bytes.
    private static func blob<T: FixedWidthInteger>(_ xs: [T]) -> Data {
        xs.map(\.littleEndian).withUnsafeBytes { Data($0) }
    }

    private static func unblob<T: FixedWidthInteger>(_ data: Data, as: T.Type) throws -> [T] {
        let size = MemoryLayout<T>.size
        guard data.count % size == 0 else {
            throw SessionStoreError.corrupt("stored match column has a partial element")
        }
        var out = [T](repeating: 0, count: data.count / size)
        out.withUnsafeMutableBytes { dst in data.withUnsafeBytes { dst.copyMemory(from: $0) } }
        return out.map(T.init(littleEndian:))
    }

    func unpacked() throws -> [SignalMatch] {
        let n = symbols.count
        guard times.count == n, offsets.count == n, intraday.count == n, signals.count == n, closes.count == n,
            values.count == valueNames.count, values.allSatisfy({ $0.count == n }),
            forwardWidth == 0 || (forwardWidth > 2 && forward.count == forwardWidth * n)
        else { throw SessionStoreError.corrupt("stored matches have columns of different lengths") }
        return (0..<n).map { k in
            var v: [String: Double] = [:]
            for (c, name) in valueNames.enumerated() { if let x = values[c][k] { v[name] = x } }
            return SignalMatch(
                symbol: symbols[k],
                timestamp: BarTimestamp(epochSeconds: times[k], utcOffsetSeconds: offsets[k], isIntraday: intraday[k]),
                signal: signals[k],
                close: closes[k],
                values: v,
                forward: forwardWidth == 0
                    ? nil
                    : ForwardOutcome(
                        stored: ForwardReturns(count: forwardWidth - 2) { forward[k * forwardWidth + $0] },
                        maxFavorable: forward[k * forwardWidth + forwardWidth - 2],
                        maxAdverse: forward[k * forwardWidth + forwardWidth - 1]
                    )
            )
        }
    }
}

/// A ``BatchScanResult`` as stored: the matches packed, everything else as is.
struct StoredResult: Codable, Sendable {
    var jobId: String
    var totalSymbols: Int
    var symbolsWithMatches: Int
    var matches: PackedMatches
    /// Not written any more: statistics are a function of the matches (``SignalAggregator/statistics(_:)``)
    /// and cost more to encode than the matches themselves. Rows written before are still read.
    var statistics: SignalStatistics?
    var processingTimeMs: Double
    var errors: [SymbolError]
    var cancelled: Bool
    var study: StudyReport?
    var funnel: FunnelReport?

    /// `r` as stored; without `packingMatches`, with no matches (the binary record writes them).
    init(_ r: BatchScanResult, packingMatches: Bool = true) {
        study = r.study
        funnel = r.funnel
        jobId = r.jobId
        totalSymbols = r.signals.totalSymbols
        symbolsWithMatches = r.signals.symbolsWithMatches
        matches = PackedMatches(packingMatches ? r.signals.matches : [])
        statistics = nil
        processingTimeMs = r.processingTimeMs
        errors = r.errors
        cancelled = r.cancelled
    }

    func unpacked() throws -> BatchScanResult { try unpacked(matches: matches.unpacked()) }

    /// The result with `m` as its matches (the stored packed ones, or those of a binary record).
    func unpacked(matches m: [SignalMatch]) throws -> BatchScanResult {
        let signals = AggregatedSignals(
            totalSymbols: totalSymbols,
            symbolsWithMatches: symbolsWithMatches,
            totalMatches: m.count,
            matches: m
        )
        return BatchScanResult(
            jobId: jobId,
            signals: signals,
            statistics: statistics ?? SignalAggregator.statistics(signals),
            processingTimeMs: processingTimeMs,
            errors: errors,
            cancelled: cancelled,
            study: study,
            funnel: funnel
        )
    }
}

/// One chunk's ``SymbolResult``s as stored.
struct StoredChunk: Codable, Sendable {
    struct Symbol: Codable, Sendable {
        var symbol: String
        var error: String?
        var barsScanned: Int
        var baseline: BaselineSums?
        var funnel: FunnelCounts?
    }

    var symbols: [Symbol]
    var matches: PackedMatches

    init(_ results: [SymbolResult]) {
        symbols = results.map {
            Symbol(
                symbol: $0.symbol,
                error: $0.error,
                barsScanned: $0.barsScanned,
                baseline: $0.baseline,
                funnel: $0.funnel
            )
        }
        matches = PackedMatches(results.flatMap(\.matches))
    }

    func unpacked() throws -> [SymbolResult] {
        let bySymbol = Dictionary(grouping: try matches.unpacked(), by: \.symbol)
        return symbols.map {
            SymbolResult(
                symbol: $0.symbol,
                matches: bySymbol[$0.symbol] ?? [],
                error: $0.error,
                barsScanned: $0.barsScanned,
                baseline: $0.baseline,
                funnel: $0.funnel
            )
        }
    }
}
