import Foundation
import ScanProtocol
import TestSupport
import Testing

extension EndToEndTests {
    @Test(.timeLimit(.minutes(2)))
    func serviceResultsEqualLocalEventsAreCompleteAndBodiesMatchTheSchemas() async throws {
        let cluster = try Cluster(store: try await Fixtures.shared.sample())
        defer { cluster.stop() }
        let reference = try ResultDocument.decode(
            try await cluster.localResult(["--formula", Self.f1, "--name", "f1"])
        )
        #expect(reference.signals.totalMatches > 0)

        let client = try await RawClient.connect(cluster.api)
        try await cluster.startService(client: client)
        try await cluster.startNode("node-a", threads: 2, client: client)
        try await cluster.startNode("node-b", threads: 2, client: client)
        let events = try await EventCollector.subscribe(cluster.events)
        var bodies: [(schema: String, body: [UInt8])] = []
        do {
            // The subscription is live once an event of some scan arrives.
            _ = try await eventually(20, "the event subscription to be live", interval: .milliseconds(1)) {
                _ = try await client.request(
                    "RUN_SCAN",
                    json: Self.runScanBody("close > open", name: "warmup", wait: true),
                    within: 20
                )
                return try? await events.next(within: 0.5)
            }

            // RUN_SCAN without wait, then its events until the end.
            let body = Self.runScanBody()
            bodies.append(("run-scan-request.json", Array(try JSONSerialization.data(withJSONObject: body))))
            let started = try await client.request("RUN_SCAN", json: body.merging(["request_id": "r-1"]) { $1 })
            #expect(started.status == "OK")
            #expect(started.body.string("request_id") == "r-1")
            bodies.append(("session-reply.json", started.body.bytes))
            let id = try #require(started.body.object("session")?.string("session_id"))
            let stream = try await events.untilEnd(of: id)

            let seqs = stream.compactMap { $0.body.int("seq") }
            #expect(seqs == Array(1...stream.count), "events of a session are numbered 1, 2, 3 … without gaps")
            #expect(stream.last?.body.string("event") == "completed")
            #expect(stream.last?.topic == "scan.\(id).completed")
            for e in stream {
                #expect(e.topic == "scan.\(id).\(e.body.string("event") ?? "?")")
                bodies.append(("event-\(e.body.string("event") ?? "?").json", e.body.bytes))
            }
            let progress = stream.filter { $0.body.string("event") == "progress" }.compactMap {
                $0.body.int("completed")
            }
            #expect(!progress.isEmpty)
            #expect(progress == progress.sorted(), "progress never goes back")
            #expect(stream.last?.body.int("completed") == reference.signals.totalSymbols)
            #expect(stream.last?.body.int("total") == reference.signals.totalSymbols)
            #expect(stream.last?.body.int("matches_so_far") == reference.signals.totalMatches)

            // GET_SESSION, GET_RESULT (whole and a page), LIST_SESSIONS, PING, CANCEL of an ended session.
            let session = try await client.request("GET_SESSION", json: ["session_id": id])
            #expect(session.body.object("session")?.string("status") == "completed")
            bodies.append(("session-reply.json", session.body.bytes))
            let whole = try await client.request("GET_RESULT", json: ["session_id": id])
            bodies.append(("result-reply.json", whole.body.bytes))
            let result = try ResultDocument.decode(Data(try #require(whole.body.object("result")).bytes))
            Self.expectSameResult(result, reference)
            #expect(result.sessionId == id)
            let page = try await client.request("GET_RESULT", json: ["session_id": id, "offset": 3, "limit": 5])
            bodies.append(("result-reply.json", page.body.bytes))
            let pageResult = try ResultDocument.decode(Data(try #require(page.body.object("result")).bytes))
            #expect(
                pageResult.signals.matches
                    == Array(reference.signals.matches[3..<min(8, reference.signals.matches.count)])
            )
            #expect(pageResult.signals.totalMatches == reference.signals.totalMatches)
            let list = try await client.request("LIST_SESSIONS", json: ["limit": 5])
            #expect((list.body["sessions"] as? [Any])?.isEmpty == false)
            bodies.append(("list-sessions-reply.json", list.body.bytes))
            let ping = try await client.request("PING")
            bodies.append(("ping-reply.json", ping.body.bytes))
            let symbols = try await client.request("LIST_SYMBOLS", json: ["markets": ["KOSPI"], "limit": 3])
            #expect((symbols.body["symbols"] as? [Any])?.count == 3)
            bodies.append(("list-symbols-reply.json", symbols.body.bytes))
            #expect(Set(try await client.nodes().keys) == ["node-a", "node-b"])
            let cancelEnded = try await client.request("CANCEL", json: ["session_id": id])
            #expect(cancelEnded.body.object("session")?.string("status") == "completed")
            bodies.append(("session-reply.json", cancelEnded.body.bytes))
            let waited = try await client.request("RUN_SCAN", json: Self.runScanBody(wait: true), within: 30)
            bodies.append(("session-reply.json", waited.body.bytes))
            Self.expectSameResult(
                try ResultDocument.decode(Data(try #require(waited.body.object("result")).bytes)),
                reference
            )
            // The event study and the funnel (range, then latest with near misses) match their schemas.
            for mode in ["range", "latest"] {
                var studied = Self.runScanBody(wait: true)
                studied["study"] = ["horizons": [1, 5, 20], "entry": "next-open"]
                studied["explain"] = true
                studied["mode"] = mode
                bodies.append(("run-scan-request.json", Array(try JSONSerialization.data(withJSONObject: studied))))
                let reply = try await client.request("RUN_SCAN", json: studied, within: 30)
                bodies.append(("session-reply.json", reply.body.bytes))
                let doc = try ResultDocument.decode(Data(try #require(reply.body.object("result")).bytes))
                #expect(doc.study?.signals.first?.horizons.count == 3)
                #expect(doc.funnel?.signals.first?.clauses.count == 2)
                #expect(doc.signals.matches.allSatisfy { $0.forward != nil })
                if mode == "latest" { #expect(doc.funnel?.nearMisses.isEmpty == false) }
            }
            for (verb, body) in [
                ("FROB", "{}"), ("GET_SESSION", "{\"session_id\": \"nope\"}"), ("GET_RESULT", "{\"session_id\": 5}"),
            ] {
                let e = try await client.request(verb, body)
                #expect(e.status == "ERROR")
                bodies.append(("error-reply.json", e.body.bytes))
            }
        } catch {
            await events.close()
            await client.close()
            Issue.record("logs:\n\(cluster.processes.logs)")
            throw error
        }
        await events.close()
        await client.close()

        // The JSON Schemas hold for every body the service sent.
        let lines = try bodies.map { item -> String in
            let body = try JSONSerialization.jsonObject(with: Data(item.body))
            let line = try JSONSerialization.data(
                withJSONObject: ["schema": item.schema, "body": body],
                options: [.sortedKeys]
            )
            return String(decoding: line, as: UTF8.self)
        }
        let file = cluster.processes.directory.appendingPathComponent("bodies.jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let validator = Repo.root.appendingPathComponent("protocol/tests/validate.py").path
        let validation = try await cluster.processes.run(
            "validate",
            "/usr/bin/env",
            ["python3", validator, "--strict", "--lines", file.path]
        )
        #expect(validation.status == 0, "schema violations:\n\(validation.stdout)\(validation.stderr)")
        #expect(validation.stderr.contains("\(bodies.count) bodies checked, 0 problems"))

        // `scan run --endpoint` prints what `--local` prints.
        let remote = try await cluster.scan([
            "run", "--endpoint", cluster.api, "--formula", Self.f1, "--name", "f1", "--format", "json",
        ])
        #expect(remote.status == 0, "\(remote.stderr)")
        let remoteDoc = try ResultDocument.decode(Data(remote.stdout.utf8))
        Self.expectSameResult(remoteDoc, reference)
        #expect(remoteDoc.sessionId != nil)
        let remoteCSV = try await cluster.scan([
            "run", "--endpoint", cluster.api, "--formula", Self.f1, "--name", "f1", "--format", "csv",
        ])
        let localCSV = try await cluster.scan([
            "run", "--local", "--db", cluster.db, "--formula", Self.f1, "--name", "f1", "--format", "csv",
        ])
        #expect(remoteCSV.status == 0 && localCSV.status == 0)
        #expect(remoteCSV.stdout.split(separator: "\n").count == localCSV.stdout.split(separator: "\n").count)

        // The Python examples, written from protocol/ alone, drive the service.
        let examples = Repo.root.appendingPathComponent("protocol/examples").path
        let dashboard = try cluster.processes.start(
            "dashboard",
            "/usr/bin/env",
            [
                "python3", "\(examples)/dashboard.py", "--events", cluster.events, "--count", "3", "--timeout", "30",
                "--json",
            ]
        )
        let python = try await eventually(40, "dashboard.py to see 3 events", interval: .milliseconds(1)) {
            () async throws -> (status: Int32, stdout: String, stderr: String)? in
            let run = try await cluster.processes.run(
                "client-py-\(UUID().uuidString.prefix(4))",
                "/usr/bin/env",
                [
                    "python3", "\(examples)/client.py", "--endpoint", cluster.api, "--formula", Self.f1, "--name", "f1",
                    "--json",
                ]
            )
            return dashboard.isRunning ? nil : run
        }
        #expect(python.status == 0, "\(python.stderr)")
        Self.expectSameResult(try ResultDocument.decode(Data(python.stdout.utf8)), reference)
        #expect(try await dashboard.exitStatus(within: 10) == 0)
        let dashboardLines = dashboard.stdout.split(separator: "\n")
        #expect(dashboardLines.count == 3, "\(dashboard.stdout)\(dashboard.stderr)")
        for line in dashboardLines {
            let item = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((item["topic"] as? String)?.hasPrefix("scan.") == true)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func allocatorOptionsOutOfRangeAreRefusedByName() async throws {
        let cluster = try Cluster(store: try await Fixtures.shared.sample())
        defer { cluster.stop() }
        for value in ["-1", "4096", "many"] {
            let run = try await cluster.processes.run(
                "scan-service-bad",
                "scan-service",
                ["--db", cluster.db, "--port-base", String(cluster.base), "--malloc-keep-mb", value],
                within: 20
            )
            #expect(run.status != 0, "--malloc-keep-mb \(value) was accepted")
            #expect(run.stderr.contains("--malloc-keep-mb"), "\(run.stderr)")
        }
        // Keeping nothing and never releasing is a valid setup: the service still answers.
        let client = try await RawClient.connect(cluster.api)
        try await cluster.startService(["--malloc-keep-mb", "0", "--memory-release-idle-ms", "0"], client: client)
        let pong = try await client.request("PING", within: 5)
        #expect(pong.status == "OK")
    }

    @Test(.timeLimit(.minutes(1)))
    func everyBadInputIsAnsweredWithItsCodeAndTheServiceKeepsServing() async throws {
        let cluster = try Cluster(store: try await Fixtures.shared.sample())
        defer { cluster.stop() }
        let client = try await RawClient.connect(cluster.api)
        do {
            try await cluster.startService(client: client)
            let v = Array("MSCAN/1".utf8)
            let garbage: [UInt8] = [0xff, 0xfe, 0x00, 0x13, 0x80, 0xc3, 0x28]
            let cases: [(String, [[UInt8]], String)] = [
                ("unknown verb", [[], v, Array("FROB".utf8), Array("{\"request_id\":\"x\"}".utf8)], "bad_request"),
                ("malformed JSON", [[], v, Array("PING".utf8), Array("{\"request_id\":".utf8)], "bad_request"),
                ("body not an object", [[], v, Array("PING".utf8), Array("[1,2]".utf8)], "bad_request"),
                (
                    "wrong field type", [[], v, Array("GET_RESULT".utf8), Array("{\"session_id\": 5}".utf8)],
                    "bad_request"
                ),
                (
                    "wrong nested type", [[], v, Array("RUN_SCAN".utf8), Array("{\"formula\": {\"source\": 5}}".utf8)],
                    "bad_request"
                ),
                (
                    "bad date",
                    [
                        [], v, Array("RUN_SCAN".utf8),
                        Array(
                            "{\"formula\": {\"source\": \"close > open\"}, \"date_range\": {\"from\": \"2024-13-01\", \"to\": \"2024-12-31\"}}"
                                .utf8
                        ),
                    ], "bad_request"
                ),
                (
                    "negative offset",
                    [[], v, Array("GET_RESULT".utf8), Array("{\"session_id\": \"x\", \"offset\": -1}".utf8)],
                    "bad_request"
                ),
                (
                    "wrong version", [[], Array("MSCAN/2".utf8), Array("PING".utf8), Array("{}".utf8)],
                    "unsupported_version"
                ),
                ("missing frames", [[], v, Array("PING".utf8)], "bad_request"),
                ("only the delimiter", [[]], "bad_request"),
                ("too many frames", [[], v, Array("PING".utf8), Array("{}".utf8), Array("{}".utf8)], "bad_request"),
                ("binary garbage frames", [[], garbage, garbage, garbage], "bad_request"),
                ("binary garbage without delimiter", [garbage], "bad_request"),
                (
                    "oversized body",
                    [
                        [], v, Array("PING".utf8),
                        Array("{\"pad\":\"\(String(repeating: "x", count: 1_500_000))\"}".utf8),
                    ], "too_large"
                ),
                (
                    "invalid formula",
                    [[], v, Array("RUN_SCAN".utf8), Array("{\"formula\": {\"source\": \"smaa(close, 5) > 1\"}}".utf8)],
                    "invalid_formula"
                ),
                (
                    "unknown session",
                    [[], v, Array("GET_SESSION".utf8), Array("{\"session_id\": \"no-such-session\"}".utf8)], "not_found"
                ),
                (
                    "cancel unknown session",
                    [[], v, Array("CANCEL".utf8), Array("{\"session_id\": \"no-such-session\"}".utf8)], "not_found"
                ),
                (
                    "result of unknown session",
                    [[], v, Array("GET_RESULT".utf8), Array("{\"session_id\": \"no-such-session\"}".utf8)], "not_found"
                ),
            ]
            for (what, frames, code) in cases {
                try await client.send(frames)
                let reply = try await client.receive()
                #expect(reply.status == "ERROR", "\(what)")
                #expect(reply.code == code, "\(what): \(reply.body.text)")
                #expect((reply.body.string("message") ?? "").isEmpty == false, "\(what)")
                let ping = try await client.request("PING")
                #expect(ping.status == "OK", "the service still serves after \(what)")
            }
            let echoed = try await client.request("FROB", "{\"request_id\": 42}")
            #expect(echoed.body.int("request_id") == 42, "request_id is echoed in ERROR replies")
            let formula = try await client.request("RUN_SCAN", "{\"formula\": {\"source\": \"smaa(close, 5) > 1\"}}")
            #expect(formula.body.string("message")?.contains("sma") == true, "the formula error carries its hint")
            #expect(cluster.service?.isRunning == true)
        } catch {
            await client.close()
            Issue.record("logs:\n\(cluster.processes.logs)")
            throw error
        }
        await client.close()
    }
}
