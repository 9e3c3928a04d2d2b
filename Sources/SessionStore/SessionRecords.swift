import Foundation
import ScanCore

/// How sessions, jobs and chunk results are encoded for storage: JSON with non-finite numbers as
/// strings, matches packed column-wise (``PackedMatches``). Shared by every session store (SQLite
/// here, PostgreSQL in `PostgresStore`), so a record reads back the same from either.
package enum SessionRecords {
    package static func encodeRequest(_ request: BatchScanRequest) throws -> Data { try encode(request) }
    package static func decodeRequest(_ data: Data) throws -> BatchScanRequest {
        try decode(BatchScanRequest.self, data)
    }

    package static func encodeResult(_ result: BatchScanResult) throws -> Data { try encode(StoredResult(result)) }
    package static func decodeResult(_ data: Data) throws -> BatchScanResult {
        try decode(StoredResult.self, data).unpacked()
    }

    package static func encodeJob(_ job: ProcessingJob) throws -> Data { try encode(job) }
    package static func decodeJob(_ data: Data) throws -> ProcessingJob { try decode(ProcessingJob.self, data) }

    package static func encodeChunk(_ results: [SymbolResult]) throws -> Data { try encode(StoredChunk(results)) }
    package static func decodeChunk(_ data: Data) throws -> [SymbolResult] {
        try decode(StoredChunk.self, data).unpacked()
    }

    /// A stored status, or ``SessionStoreError/corrupt(_:)`` naming the session.
    package static func status(_ text: String, session id: String) throws -> ScanStatus {
        guard let status = ScanStatus(rawValue: text) else {
            throw SessionStoreError.corrupt("session \(id) has unknown status '\(text)'")
        }
        return status
    }

    /// A watch's set as stored: `{"seq", "entries"}`, the set after event `seq`.
    private struct WatchSnapshot: Codable {
        var seq: Int
        var entries: [WatchEntry]
    }

    package static func encodeWatchSet(_ entries: [WatchEntry], seq: Int) throws -> Data {
        try encode(WatchSnapshot(seq: seq, entries: entries))
    }

    /// A stored set and the `seq` it is at; a bare array (written before snapshots) is at `rowSeq`.
    package static func decodeWatchSet(_ data: Data, rowSeq: Int) throws -> (seq: Int, entries: [WatchEntry]) {
        if let s = try? decode(WatchSnapshot.self, data) { return (s.seq, s.entries) }
        return (rowSeq, try decode([WatchEntry].self, data))
    }

    package static func encode(_ value: some Encodable) throws -> Data {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf",
            negativeInfinity: "-inf",
            nan: "nan"
        )
        return try e.encode(value)
    }

    package static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf",
            negativeInfinity: "-inf",
            nan: "nan"
        )
        do {
            return try d.decode(type, from: data)
        } catch {
            throw SessionStoreError.corrupt("cannot decode \(T.self): \(error)")
        }
    }
}
