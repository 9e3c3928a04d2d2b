import ScanProtocol

/// Why a ``ScanClient`` call failed.
public enum ScanClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No reply within the call's timeout (the service is down, unreachable or overloaded).
    case timedOut(verb: String, endpoint: String, after: Duration)
    /// The service answered `ERROR` with this code and message.
    case service(ProtocolError)
    /// The reply could not be read (wrong frames, version or JSON).
    case badReply(String)
    /// The transport failed (libzmq error text).
    case transport(String)
    /// The client was closed.
    case closed

    public var description: String {
        switch self {
        case .timedOut(let verb, let endpoint, let after):
            "no reply to \(verb) from \(endpoint) within \(Self.seconds(after)) s (is scan-service running there?)"
        case .service(let e): "the service answered \(e.code.rawValue): \(e.message)"
        case .badReply(let m): "unreadable reply: \(m)"
        case .transport(let m): "transport error: \(m)"
        case .closed: "the client is closed"
        }
    }

    /// The service's error code, for `.service` errors.
    public var code: ProtocolErrorCode? {
        if case .service(let e) = self { return e.code }
        return nil
    }

    static func seconds(_ d: Duration) -> String {
        let (s, atto) = d.components
        let ms = Int(s) * 1000 + Int(atto / 1_000_000_000_000_000)
        return ms % 1000 == 0 ? String(ms / 1000) : String(Double(ms) / 1000)
    }
}
