import Foundation
import ScanCore

/// `{"completed", "total", "matches_so_far"}`.
public struct ProgressDocument: Sendable, Hashable, Codable {
    public var completed: Int
    public var total: Int
    public var matchesSoFar: Int

    enum CodingKeys: String, CodingKey {
        case completed, total
        case matchesSoFar = "matches_so_far"
    }

    public init(completed: Int, total: Int, matchesSoFar: Int) {
        self.completed = completed
        self.total = total
        self.matchesSoFar = matchesSoFar
    }

    public init(_ p: ScanProgress) { self.init(completed: p.completed, total: p.total, matchesSoFar: p.matchesSoFar) }
}

/// The SESSION document of DESIGN §5: `{"session_id", "status", "progress", "request", "created_at",
/// "started_at"?, "finished_at"?, "error"?}`, times ISO 8601 UTC (``WireTime``).
public struct SessionDocument: Sendable, Hashable, Codable {
    public var sessionId: String
    /// `pending`, `running`, `completed`, `failed` or `cancelled`.
    public var status: String
    public var progress: ProgressDocument
    public var request: ScanRequestDocument
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case sessionId = "session_id"
        case status, progress, request
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case error
    }

    public init(
        sessionId: String,
        status: String,
        progress: ProgressDocument,
        request: ScanRequestDocument,
        createdAt: String,
        startedAt: String? = nil,
        finishedAt: String? = nil,
        error: String? = nil
    ) {
        self.sessionId = sessionId
        self.status = status
        self.progress = progress
        self.request = request
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.error = error
    }

    /// The document of `session` (its result is not part of it; see `GET_RESULT`).
    public init(_ session: ScanSession) {
        self.init(
            sessionId: session.id,
            status: session.status.rawValue,
            progress: ProgressDocument(session.progress),
            request: ScanRequestDocument(session.request),
            createdAt: WireTime.format(session.createdAt),
            startedAt: session.startedAt.map(WireTime.format),
            finishedAt: session.finishedAt.map(WireTime.format),
            error: session.error
        )
    }

    /// The status as the domain type; `nil` for a status this version does not know.
    public var scanStatus: ScanStatus? { ScanStatus(rawValue: status) }
}

// MARK: - Request bodies

/// `RUN_SCAN`: a ``ScanRequestDocument`` plus `"wait"`.
public struct RunScanBody: Sendable, Hashable, Codable {
    public var request: ScanRequestDocument
    /// Reply only when the session has ended, with its result.
    public var wait: Bool?

    enum CodingKeys: String, CodingKey { case wait }

    public init(request: ScanRequestDocument, wait: Bool? = nil) {
        self.request = request
        self.wait = wait
    }

    public init(from decoder: any Decoder) throws {
        request = try ScanRequestDocument(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        wait = try c.decodeIfPresent(Bool.self, forKey: .wait)
    }

    public func encode(to encoder: any Encoder) throws {
        try request.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(wait, forKey: .wait)
    }
}

/// `GET_SESSION` and `CANCEL`: `{"session_id"}`.
public struct SessionIdBody: Sendable, Hashable, Codable {
    public var sessionId: String

    enum CodingKeys: String, CodingKey { case sessionId = "session_id" }

    public init(sessionId: String) { self.sessionId = sessionId }
}

/// `GET_RESULT`: `{"session_id", "offset"?, "limit"?}`; matches are cut to `[offset, offset + limit)`.
public struct GetResultBody: Sendable, Hashable, Codable {
    public var sessionId: String
    public var offset: Int?
    public var limit: Int?

    enum CodingKeys: String, CodingKey {
        case sessionId = "session_id"
        case offset, limit
    }

    public init(sessionId: String, offset: Int? = nil, limit: Int? = nil) {
        self.sessionId = sessionId
        self.offset = offset
        self.limit = limit
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sessionId = try c.decode(String.self, forKey: .sessionId)
        offset = try RequestCodec.decodeInteger(c, .offset)
        limit = try RequestCodec.decodeInteger(c, .limit)
    }
}

/// `LIST_SESSIONS`: `{"status"?, "limit"?}`.
public struct ListSessionsBody: Sendable, Hashable, Codable {
    public var status: String?
    public var limit: Int?

    public init(status: String? = nil, limit: Int? = nil) {
        self.status = status
        self.limit = limit
    }

    enum CodingKeys: String, CodingKey { case status, limit }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decodeIfPresent(String.self, forKey: .status)
        limit = try RequestCodec.decodeInteger(c, .limit)
    }
}

/// `PING`: `{}`.
public struct PingBody: Sendable, Hashable, Codable {
    public init() {}
}

// MARK: - Reply bodies

/// `{"session": SESSION}` (GET_SESSION, CANCEL, RUN_SCAN without wait) and
/// `{"session": SESSION, "result": RESULT}` (RUN_SCAN with `wait: true`).
public struct SessionReply: Sendable, Hashable, Codable {
    public var session: SessionDocument
    public var result: ResultDocument?

    public init(session: SessionDocument, result: ResultDocument? = nil) {
        self.session = session
        self.result = result
    }
}

/// `{"session_id", "result": RESULT}` (GET_RESULT).
public struct ResultReply: Sendable, Hashable, Codable {
    public var sessionId: String
    public var result: ResultDocument

    enum CodingKeys: String, CodingKey {
        case sessionId = "session_id"
        case result
    }

    public init(sessionId: String, result: ResultDocument) {
        self.sessionId = sessionId
        self.result = result
    }
}

/// `{"sessions": [SESSION]}` (LIST_SESSIONS), newest first.
public struct SessionListReply: Sendable, Hashable, Codable {
    public var sessions: [SessionDocument]

    public init(sessions: [SessionDocument]) { self.sessions = sessions }
}

/// One live engine node in a `PING` reply.
public struct NodeDocument: Sendable, Hashable, Codable {
    public var name: String
    public var threads: Int
    public var lastSeenMsAgo: Int
    public var chunksDone: Int

    enum CodingKeys: String, CodingKey {
        case name, threads
        case lastSeenMsAgo = "last_seen_ms_ago"
        case chunksDone = "chunks_done"
    }

    public init(name: String, threads: Int, lastSeenMsAgo: Int, chunksDone: Int) {
        self.name = name
        self.threads = threads
        self.lastSeenMsAgo = lastSeenMsAgo
        self.chunksDone = chunksDone
    }
}

/// `{"version", "uptime_s", "nodes": [...], "sessions_running"}` (PING).
public struct PingReply: Sendable, Hashable, Codable {
    public var version: String
    public var uptimeS: Double
    public var nodes: [NodeDocument]
    public var sessionsRunning: Int
    /// Live watches running (absent from services without live scans).
    public var watchesRunning: Int?
    /// The bar feed's counters (absent from services without a feed).
    public var feed: FeedStatusDocument?

    enum CodingKeys: String, CodingKey {
        case version
        case uptimeS = "uptime_s"
        case nodes
        case sessionsRunning = "sessions_running"
        case watchesRunning = "watches_running"
        case feed
    }

    public init(
        version: String = WireProtocol.version,
        uptimeS: Double,
        nodes: [NodeDocument],
        sessionsRunning: Int,
        watchesRunning: Int? = nil,
        feed: FeedStatusDocument? = nil
    ) {
        self.version = version
        self.uptimeS = uptimeS
        self.nodes = nodes
        self.sessionsRunning = sessionsRunning
        self.watchesRunning = watchesRunning
        self.feed = feed
    }
}
