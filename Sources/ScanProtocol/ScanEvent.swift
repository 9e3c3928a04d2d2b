import Foundation

/// The event kinds published on `scan.<session_id>.<event>`.
public enum ScanEventKind: String, Sendable, Hashable, Codable, CaseIterable {
    case status, progress, completed, failed, cancelled
}

/// The body of an event: `{"session_id", "event", "status", "completed", "total", "matches_so_far",
/// "seq", "error"?, "time"}`. `seq` counts a session's events from 1 (gaps mean missed events).
public struct EventDocument: Sendable, Hashable, Codable {
    public var sessionId: String
    public var event: String
    public var status: String
    public var completed: Int
    public var total: Int
    public var matchesSoFar: Int
    public var seq: Int
    public var error: String?
    /// When the event was published (ISO 8601 UTC).
    public var time: String

    enum CodingKeys: String, CodingKey {
        case sessionId = "session_id"
        case event, status, completed, total
        case matchesSoFar = "matches_so_far"
        case seq, error, time
    }

    public init(
        sessionId: String,
        event: ScanEventKind,
        status: String,
        completed: Int,
        total: Int,
        matchesSoFar: Int,
        seq: Int,
        error: String? = nil,
        time: Date = Date()
    ) {
        self.sessionId = sessionId
        self.event = event.rawValue
        self.status = status
        self.completed = completed
        self.total = total
        self.matchesSoFar = matchesSoFar
        self.seq = seq
        self.error = error
        self.time = WireTime.format(time)
    }

    /// `scan.<session_id>.<event>`.
    public var topic: String { EventCodec.topic(sessionId: sessionId, event: event) }
}

/// Encodes and decodes `TOPIC | BODY` event messages.
public enum EventCodec {
    public static func topic(sessionId: String, event: String) -> String {
        "\(WireProtocol.eventTopicPrefix)\(sessionId).\(event)"
    }

    /// The subscription prefix for one session's events (`scan.<session_id>.`).
    public static func prefix(sessionId: String) -> String { "\(WireProtocol.eventTopicPrefix)\(sessionId)." }

    public static func encode(_ event: EventDocument) throws -> [[UInt8]] {
        [Array(event.topic.utf8), try JSONCoding.encode(event)]
    }

    public static func decode(_ frames: [[UInt8]]) throws(ProtocolError) -> EventDocument {
        guard frames.count == 2 else { throw .badRequest("an event has 2 frames (topic, body), got \(frames.count)") }
        return try JSONCoding.decode(EventDocument.self, from: frames[1])
    }
}
