import Foundation
import ScanCore

/// A decoded, validated client request.
public enum ClientRequest: Sendable, Hashable {
    /// `RUN_SCAN`: the checked request (formula not compiled yet) and whether to wait for the end.
    case runScan(BatchScanRequest, wait: Bool)
    case getSession(sessionId: String)
    case getResult(sessionId: String, offset: Int, limit: Int?)
    case cancel(sessionId: String)
    case listSessions(status: ScanStatus?, limit: Int)
    case ping
    /// `LIST_SYMBOLS`: the symbols of the service's market-data store.
    case listSymbols(SymbolQuery)
    /// `WATCH_START`: the checked standing scan (formula not compiled yet).
    case watchStart(WatchRequest)
    case watchStop(watchId: String)
    case listWatches
    /// `GET_WATCH`, with the events after `eventsAfter` when given (at most `limit`).
    case getWatch(watchId: String, eventsAfter: Int?, limit: Int)

    public var verb: Verb {
        switch self {
        case .runScan: .runScan
        case .getSession: .getSession
        case .getResult: .getResult
        case .cancel: .cancel
        case .listSessions: .listSessions
        case .ping: .ping
        case .listSymbols: .listSymbols
        case .watchStart: .watchStart
        case .watchStop: .watchStop
        case .listWatches: .listWatches
        case .getWatch: .getWatch
        }
    }
}

/// The outcome of decoding one message received on the ROUTER: the envelope to answer through,
/// the `request_id` to echo (when one could be read), and the request or the error to answer.
public struct DecodedRequest: Sendable {
    /// The routing frames up to and including the empty delimiter; replies start with them.
    public var envelope: [[UInt8]]
    public var requestId: JSONScalar?
    public var result: Result<ClientRequest, ProtocolError>
}

/// Decodes and validates requests received on a ROUTER socket (DESIGN §5), and encodes replies.
///
/// Checks, in order: the empty delimiter, the version frame (`unsupported_version` when it names
/// another `MSCAN/…` version), the frame count, the body size (`too_large`), the verb, the JSON, and
/// each field (`bad_request` naming the field and the type expected). Pure and thread-safe.
public enum RequestCodec {
    /// Default `LIST_SESSIONS` limit.
    public static let defaultListLimit = 50
    /// Largest `LIST_SESSIONS` limit.
    public static let maxListLimit = 1000

    /// Decodes the frames of a message received on a ROUTER (routing id first).
    public static func decode(
        routerFrames frames: [[UInt8]],
        maxBodyBytes: Int = WireProtocol.defaultMaxRequestBytes
    )
        -> DecodedRequest
    {
        var envelope: [[UInt8]]
        var content: ArraySlice<[UInt8]>
        if let d = frames.firstIndex(where: \.isEmpty) {
            envelope = Array(frames[...d])
            content = frames[(d + 1)...]
            // A DEALER or REQ client's first frame is the empty delimiter: frames before it (after the
            // routing id) are not routing frames of ours, so they are never echoed back.
            if d > 1 {
                return DecodedRequest(
                    envelope: [frames[0], []],
                    requestId: nil,
                    result: .failure(
                        .badRequest(
                            "the first frame must be the empty delimiter; got \(d - 1) non-empty frame(s) before it (a DEALER client sends an empty frame first)"
                        )
                    )
                )
            }
        } else {
            envelope = frames.isEmpty ? [[]] : [frames[0], []]
            let rest = frames.dropFirst()
            return DecodedRequest(
                envelope: envelope,
                requestId: nil,
                result: .failure(
                    .badRequest(
                        "missing the empty delimiter frame before \"\(WireProtocol.version)\" (a DEALER client sends it itself; got \(rest.count) frame(s))"
                    )
                )
            )
        }
        if envelope.count < 2 { envelope = [[]] }
        return decode(content: Array(content), envelope: envelope, maxBodyBytes: maxBodyBytes)
    }

    /// Decodes `MSCAN/1 | VERB | BODY` (the frames after the delimiter).
    public static func decode(
        content: [[UInt8]],
        envelope: [[UInt8]] = [],
        maxBodyBytes: Int = WireProtocol.defaultMaxRequestBytes
    )
        -> DecodedRequest
    {
        // Read request_id first, from the body frame (the third after the delimiter) whenever it can be
        // read, so that every error — another version, a binary version frame, a body over the limit, a bad
        // verb or field — echoes it. Foundation's parser first (fast); the scanner for numbers (echoed as
        // sent) and for bodies the parser refuses (too deep, an integer out of range).
        let requestId: JSONScalar?
        if content.count >= 3 && !content[2].isEmpty {
            let body = content[2]
            switch (try? JSONDecoder().decode(RequestIdProbe.self, from: Data(body)))?.requestId {
            case .some(.string(let s)): requestId = .string(s)
            case .some(.bool(let b)): requestId = .bool(b)
            case .some(.null): requestId = .null
            default: requestId = RequestIdScanner.requestId(in: body)
            }
        } else {
            requestId = nil
        }
        if let requestId, requestId.encodedByteCount > WireProtocol.maxRequestIdBytes {
            return DecodedRequest(
                envelope: envelope,
                requestId: nil,
                result: .failure(
                    .badRequest(
                        "request_id is \(requestId.encodedByteCount) bytes long; the limit is \(WireProtocol.maxRequestIdBytes) (so it is not echoed)"
                    )
                )
            )
        }
        func fail(_ e: ProtocolError) -> DecodedRequest {
            DecodedRequest(envelope: envelope, requestId: requestId, result: .failure(e))
        }
        let expected = "expected \"\(WireProtocol.version)\" | VERB | BODY"
        guard let versionFrame = content.first else {
            return fail(.badRequest("missing frames: \(expected), got nothing after the delimiter"))
        }
        if versionFrame != WireProtocol.versionBytes {
            if versionFrame.starts(with: Array("MSCAN/".utf8)),
                let text = String(validating: versionFrame, as: UTF8.self)
            {
                return fail(
                    ProtocolError(
                        .unsupportedVersion,
                        "unsupported protocol version '\(text)'; this service speaks \(WireProtocol.version)"
                    )
                )
            }
            return fail(
                .badRequest(
                    "the first frame after the delimiter must be the protocol version \"\(WireProtocol.version)\" (\(describe(versionFrame)))"
                )
            )
        }
        guard content.count >= 3 else {
            return fail(.badRequest("missing frames: \(expected), got \(content.count) frame(s)"))
        }
        guard content.count == 3 else {
            return fail(.badRequest("too many frames: \(expected), got \(content.count) frames"))
        }
        let body = content[2]
        guard body.count <= maxBodyBytes else {
            return fail(ProtocolError(.tooLarge, "request body is \(body.count) bytes; the limit is \(maxBodyBytes)"))
        }
        let data = body.isEmpty ? Data("{}".utf8) : Data(body)
        guard let verbText = String(validating: content[1], as: UTF8.self), let verb = Verb(rawValue: verbText) else {
            let all = Verb.allCases.map(\.rawValue).joined(separator: ", ")
            return fail(.badRequest("unknown verb \(describe(content[1])); expected one of \(all)"))
        }
        do {
            _ = try decodeBody(RequestIdProbe.self, from: data)
            let request = try decodeRequest(verb, data)
            return DecodedRequest(envelope: envelope, requestId: requestId, result: .success(request))
        } catch let e as ProtocolError {
            return fail(e)
        } catch {
            return fail(.badRequest("\(error)"))
        }
    }

    static func decodeRequest(_ verb: Verb, _ data: Data) throws -> ClientRequest {
        switch verb {
        case .runScan:
            let body = try decodeBody(RunScanBody.self, from: data)
            return .runScan(try body.request.validated(), wait: body.wait ?? false)
        case .getSession:
            return .getSession(sessionId: try checkedId(decodeBody(SessionIdBody.self, from: data).sessionId))
        case .cancel:
            return .cancel(sessionId: try checkedId(decodeBody(SessionIdBody.self, from: data).sessionId))
        case .getResult:
            let b = try decodeBody(GetResultBody.self, from: data)
            if let o = b.offset, o < 0 {
                throw ProtocolError.badRequest("field 'offset' must be a non-negative integer (got \(o))")
            }
            if let l = b.limit, l < 0 {
                throw ProtocolError.badRequest("field 'limit' must be a non-negative integer (got \(l))")
            }
            return .getResult(sessionId: try checkedId(b.sessionId), offset: b.offset ?? 0, limit: b.limit)
        case .listSessions:
            let b = try decodeBody(ListSessionsBody.self, from: data)
            var status: ScanStatus?
            if let s = b.status {
                guard let st = ScanStatus(rawValue: s) else {
                    let all = ScanStatus.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ProtocolError.badRequest("field 'status' must be one of \(all) (got '\(s)')")
                }
                status = st
            }
            if let l = b.limit, l < 1 || l > maxListLimit {
                throw ProtocolError.badRequest("field 'limit' must be an integer from 1 to \(maxListLimit) (got \(l))")
            }
            return .listSessions(status: status, limit: b.limit ?? defaultListLimit)
        case .ping:
            _ = try decodeBody(PingBody.self, from: data)
            return .ping
        case .listSymbols:
            return .listSymbols(try decodeBody(ListSymbolsBody.self, from: data).validated())
        case .watchStart, .watchStop, .listWatches, .getWatch:
            return try decodeWatchRequest(verb, data)
        }
    }

    /// Default and largest number of events `GET_WATCH` returns.
    public static let maxWatchEvents = 1000

    static func decodeWatchRequest(_ verb: Verb, _ data: Data) throws -> ClientRequest {
        func watchId(_ id: String) throws(ProtocolError) -> String {
            guard !id.isEmpty else { throw ProtocolError.badRequest("field 'watch_id' must not be empty") }
            return id
        }
        switch verb {
        case .watchStart:
            return .watchStart(try decodeBody(WatchStartBody.self, from: data).validated())
        case .watchStop:
            return .watchStop(watchId: try watchId(decodeBody(WatchIdBody.self, from: data).watchId))
        case .getWatch:
            let b = try decodeBody(GetWatchBody.self, from: data)
            if let a = b.eventsAfter, a < 0 {
                throw ProtocolError.badRequest("field 'events_after' must be a non-negative integer (got \(a))")
            }
            if let l = b.limit, l < 1 || l > maxWatchEvents {
                throw ProtocolError.badRequest(
                    "field 'limit' must be an integer from 1 to \(maxWatchEvents) (got \(l))"
                )
            }
            return .getWatch(
                watchId: try watchId(b.watchId),
                eventsAfter: b.eventsAfter,
                limit: b.limit ?? maxWatchEvents
            )
        default:
            _ = try decodeBody(ListWatchesBody.self, from: data)
            return .listWatches
        }
    }

    static func checkedId(_ id: String) throws -> String {
        guard !id.isEmpty else { throw ProtocolError.badRequest("field 'session_id' must not be empty") }
        return id
    }

    /// Decodes a JSON body, turning every `DecodingError` into a `bad_request` that names the field.
    public static func decodeBody<T: Decodable>(_ type: T.Type, from data: Data) throws(ProtocolError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let e as DecodingError {
            if let kind = rootKind(data), kind != "an object" {
                throw .badRequest("the body must be a JSON object (got \(kind))")
            }
            throw .badRequest(describe(e))
        } catch let e as ProtocolError {
            throw e
        } catch {
            throw .badRequest("malformed JSON body: \(error)")
        }
    }

    /// What kind of JSON value the body is, by its first character (`nil` when blank).
    static func rootKind(_ data: Data) -> String? {
        guard let b = data.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return nil }
        switch b {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        default: return nil
        }
    }

    /// Decodes an optional integer field from a JSON number, naming the field when the number is not
    /// a whole number that fits (`1.5`, `1e30`): Foundation's own error for that names no field.
    static func decodeInteger<K: CodingKey>(
        _ c: KeyedDecodingContainer<K>,
        _ key: K
    ) throws -> Int? {
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
        let value: Double
        do {
            value = try c.decode(Double.self, forKey: key)
        } catch {
            throw ProtocolError.badRequest("field '\(key.stringValue)' must be an integer")
        }
        guard value.rounded() == value, abs(value) < 9.0e15 else {
            throw ProtocolError.badRequest("field '\(key.stringValue)' must be an integer (got \(value))")
        }
        return Int(value)
    }

    /// A person's explanation of a decoding error: which field, and what was expected.
    public static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let ctx):
            if ctx.codingPath.isEmpty { return "the body must be a JSON object" }
            return "field '\(path(ctx.codingPath))' must be \(typeName(type, ctx))"
        case .valueNotFound(let type, let ctx):
            if ctx.codingPath.isEmpty { return "the body must be a JSON object (got null)" }
            return "field '\(path(ctx.codingPath))' must be \(typeName(type, ctx)), not null"
        case .keyNotFound(let key, let ctx):
            return "missing field '\(path(ctx.codingPath + [key]))'"
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty {
                return "malformed JSON body: \(ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription)"
            }
            return "field '\(path(ctx.codingPath))' has an invalid value: \(ctx.debugDescription)"
        @unknown default:
            return "invalid body: \(error)"
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var s = ""
        for k in keys {
            if let i = k.intValue, k.stringValue.hasPrefix("Index") || k.stringValue == String(i) {
                s += "[\(i)]"
            } else {
                s += s.isEmpty ? k.stringValue : ".\(k.stringValue)"
            }
        }
        return s
    }

    static func typeName(_ type: Any.Type, _ ctx: DecodingError.Context) -> String {
        if type == String.self { return "a string" }
        if type == Bool.self { return "a boolean" }
        if type == Int.self || type == Int64.self || type == Int32.self { return "an integer" }
        if type == Double.self || type == Float.self { return "a number" }
        if type == ParameterDocument.self { return "a number or a boolean" }
        if type == JSONScalar.self { return "a JSON scalar (string, number, boolean or null)" }
        let t = "\(type)"
        if t.hasPrefix("Array") || t.hasPrefix("[") && !t.contains(":") { return "an array" }
        return "an object"
    }

    static func describe(_ frame: [UInt8]) -> String {
        if frame.isEmpty { return "got an empty frame" }
        if let s = String(validating: frame, as: UTF8.self), s.count <= 40,
            s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f })
        {
            return "'\(s)'"
        }
        return "got \(frame.count) bytes of binary data"
    }

    // MARK: Encoding (clients)

    /// The frames a DEALER client sends: `"" | MSCAN/1 | VERB | BODY` (a REQ client drops the empty frame).
    public static func encode<Body: Encodable>(
        _ verb: Verb,
        _ body: Body,
        requestId: JSONScalar? = nil
    ) throws -> [[UInt8]] {
        [[], WireProtocol.versionBytes, Array(verb.rawValue.utf8), try JSONCoding.encode(body, requestId: requestId)]
    }
}

/// Reads only `request_id` (any JSON scalar).
struct RequestIdProbe: Decodable {
    var requestId: JSONScalar?
    enum CodingKeys: String, CodingKey { case requestId = "request_id" }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // `"request_id": null` is echoed as null, so decode the key whenever it is present.
        requestId = c.contains(.requestId) ? try c.decode(JSONScalar.self, forKey: .requestId) : nil
    }
}
