/// The stable error codes of the client-facing protocol (DESIGN §5). Clients branch on these;
/// the accompanying message is for people.
public enum ProtocolErrorCode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Frames, JSON or a field were wrong (the message names the field and the type expected).
    case badRequest = "bad_request"
    /// The formula did not compile; the message carries line, column, caret and hint.
    case invalidFormula = "invalid_formula"
    /// No session with that id (or it has no result yet).
    case notFound = "not_found"
    /// The version frame named a protocol version this service does not speak.
    case unsupportedVersion = "unsupported_version"
    /// A request larger than the service accepts.
    case tooLarge = "too_large"
    /// The service already runs as many sessions as it is configured for, or is shutting down.
    case busy
}

/// An error answered to a client as `ERROR {"code", "message", "request_id"}`.
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ProtocolErrorCode
    public var message: String

    public init(_ code: ProtocolErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func badRequest(_ message: String) -> ProtocolError { ProtocolError(.badRequest, message) }
    public static func notFound(_ message: String) -> ProtocolError { ProtocolError(.notFound, message) }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// The body of an `ERROR` reply.
public struct ErrorBody: Sendable, Hashable, Codable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public init(_ error: ProtocolError) {
        self.init(code: error.code.rawValue, message: error.message)
    }

    /// The error as a ``ProtocolError``; `nil` when the code is not one this version knows.
    public var protocolError: ProtocolError? {
        ProtocolErrorCode(rawValue: code).map { ProtocolError($0, message) }
    }
}
