import Foundation

/// JSON encoding shared by every client-facing body.
public enum JSONCoding {
    /// Encodes `value` as a JSON object, adding `"request_id"` when given.
    public static func encode<T: Encodable>(_ value: T, requestId: JSONScalar? = nil) throws -> [UInt8] {
        if case .literal(let text)? = requestId {
            // A number echoed as sent: encode a unique marker string, then put the text in its place.
            let marker = "request-id-\(UInt64.random(in: 1...UInt64.max))-\(UInt64.random(in: 1...UInt64.max))"
            let body = try encode(value, requestId: .string(marker))
            let quoted = Array("\"\(marker)\"".utf8)
            guard let at = body.firstRange(of: quoted) else { return body }
            return Array(body[..<at.lowerBound]) + Array(text.utf8) + Array(body[at.upperBound...])
        }
        if let body = try ResultJSONWriter.encode(value, requestId: requestId) { return body }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity",
            negativeInfinity: "-Infinity",
            nan: "NaN"
        )
        return Array(try encoder.encode(WithRequestId(value: value, requestId: requestId)))
    }

    /// Decodes a JSON body (replies, events) into `T`; a decoding failure is a ``ProtocolError``.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(ProtocolError) -> T {
        try RequestCodec.decodeBody(T.self, from: Data(bytes))
    }
}

struct WithRequestId<T: Encodable>: Encodable {
    var value: T
    var requestId: JSONScalar?
    enum CodingKeys: String, CodingKey { case requestId = "request_id" }
    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
        if let requestId {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(requestId, forKey: .requestId)
        }
    }
}

/// A reply as a client receives it (after the empty delimiter): status and raw JSON body.
public struct Reply: Sendable, Hashable {
    public var isOK: Bool
    public var body: [UInt8]

    public init(isOK: Bool, body: [UInt8]) {
        self.isOK = isOK
        self.body = body
    }

    /// The `request_id` the service echoed, if any.
    public var requestId: JSONScalar? {
        (try? JSONDecoder().decode(RequestIdProbe.self, from: Data(body)))?.requestId
    }

    /// The body of an `OK` reply as `T`; throws the service's ``ProtocolError`` for an `ERROR` reply.
    public func decode<T: Decodable>(_ type: T.Type) throws(ProtocolError) -> T {
        if !isOK { throw error ?? .badRequest("unreadable ERROR reply") }
        return try JSONCoding.decode(T.self, from: body)
    }

    /// The error of an `ERROR` reply (`nil` for `OK`).
    public var error: ProtocolError? {
        guard !isOK else { return nil }
        guard let e = try? JSONCoding.decode(ErrorBody.self, from: body) else { return nil }
        return e.protocolError ?? ProtocolError(.badRequest, "\(e.code): \(e.message)")
    }
}

/// Encodes replies (service side) and decodes them (client side).
public enum ReplyCodec {
    /// `envelope | MSCAN/1 | OK | BODY`.
    public static func ok<T: Encodable>(_ body: T, envelope: [[UInt8]], requestId: JSONScalar?) throws -> [[UInt8]] {
        envelope + [
            WireProtocol.versionBytes, Array(WireProtocol.ok.utf8), try JSONCoding.encode(body, requestId: requestId),
        ]
    }

    /// `envelope | MSCAN/1 | ERROR | {"code", "message", "request_id"?}`.
    public static func error(_ error: ProtocolError, envelope: [[UInt8]], requestId: JSONScalar?) -> [[UInt8]] {
        let body =
            (try? JSONCoding.encode(ErrorBody(error), requestId: requestId))
            ?? Array("{\"code\":\"\(error.code.rawValue)\",\"message\":\"unencodable message\"}".utf8)
        return envelope + [WireProtocol.versionBytes, Array(WireProtocol.error.utf8), body]
    }

    /// Decodes the frames a DEALER (leading empty frame) or REQ client received.
    public static func decode(_ frames: [[UInt8]]) throws(ProtocolError) -> Reply {
        var f = frames[...]
        if f.first?.isEmpty == true { f = f.dropFirst() }
        guard f.count == 3 else { throw .badRequest("a reply has 3 frames after the delimiter, got \(f.count)") }
        let parts = Array(f)
        guard parts[0] == WireProtocol.versionBytes else {
            throw ProtocolError(.unsupportedVersion, "reply version is not \(WireProtocol.version)")
        }
        switch String(decoding: parts[1], as: UTF8.self) {
        case WireProtocol.ok: return Reply(isOK: true, body: parts[2])
        case WireProtocol.error: return Reply(isOK: false, body: parts[2])
        case let other: throw .badRequest("unknown reply status '\(other)'")
        }
    }
}
