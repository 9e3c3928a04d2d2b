/// A JSON scalar (string, number, boolean or null): the type of `request_id`, echoed as received.
public enum JSONScalar: Sendable, Hashable, Codable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null
    /// A JSON number exactly as a client wrote it (the service echoes `request_id`s so, whatever their
    /// size or precision). Only the service makes these; decoding gives `.integer` or `.number`.
    case literal(String)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else {
            throw DecodingError.typeMismatch(
                JSONScalar.self,
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "expected a JSON scalar")
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        // Written as its text by `JSONCoding.encode`; alone, the nearest double.
        case .literal(let text): try c.encode(Double(text) ?? .nan)
        }
    }

    /// The size that counts against ``WireProtocol/maxRequestIdBytes``: a string's UTF-8 bytes (without
    /// quotes or escapes), a number's text as written, otherwise its JSON text.
    public var encodedByteCount: Int {
        switch self {
        case .string(let s): s.utf8.count
        case .literal(let text): text.utf8.count
        default: description.utf8.count
        }
    }

    public var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .integer(let i): String(i)
        case .number(let d): String(d)
        case .bool(let b): String(b)
        case .null: "null"
        case .literal(let text): text
        }
    }
}
