/// Constants of the client-facing wire protocol: `"" | "MSCAN/1" | VERB | BODY` (DESIGN §5).
public enum WireProtocol {
    /// The version frame every request and reply carries first (after the routing envelope).
    public static let version = "MSCAN/1"
    /// The version frame's bytes.
    public static let versionBytes: [UInt8] = Array(version.utf8)
    /// The reply status frame of a successful request.
    public static let ok = "OK"
    /// The reply status frame of a failed request.
    public static let error = "ERROR"
    /// The prefix of every event topic (`scan.<session_id>.<event>`).
    public static let eventTopicPrefix = "scan."
    /// The prefix of every node control topic (`ctl.cancel`).
    public static let controlTopicPrefix = "ctl."
    /// Default request body limit (bytes) when a service is not configured otherwise.
    public static let defaultMaxRequestBytes = 1 << 20
    /// Longest `request_id` echoed (bytes of a string's UTF-8, or of a number as written). A longer one
    /// is refused as `bad_request` and not echoed: every reply carries its `request_id`, so an uncapped
    /// one would let a client make the service hold (and queue for it) a copy of its body per request.
    public static let maxRequestIdBytes = 256
}

/// The request verbs.
public enum Verb: String, Sendable, Hashable, CaseIterable {
    case runScan = "RUN_SCAN"
    case getSession = "GET_SESSION"
    case getResult = "GET_RESULT"
    case cancel = "CANCEL"
    case listSessions = "LIST_SESSIONS"
    case ping = "PING"
    case listSymbols = "LIST_SYMBOLS"
    case watchStart = "WATCH_START"
    case watchStop = "WATCH_STOP"
    case listWatches = "LIST_WATCHES"
    case getWatch = "GET_WATCH"
}
