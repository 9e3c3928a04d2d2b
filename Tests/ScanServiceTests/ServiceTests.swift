import Foundation
import ScanCore
import ScanProtocol
import ScanService
import TestSupport
import Testing
import ZeroMQ

@Suite(.serialized, .timeLimit(.minutes(2))) struct ServiceTests {
    @Test func runScanWaitReturnsTheSameResultAsLocal() async throws {
        try await withCluster(nodes: 2) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                let reply = try await client.request("RUN_SCAN", runScanBody(wait: true, extra: #", "request_id": 17"#))
                #expect(reply.requestId == .integer(17))
                let body = try reply.decode(SessionReply.self)
                #expect(body.session.status == "completed")
                let result = try #require(body.result)
                let request = try body.session.request.validated()
                let local = ResultDocument(
                    try await localResult(request),
                    sessionId: body.session.sessionId,
                    status: .completed
                )
                #expect(result.signals == local.signals)
                #expect(result.statistics == local.statistics)
                #expect(result.errors == local.errors)
                #expect(result.signals.totalSymbols == 48)
                #expect(result.signals.totalMatches > 0)
                #expect(body.session.progress.completed == 48)
                #expect(body.session.progress.total == 48)
                // The reply (encoded while the final state was written) is sent only once it is stored.
                let stored = try await cluster.sessions.session(id: body.session.sessionId)
                #expect(stored?.status == .completed)
                #expect(stored?.result?.signals.totalMatches == result.signals.totalMatches)
                // The stored result is whole, so the job and its chunk results are dropped.
                try await eventually(10, "the finished job's chunks dropped") {
                    let job = try await cluster.sessions.job(id: body.session.sessionId)
                    let chunks = try await cluster.sessions.chunkResults(jobId: body.session.sessionId)
                    return job == nil && chunks.isEmpty
                }
            }
        }
    }

    /// The study and the funnel computed on two nodes and merged on the service equal the in-process
    /// ones exactly, and GET_RESULT serves them from the store.
    @Test func studyAndFunnelMergedOnTheServiceEqualLocalAndArePersisted() async throws {
        try await withCluster(nodes: 2) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                let extra = #", "study": {"horizons": [20, 1, 5], "entry": "next-open"}, "explain": true"#
                let body = try await client.request("RUN_SCAN", runScanBody(wait: true, extra: extra))
                    .decode(SessionReply.self)
                let result = try #require(body.result)
                let request = try body.session.request.validated()
                #expect(request.study?.horizons == [1, 5, 20])
                #expect(request.explain)
                let local = ResultDocument(try await localResult(request), sessionId: body.session.sessionId)
                let study = try #require(result.study)
                #expect(study == local.study)
                #expect(result.funnel == local.funnel)
                #expect(result.signals.matches == local.signals.matches)
                #expect(result.signals.matches.allSatisfy { $0.forward?.returns.count == 3 })
                #expect(study.baseline.horizons[0].returns.events > 10_000)
                #expect(result.funnel?.signals.first?.clauses.count == 2)
                let stored = try await client.request("GET_RESULT", #"{"session_id": "\#(body.session.sessionId)"}"#)
                    .decode(ResultReply.self)
                #expect(stored.result.study == study)
                #expect(stored.result.funnel == result.funnel)
                #expect(stored.result.signals.matches == result.signals.matches)

                for (bad, text) in [
                    (#"{"horizons": [0]}"#, "positive whole number"),
                    (#"{"horizons": []}"#, "at least one horizon"),
                    (#"{"horizons": [1.5]}"#, "study.horizons"),
                    (#"{"horizons": [1], "entry": "open"}"#, "'close' or 'next-open'"),
                    ("{\"horizons\": [\(Array(1...17).map(String.init).joined(separator: ","))]}", "at most 16"),
                ] {
                    let reply = try await client.request(
                        "RUN_SCAN",
                        runScanBody(wait: false, extra: ", \"study\": \(bad)")
                    )
                    #expect(reply.error?.code == .badRequest, "\(bad)")
                    #expect(reply.error?.message.contains(text) == true, "\(bad): \(String(describing: reply.error))")
                }
            }
        }
    }

    @Test func runScanWithoutWaitThenSessionResultListAndEvents() async throws {
        try await withCluster(nodes: 2) { cluster in
            // A dashboard subscribed to every session's events.
            let subLoop = try ZMQLoop(context: try ZMQContext(), name: "test-sub")
            defer { Task { await subLoop.shutdown() } }
            var subOptions = SocketOptions()
            subOptions.subscriptions = [Array("scan.".utf8)]
            let sub = try await subLoop.makeSocket(.sub, options: subOptions)
            try await sub.connect(cluster.endpoints.events)

            try await withClient(cluster.endpoints.api) { client in
                // The subscription is live once an event of a probe scan arrives (no fixed wait).
                let probe = runScanBody(symbols: ["005930"], wait: true)
                try await eventually(20, "the event subscription to be live") {
                    _ = try await client.request("RUN_SCAN", probe)
                    return (try? await within(0.5, "a probe event") { try await sub.receive() }) != nil
                }
                let started = try await client.request("RUN_SCAN", runScanBody(wait: false)).decode(SessionReply.self)
                #expect(started.result == nil)
                #expect(["pending", "running"].contains(started.session.status))
                let id = started.session.sessionId

                let events = try await within(20, "completed event") {
                    var got: [EventDocument] = []
                    while let m = try await sub.receive() {
                        let e = try EventCodec.decode(m.frames)
                        guard e.sessionId == id else { continue }
                        #expect(String(decoding: m.frames[0], as: UTF8.self) == "scan.\(id).\(e.event)")
                        got.append(e)
                        if e.event == "completed" { break }
                    }
                    return got
                }
                #expect(events.map(\.seq) == Array(1...events.count))
                #expect(events.contains { $0.event == "progress" })
                #expect(events.last?.completed == 48)
                #expect(events.last?.matchesSoFar ?? 0 > 0)
                let progress = events.filter { $0.event == "progress" }.map(\.completed)
                #expect(progress == progress.sorted())

                let session = try await client.request("GET_SESSION", #"{"session_id": "\#(id)"}"#).decode(
                    SessionReply.self
                )
                #expect(session.session.status == "completed")
                #expect(session.session.finishedAt != nil)
                #expect(session.session.startedAt != nil)

                let whole = try await client.request("GET_RESULT", #"{"session_id": "\#(id)"}"#).decode(
                    ResultReply.self
                )
                let total = whole.result.signals.matches.count
                #expect(total == events.last?.matchesSoFar)
                let page = try await client.request("GET_RESULT", #"{"session_id": "\#(id)", "offset": 2, "limit": 3}"#)
                    .decode(ResultReply.self)
                #expect(page.result.signals.matches == Array(whole.result.signals.matches[2..<min(5, total)]))
                #expect(page.result.signals.totalMatches == total)
                #expect(page.result.statistics == whole.result.statistics)

                let list = try await client.request("LIST_SESSIONS", #"{"status": "completed"}"#).decode(
                    SessionListReply.self
                )
                #expect(list.sessions.contains { $0.sessionId == id })
                let running = try await client.request("LIST_SESSIONS", #"{"status": "running"}"#).decode(
                    SessionListReply.self
                )
                #expect(!running.sessions.contains { $0.sessionId == id })
            }
        }
    }

    @Test func pingShowsTheLiveNodes() async throws {
        try await withCluster(nodes: 2) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                try await eventually(10, "both nodes in PING") {
                    let ping = try await client.request("PING", "{}").decode(PingReply.self)
                    return Set(ping.nodes.map(\.name)) == ["node-1", "node-2"]
                }
                let ping = try await client.request("PING", #"{"request_id": "p"}"#)
                #expect(ping.requestId == .string("p"))
                let body = try ping.decode(PingReply.self)
                #expect(body.version == "MSCAN/1")
                #expect(body.nodes.allSatisfy { $0.threads == 2 && $0.lastSeenMsAgo < 5000 })
                #expect(body.sessionsRunning == 0)
                #expect(body.uptimeS >= 0)
            }
        }
    }

    @Test func everyBadInputGetsItsCodeAndTheServiceKeepsServing() async throws {
        let setup: (inout ScanServiceConfiguration) -> Void = { $0.maxRequestBytes = 4096 }
        try await withCluster(nodes: 1, configure: setup) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                func expectError(_ frames: [[UInt8]], _ code: ProtocolErrorCode, _ text: String) async throws {
                    try await client.sendRaw(frames)
                    let reply = try await client.receiveReply()
                    #expect(!reply.isOK)
                    #expect(reply.error?.code == code, "\(String(describing: reply.error))")
                    #expect(reply.error?.message.contains(text) == true, "\(String(describing: reply.error))")
                }
                let v = Array("MSCAN/1".utf8)
                try await expectError([[], v, Array("EXPLODE".utf8), Array("{}".utf8)], .badRequest, "unknown verb")
                try await expectError(
                    [[], v, Array("PING".utf8), Array("{not json".utf8)],
                    .badRequest,
                    "malformed JSON"
                )
                try await expectError(
                    [[], v, Array("GET_SESSION".utf8), Array(#"{"session_id": 5}"#.utf8)],
                    .badRequest,
                    "field 'session_id' must be a string"
                )
                try await expectError(
                    [[], Array("MSCAN/2".utf8), Array("PING".utf8), Array("{}".utf8)],
                    .unsupportedVersion,
                    "MSCAN/2"
                )
                // Protocol §2: request_id is echoed whenever the body parses, also before the verb is read.
                for frames in [
                    [[], Array("MSCAN/2".utf8), Array("PING".utf8), Array(#"{"request_id": "v2"}"#.utf8)],
                    [[], [0xFF, 0x00], Array("PING".utf8), Array(#"{"request_id": "v2"}"#.utf8)],
                    [
                        [], v, Array("PING".utf8),
                        Array(
                            ("{\"request_id\": \"v2\", \"pad\": \"" + String(repeating: "x", count: 5000) + "\"}").utf8
                        ),
                    ],
                ] {
                    try await client.sendRaw(frames)
                    let reply = try await client.receiveReply()
                    #expect(!reply.isOK)
                    #expect(reply.requestId == .string("v2"), "\(String(describing: reply.error))")
                }
                try await expectError([[], v, Array("PING".utf8)], .badRequest, "missing frames")
                try await expectError([[], [0xff, 0xfe, 0x00], [0x80, 0x81]], .badRequest, "binary")
                try await expectError(
                    [
                        [], v, Array("PING".utf8),
                        Array(("{\"pad\": \"" + String(repeating: "x", count: 10_000) + "\"}").utf8),
                    ],
                    .tooLarge,
                    "limit is 4096"
                )
                try await expectError(
                    [
                        [], v, Array("RUN_SCAN".utf8),
                        Array(runScanBody(formula: "smaa(close, 5) > 1", wait: false).utf8),
                    ],
                    .invalidFormula,
                    "smaa"
                )
                try await expectError(
                    [[], v, Array("GET_SESSION".utf8), Array(#"{"session_id": "nope"}"#.utf8)],
                    .notFound,
                    "nope"
                )
                try await expectError(
                    [[], v, Array("GET_RESULT".utf8), Array(#"{"session_id": "nope"}"#.utf8)],
                    .notFound,
                    "nope"
                )
                try await expectError(
                    [[], v, Array("CANCEL".utf8), Array(#"{"session_id": "nope"}"#.utf8)],
                    .notFound,
                    "nope"
                )
                let ping = try await client.request("PING", "{}")
                #expect(ping.isOK)
            }
        }
    }

    @Test func busyBeyondTheRunningLimitAndCancelKeepsThePartialResult() async throws {
        // No nodes: the session waits for one, so it stays running until cancelled.
        let setup: (inout ScanServiceConfiguration) -> Void = { $0.maxRunningSessions = 1 }
        try await withCluster(nodes: 0, configure: setup) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                let first = try await client.request("RUN_SCAN", runScanBody(wait: false)).decode(SessionReply.self)
                let second = try await client.request("RUN_SCAN", runScanBody(wait: false))
                #expect(second.error?.code == .busy)
                let id = first.session.sessionId
                try await eventually(10, "session running") {
                    try await client.request("GET_SESSION", #"{"session_id": "\#(id)"}"#).decode(SessionReply.self)
                        .session.status == "running"
                }
                let noResult = try await client.request("GET_RESULT", #"{"session_id": "\#(id)"}"#)
                #expect(noResult.error?.code == .notFound)

                let cancelled = try await client.request("CANCEL", #"{"session_id": "\#(id)"}"#).decode(
                    SessionReply.self
                )
                #expect(cancelled.session.status == "cancelled")
                let result = try await client.request("GET_RESULT", #"{"session_id": "\#(id)"}"#).decode(
                    ResultReply.self
                )
                #expect(result.result.status == "cancelled")
                #expect(result.result.signals.totalSymbols == 0)
                // The slot is free again.
                let third = try await client.request("RUN_SCAN", runScanBody(symbols: ["005930"], wait: false))
                #expect(third.isOK)
            }
        }
    }
}
