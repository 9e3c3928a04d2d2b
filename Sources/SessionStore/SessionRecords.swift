import Foundation
import ScanCore
import ScanProtocol

/// How sessions, jobs and chunk results are encoded for storage: JSON with non-finite numbers as
/// strings, matches packed column-wise (``PackedMatches``); chunk results in the node protocol's
/// binary form. Shared by every session store (SQLite
/// here, PostgreSQL in `PostgresStore`), so a record reads back the same from either.
package enum SessionRecords {
    package static func encodeRequest(_ request: BatchScanRequest) throws -> Data { try encode(request) }
    package static func decodeRequest(_ data: Data) throws -> BatchScanRequest {
        try decode(BatchScanRequest.self, data)
    }

    /// A final result as stored: ``resultMagic``, `u32` length and the JSON ``StoredResult`` without
    /// its matches, then the matches in binary (``MatchListCodec``). Written once per scan; a result
    /// of 30,000 matches costs a few bytes per match and no JSON per match.
    package static func encodeResult(_ result: BatchScanResult) throws -> Data {
        let head = try encode(StoredResult(result, packingMatches: false))
        var w = BinaryWriter(capacity: resultMagic.count + 4 + head.count + 48 * result.signals.matches.count)
        w.raw(resultMagic)
        w.count(head.count)
        w.raw(head)
        MatchListCodec.write(result.signals.matches, to: &w)
        return Data(w.bytes)
    }

    /// Reads a final result: the binary form, or the JSON ``StoredResult`` of rows written before it.
    package static func decodeResult(_ data: Data) throws -> BatchScanResult {
        let bytes = [UInt8](data)
        guard bytes.starts(with: resultMagic) else { return try decode(StoredResult.self, data).unpacked() }
        var r = BinaryReader(bytes, position: resultMagic.count)
        let matches: [SignalMatch]
        let head: StoredResult
        do {
            let header = try r.raw(try r.count("result header length"), "result header")
            head = try decode(StoredResult.self, Data(header))
            matches = try MatchListCodec.read(from: &r)
            guard r.position == bytes.count else {
                throw WireFormatError("\(bytes.count - r.position) bytes after the result's matches")
            }
        } catch let error as WireFormatError {
            throw SessionStoreError.corrupt("cannot decode a stored result: \(error)")
        }
        return try head.unpacked(matches: matches)
    }

    /// The first bytes of a binary result record (a JSON record starts with `{`).
    static let resultMagic: [UInt8] = Array("MSRSLT01".utf8)

    package static func encodeJob(_ job: ProcessingJob) throws -> Data { try encode(job) }
    package static func decodeJob(_ data: Data) throws -> ProcessingJob { try decode(ProcessingJob.self, data) }

    /// A chunk's results as stored: ``chunkMagic``, then the node protocol's binary results block
    /// (``SymbolResultsCodec``). A chunk result is written once per chunk of every scan and read only
    /// when a restarted service resumes the job, so it is kept in the cheapest exact form.
    package static func encodeChunk(_ results: [SymbolResult]) throws -> Data {
        var bytes = chunkMagic
        bytes += SymbolResultsCodec.encode(results)
        return Data(bytes)
    }

    /// The chunk record of results whose results block (``SymbolResultsCodec``'s bytes, as a node sent
    /// them) is `block`: the same bytes ``encodeChunk(_:)`` writes for those results, without encoding.
    package static func chunkRecord(resultsBlock block: ArraySlice<UInt8>) -> Data {
        var data = Data(capacity: chunkMagic.count + block.count)
        data.append(contentsOf: chunkMagic)
        data.append(contentsOf: block)
        return data
    }

    /// Reads a chunk record: the binary form, or the JSON ``StoredChunk`` of rows written before it.
    package static func decodeChunk(_ data: Data) throws -> [SymbolResult] {
        let bytes = [UInt8](data)
        guard bytes.starts(with: chunkMagic) else { return try decode(StoredChunk.self, data).unpacked() }
        do {
            return try SymbolResultsCodec.decode(bytes, from: chunkMagic.count)
        } catch {
            throw SessionStoreError.corrupt("cannot decode a stored chunk result: \(error)")
        }
    }

    /// The first bytes of a binary chunk record (a JSON record starts with `{`).
    static let chunkMagic: [UInt8] = Array("MSCHUNK1".utf8)

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
