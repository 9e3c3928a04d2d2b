import Foundation
import ScanCore
import Synchronization

/// Writes the replies that carry a RESULT (`RUN_SCAN` with `"wait": true`, `GET_RESULT`) with the
/// matches serialized by hand: Foundation's `JSONEncoder` builds a tree of boxed values for every
/// field of every match, which for a result of 30,000 matches costs more than the whole scan (and
/// tens of megabytes of transient memory). Everything but `signals.matches` still goes through
/// `JSONEncoder`; the output is the same JSON (sorted keys, `null` for undefined numbers, slashes
/// unescaped), numbers in Swift's shortest round-trip form.
enum ResultJSONWriter {
    /// The body of `value` when it is a reply carrying a result, else `nil` (encode it normally).
    static func encode<T: Encodable>(_ value: T, requestId: JSONScalar?) throws -> [UInt8]? {
        if let reply = value as? SessionReply, let result = reply.result {
            // Keys sorted: request_id, result, session.
            var out: [UInt8] = []
            try openObject(&out, requestId: requestId)
            out.append(contentsOf: "\"result\":".utf8)
            try appendResult(result, to: &out)
            out.append(contentsOf: ",\"session\":".utf8)
            out += try plain(reply.session)
            out.append(UInt8(ascii: "}"))
            return out
        }
        if let reply = value as? SessionResultReply {
            // Keys sorted: request_id, result, session (RUN_SCAN) or session_id (GET_RESULT).
            var out: [UInt8] = []
            out.reserveCapacity(Self.estimatedBytes(reply.matches))
            try openObject(&out, requestId: requestId)
            out.append(contentsOf: "\"result\":".utf8)
            try appendResult(reply.document, to: &out) { out in appendMatches(reply.matches, to: &out) }
            if let session = reply.session {
                out.append(contentsOf: ",\"session\":".utf8)
                out += try plain(session)
            } else {
                out.append(contentsOf: ",\"session_id\":".utf8)
                appendString(reply.sessionId, to: &out)
            }
            out.append(UInt8(ascii: "}"))
            return out
        }
        if let reply = value as? ResultReply {
            // Keys sorted: request_id, result, session_id.
            var out: [UInt8] = []
            try openObject(&out, requestId: requestId)
            out.append(contentsOf: "\"result\":".utf8)
            try appendResult(reply.result, to: &out)
            out.append(contentsOf: ",\"session_id\":".utf8)
            appendString(reply.sessionId, to: &out)
            out.append(UInt8(ascii: "}"))
            return out
        }
        return nil
    }

    /// Matches from which ``appendMatches(_:to:)`` writes parts on several cores.
    static let parallelMatches = 8_192

    /// The comma-separated match objects of `matches`. A large result is written in parts, on as
    /// many cores as there are (`DispatchQueue.concurrentPerform`: the calling thread writes parts
    /// too, so it waits only for the CPU work of parts already begun), each part into its own buffer,
    /// then joined in order: the same bytes as one pass. Matches are read in place (no copy, retain or
    /// release of each).
    static func appendMatches(_ matches: ArraySlice<SignalMatch>, to out: inout [UInt8]) {
        // Matches `all[range]`, each after a comma but the very first of `all`.
        @Sendable func write(_ all: UnsafeBufferPointer<SignalMatch>, _ range: Range<Int>, to bytes: inout [UInt8]) {
            var day = TimestampCache()
            for i in range {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                appendMatch(all[i], timestamp: &day, to: &bytes)
            }
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard matches.count >= parallelMatches, cores > 1 else {
            matches.withUnsafeBufferPointer { write($0, $0.indices, to: &out) }
            return
        }
        // Several parts a core, so a core that is busy elsewhere leaves its share to the others.
        let count = Swift.min(4 * cores, matches.count / 1_024)
        let per = (matches.count + count - 1) / count
        let parts = Mutex([[UInt8]](repeating: [], count: count))
        matches.withUnsafeBufferPointer { buffer in
            let shared = ReadOnly(buffer)
            DispatchQueue.concurrentPerform(iterations: count) { p in
                let all = shared.buffer
                let range = Swift.min(all.count, p * per)..<Swift.min(all.count, (p + 1) * per)
                var bytes: [UInt8] = []
                bytes.reserveCapacity(estimatedBytes(all[range]))
                write(all, range, to: &bytes)
                parts.withLock { $0[p] = bytes }
            }
        }
        parts.withLock { for part in $0 { out += part } }
    }

    /// The matches' buffer, read by the parts' threads: it is only read, and `concurrentPerform`
    /// returns (every part written) before the buffer's lifetime ends.
    private struct ReadOnly: @unchecked Sendable {
        let buffer: UnsafeBufferPointer<SignalMatch>
        init(_ buffer: UnsafeBufferPointer<SignalMatch>) { self.buffer = buffer }
    }

    private static func openObject(_ out: inout [UInt8], requestId: JSONScalar?) throws {
        out.append(UInt8(ascii: "{"))
        if let requestId {
            out.append(contentsOf: "\"request_id\":".utf8)
            out += try plain(requestId)
            out.append(UInt8(ascii: ","))
        }
    }

    /// `JSONEncoder` output of a value (sorted keys, slashes unescaped, non-finite numbers as strings).
    private static func plain<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity",
            negativeInfinity: "-Infinity",
            nan: "NaN"
        )
        return Array(try encoder.encode(value))
    }

    /// About the bytes `matches` take as JSON (a match ~100, each forward figure ~24 more), so a reply of
    /// tens of thousands of matches is written into one buffer instead of one reallocated as it grows.
    static func estimatedBytes(_ matches: some Collection<SignalMatch>) -> Int {
        let forward = matches.first?.forward.map { 60 + 24 * ($0.returnCount + 2) } ?? 0
        let columns = 24 * (matches.first?.columns.count ?? 0)
        return 4_096 + matches.count * (100 + forward + columns)
    }

    /// The document with its matches spliced into `JSONEncoder`'s output of the rest.
    static func appendResult(_ doc: ResultDocument, to out: inout [UInt8]) throws {
        try appendResult(doc, to: &out) { out in
            for (i, m) in doc.signals.matches.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendMatch(m, to: &out)
            }
        }
    }

    /// The document with the matches `writeMatches` writes (comma-separated match objects) spliced
    /// into `JSONEncoder`'s output of the rest; `doc`'s own matches when it has any.
    private static func appendResult(
        _ doc: ResultDocument,
        to out: inout [UInt8],
        matches writeMatches: (inout [UInt8]) -> Void
    ) throws {
        var rest = doc
        rest.signals.matches = []
        rest.statistics.bySymbol = [:]
        rest.statistics.byDate = [:]
        rest.statistics.bySignalType = [:]
        var head = try plain(rest)
        // The statistics' maps (one entry per symbol and per date) by hand as well.
        for (key, map) in [
            ("by_date", doc.statistics.byDate), ("by_signal_type", doc.statistics.bySignalType),
            ("by_symbol", doc.statistics.bySymbol),
        ] {
            guard !map.isEmpty else { continue }
            let empty = Array("\"\(key)\":{}".utf8)
            guard let at = find(empty, in: head) else {
                out += try plain(doc)
                return
            }
            var object: [UInt8] = [UInt8(ascii: "{")]
            for (i, k) in map.keys.sorted().enumerated() {
                if i > 0 { object.append(UInt8(ascii: ",")) }
                appendString(k, to: &object)
                object.append(UInt8(ascii: ":"))
                object += Array(String(map[k] ?? 0).utf8)
            }
            object.append(UInt8(ascii: "}"))
            head.replaceSubrange((at + empty.count - 2)..<(at + empty.count), with: object)
        }
        // `"matches":[]` occurs once: as the key of `signals` (inside a JSON string every quote is escaped).
        let key = Array("\"matches\":[".utf8)
        guard let at = find(key, in: head), at + key.count < head.count, head[at + key.count] == UInt8(ascii: "]")
        else {
            out += try plain(doc)
            return
        }
        out += head[..<(at + key.count)]
        writeMatches(&out)
        out += head[(at + key.count)...]
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = 0
        while i <= hay.count - needle.count {
            if hay[i] == needle[0] && hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// `{"close","forward"?,"signal","symbol","timestamp","values"}` (sorted keys).
    static func appendMatch(_ m: ResultDocument.Match, to out: inout [UInt8]) {
        appendMatch(
            close: m.close,
            forward: m.forward.map { ($0.maxAdverse, $0.maxFavorable, $0.returns) },
            signal: m.signal,
            symbol: m.symbol,
            timestamp: { appendString(m.timestamp, to: &$0) },
            values: { out in
                for (i, key) in m.values.keys.sorted().enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    appendString(key, to: &out)
                    out.append(UInt8(ascii: ":"))
                    appendNumber(m.values[key] ?? nil, to: &out)
                }
            },
            to: &out
        )
    }

    /// A match object from its parts, in sorted key order: `timestamp` writes the quoted timestamp,
    /// `values` the members of the `values` object.
    private static func appendMatch<Returns: Sequence<Double?>>(
        close: Double?,
        forward: (maxAdverse: Double?, maxFavorable: Double?, returns: Returns)?,
        signal: String,
        symbol: String,
        timestamp: (inout [UInt8]) -> Void,
        values: (inout [UInt8]) -> Void,
        to out: inout [UInt8]
    ) {
        out.append(contentsOf: "{\"close\":".utf8)
        appendNumber(close, to: &out)
        if let f = forward {
            out.append(contentsOf: ",\"forward\":{\"max_adverse\":".utf8)
            appendNumber(f.maxAdverse, to: &out)
            out.append(contentsOf: ",\"max_favorable\":".utf8)
            appendNumber(f.maxFavorable, to: &out)
            out.append(contentsOf: ",\"returns\":[".utf8)
            for (i, r) in f.returns.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendNumber(r, to: &out)
            }
            out.append(contentsOf: "]}".utf8)
        }
        out.append(contentsOf: ",\"signal\":".utf8)
        appendString(signal, to: &out)
        out.append(contentsOf: ",\"symbol\":".utf8)
        appendString(symbol, to: &out)
        out.append(contentsOf: ",\"timestamp\":".utf8)
        timestamp(&out)
        out.append(contentsOf: ",\"values\":{".utf8)
        values(&out)
        out.append(contentsOf: "}}".utf8)
    }

    /// The JSON string of the last timestamp written: matches come sorted by time, so most repeat it.
    struct TimestampCache {
        var key: BarTimestamp?
        var bytes: [UInt8] = []

        /// Appends the quoted `t` to `out`.
        mutating func append(_ t: BarTimestamp, to out: inout [UInt8]) {
            if t != key {
                key = t
                bytes.removeAll(keepingCapacity: true)
                appendString(t.description, to: &bytes)
            }
            out += bytes
        }
    }

    /// ``appendMatch(_:to:)`` of the match's document (``ResultDocument/Match/init(_:)``), written
    /// from the match itself: the same bytes. Reads the match in place (its fields, not a copy).
    static func appendMatch(_ m: borrowing SignalMatch, timestamp: inout TimestampCache, to out: inout [UInt8]) {
        let time = m.timestamp
        let columns = m.columns
        appendMatch(
            close: m.close,
            forward: m.forward.map { f in
                (f.maxAdverse, f.maxFavorable, (0..<f.returnCount).lazy.map { Optional(f.forwardReturn($0)) })
            },
            signal: m.signal,
            symbol: m.symbol,
            timestamp: { timestamp.append(time, to: &$0) },
            values: { out in
                switch columns {
                case .none: break
                case .one(let key, let value):
                    appendString(key, to: &out)
                    out.append(UInt8(ascii: ":"))
                    appendNumber(value, to: &out)
                case .many(let values):
                    for (i, key) in values.keys.sorted().enumerated() {
                        if i > 0 { out.append(UInt8(ascii: ",")) }
                        appendString(key, to: &out)
                        out.append(UInt8(ascii: ":"))
                        appendNumber(values[key], to: &out)
                    }
                }
            },
            to: &out
        )
    }

    /// A finite number (integers without a fraction), else `null`.
    static func appendNumber(_ x: Double?, to out: inout [UInt8]) {
        guard let x, x.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        if x == x.rounded(), abs(x) < 1e15 {
            var v = Int64(x)
            if v == 0 {
                out.append(UInt8(ascii: "0"))
                return
            }
            if v < 0 {
                out.append(UInt8(ascii: "-"))
                v = -v
            }
            let start = out.count
            while v > 0 {
                out.append(UInt8(48 + v % 10))
                v /= 10
            }
            out[start...].reverse()
        } else {
            // `x.description`'s bytes, formatted into the stream's buffer instead of a new String.
            var stream = ASCIIStream(out: out)
            out = []
            x.write(to: &stream)
            out = stream.out
        }
    }

    /// Appends what is written to `out`. `Double.write(to:)` formats into a stack buffer and hands it
    /// to `_writeASCII` (the same text as `description`), so a number costs no String allocation.
    private struct ASCIIStream: TextOutputStream {
        var out: [UInt8]
        mutating func write(_ string: String) { out.append(contentsOf: string.utf8) }
        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { out.append(contentsOf: buffer) }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, everything else as UTF-8.
    private static let hex = Array("0123456789abcdef".utf8)

    static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendString(utf8: $0, to: &out) }
    }

    private static func appendString(utf8: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (symbols, signal names, timestamps) need no escape: one copy.
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for b in utf8 {
            let escaped: UInt8
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): escaped = b
            case 0x0A: escaped = UInt8(ascii: "n")
            case 0x0D: escaped = UInt8(ascii: "r")
            case 0x09: escaped = UInt8(ascii: "t")
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
                continue
            default:
                out.append(b)
                continue
            }
            out.append(UInt8(ascii: "\\"))
            out.append(escaped)
        }
        out.append(UInt8(ascii: "\""))
    }
}
