import Foundation
import ScanProtocol
import Synchronization
import TestSupport
import ZeroMQ

/// A JSON object from a reply or event body.
struct JSONObject: @unchecked Sendable {
    let value: [String: Any]
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw SetupError("not a JSON object: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
        value = object
        self.bytes = bytes
    }

    subscript(_ key: String) -> Any? { value[key] }
    func object(_ key: String) -> JSONObject? {
        (value[key] as? [String: Any]).flatMap {
            try? JSONObject(Array(try JSONSerialization.data(withJSONObject: $0)))
        }
    }
    func string(_ key: String) -> String? { value[key] as? String }
    func int(_ key: String) -> Int? { value[key] as? Int }
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// A reply as received: status frame and body.
struct RawReply: Sendable {
    let status: String
    let body: JSONObject
    var code: String? { body.string("code") }
}

/// A DEALER on the service's api socket that sends whatever frames a test wants (bad ones included).
/// Every receive is bounded.
final class RawClient: Sendable {
    let context: ZMQContext
    let loop: ZMQLoop
    let socket: ZMQSocket

    private init(context: ZMQContext, loop: ZMQLoop, socket: ZMQSocket) {
        self.context = context
        self.loop = loop
        self.socket = socket
    }

    static func connect(_ endpoint: String) async throws -> RawClient {
        let context = try ZMQContext()
        let loop = try ZMQLoop(context: context, name: "e2e-client")
        var options = SocketOptions()
        options.lingerMs = 0
        options.reconnectIntervalMs = 50
        let socket = try await loop.makeSocket(.dealer, options: options, connectingTo: [endpoint])
        return RawClient(context: context, loop: loop, socket: socket)
    }

    func close() async {
        await loop.shutdown()
        await context.terminate()
    }

    func send(_ frames: [[UInt8]]) async throws { try await socket.send(ZMQMessage(frames)) }

    /// The next reply, within `seconds`.
    func receive(within seconds: Double = 10) async throws -> RawReply {
        let socket = self.socket
        let message = try await within(seconds, "a reply") { try await socket.receive() }
        guard let message else { throw TimedOut(what: "a reply (socket closed)") }
        let f = message.frames
        guard f.count == 4, f[0].isEmpty, f[1] == Array("MSCAN/1".utf8) else {
            throw SetupError("not a reply of MSCAN/1: \(f.count) frames")
        }
        return RawReply(status: String(decoding: f[2], as: UTF8.self), body: try JSONObject(f[3]))
    }

    /// Sends `"" | MSCAN/1 | verb | body` and returns the reply. An empty body (`{}`, the default) is
    /// sent with a fresh `request_id` and answered only by the reply carrying it, so a late reply to
    /// an earlier request that timed out is skipped, not taken for this one's.
    func request(_ verb: String, _ body: String = "{}", within seconds: Double = 10) async throws -> RawReply {
        guard body == "{}" else { return try await exchange(verb, body, tag: nil, within: seconds) }
        let tag = Self.freshTag()
        return try await exchange(verb, #"{"request_id": "\#(tag)"}"#, tag: tag, within: seconds)
    }

    /// `request` with a JSON-encodable body; without a `request_id` it gets a fresh one (see above).
    func request(_ verb: String, json: [String: Any], within seconds: Double = 10) async throws -> RawReply {
        var json = json
        let tag: String?
        if json["request_id"] == nil {
            tag = Self.freshTag()
            json["request_id"] = tag
        } else {
            tag = json["request_id"] as? String
        }
        let data = try JSONSerialization.data(withJSONObject: json)
        return try await exchange(verb, String(decoding: data, as: UTF8.self), tag: tag, within: seconds)
    }

    /// Sends the request and returns its reply: with a `tag`, the first reply whose `request_id` is it.
    private func exchange(
        _ verb: String,
        _ body: String,
        tag: String?,
        within seconds: Double
    ) async throws
        -> RawReply
    {
        try await send([[], Array("MSCAN/1".utf8), Array(verb.utf8), Array(body.utf8)])
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            let left = deadline - ContinuousClock.now
            let (s, atto) = left.components
            let reply = try await receive(within: max(0.001, Double(s) + Double(atto) / 1e18))
            guard let tag, reply.body.string("request_id") != tag else { return reply }
        }
    }

    private static let tags = Atomic<Int>(0)
    private static func freshTag() -> String { "e2e-\(tags.add(1, ordering: .relaxed).newValue)" }

    /// GET_SESSION's SESSION (throws on an ERROR reply).
    func session(_ id: String) async throws -> JSONObject {
        let reply = try await request("GET_SESSION", json: ["session_id": id])
        guard reply.status == "OK", let session = reply.body.object("session") else {
            throw SetupError("GET_SESSION \(id): \(reply.status) \(reply.body.text)")
        }
        return session
    }

    /// GET_RESULT's whole RESULT, decoded.
    func result(_ id: String) async throws -> ResultDocument {
        let reply = try await request("GET_RESULT", json: ["session_id": id])
        guard reply.status == "OK", let result = reply.body.object("result") else {
            throw SetupError("GET_RESULT \(id): \(reply.status) \(reply.body.text)")
        }
        return try ResultDocument.decode(Data(result.bytes))
    }

    /// Starts a scan (no wait); its session id.
    func startScan(_ body: [String: Any]) async throws -> String {
        let reply = try await request("RUN_SCAN", json: body)
        guard reply.status == "OK", let id = reply.body.object("session")?.string("session_id") else {
            throw SetupError("RUN_SCAN: \(reply.status) \(reply.body.text)")
        }
        return id
    }

    /// Waits until the session is final; returns it.
    func waitForEnd(_ id: String, within seconds: Double = 60) async throws -> JSONObject {
        try await eventually(seconds, "session \(id) to end", interval: .milliseconds(50)) {
            let s = try await self.session(id)
            return ["completed", "failed", "cancelled"].contains(s.string("status") ?? "") ? s : nil
        }
    }

    /// Waits until the session has finished some but not all of its symbols.
    func waitForMidScan(_ id: String, within seconds: Double = 30) async throws -> JSONObject {
        try await eventually(seconds, "session \(id) to be part-way", interval: .milliseconds(10)) {
            let s = try await self.session(id)
            if ["completed", "failed", "cancelled"].contains(s.string("status") ?? "") {
                throw SetupError("session \(id) ended before it could be interrupted (make the scan bigger): \(s.text)")
            }
            guard let p = s.object("progress"), let done = p.int("completed"), let total = p.int("total") else {
                return nil
            }
            return done > 0 && done < total ? s : nil
        }
    }

    /// PING's nodes: name → chunks_done.
    func nodes() async throws -> [String: Int] {
        let reply = try await request("PING")
        guard reply.status == "OK", let nodes = reply.body["nodes"] as? [[String: Any]] else {
            throw SetupError("PING: \(reply.body.text)")
        }
        return Dictionary(
            nodes.compactMap { n in (n["name"] as? String).map { ($0, n["chunks_done"] as? Int ?? 0) } },
            uniquingKeysWith: max
        )
    }
}

/// A SUB on the events socket collecting every message; waits until its subscription is live.
final class EventCollector: Sendable {
    let context: ZMQContext
    let loop: ZMQLoop
    let socket: ZMQSocket

    private init(context: ZMQContext, loop: ZMQLoop, socket: ZMQSocket) {
        self.context = context
        self.loop = loop
        self.socket = socket
    }

    static func subscribe(_ endpoint: String, prefix: String = "scan.") async throws -> EventCollector {
        let context = try ZMQContext()
        let loop = try ZMQLoop(context: context, name: "e2e-events")
        var options = SocketOptions()
        options.lingerMs = 0
        options.subscriptions = [Array(prefix.utf8)]
        options.receiveHighWaterMark = 100_000
        let socket = try await loop.makeSocket(.sub, options: options, connectingTo: [endpoint])
        return EventCollector(context: context, loop: loop, socket: socket)
    }

    /// The next event (topic, body), within `seconds`.
    func next(within seconds: Double = 20) async throws -> (topic: String, body: JSONObject) {
        let socket = self.socket
        let message = try await within(seconds, "an event") { try await socket.receive() }
        guard let f = message?.frames, f.count == 2 else {
            throw SetupError("not an event: \(message?.frames.count ?? 0) frames")
        }
        return (String(decoding: f[0], as: UTF8.self), try JSONObject(f[1]))
    }

    /// Events until (and including) the final one of `sessionId`; others are skipped.
    func untilEnd(of sessionId: String, within seconds: Double = 60) async throws -> [(topic: String, body: JSONObject)]
    {
        var out: [(String, JSONObject)] = []
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let e = try await next(within: max(0.1, Double((deadline - .now).components.seconds)))
            guard e.body.string("session_id") == sessionId else { continue }
            out.append(e)
            if ["completed", "failed", "cancelled"].contains(e.body.string("event") ?? "") {
                return out.map { (topic: $0.0, body: $0.1) }
            }
        }
        throw TimedOut(what: "the final event of \(sessionId)")
    }

    func close() async {
        await loop.shutdown()
        await context.terminate()
    }
}
