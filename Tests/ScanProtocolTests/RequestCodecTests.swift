import Foundation
import ScanCore
import Testing

@testable import ScanProtocol

/// Frames as a ROUTER receives them from a DEALER: routing id, delimiter, version, verb, body.
func routerFrames(_ verb: String, _ body: String, version: String = "MSCAN/1") -> [[UInt8]] {
    [[0, 1, 2, 3, 4], [], Array(version.utf8), Array(verb.utf8), Array(body.utf8)]
}

func decodeError(_ frames: [[UInt8]], maxBodyBytes: Int = 1 << 20) -> ProtocolError? {
    if case .failure(let e) = RequestCodec.decode(routerFrames: frames, maxBodyBytes: maxBodyBytes).result { return e }
    return nil
}

@Suite struct RequestCodecTests {
    @Test func runScanFullBodyDecodes() throws {
        let body = """
            {"formula": {"name": "golden", "source": "crossover(sma(close,5), sma(close,20))"},
             "criteria": {"symbols": ["005930", "000660"], "markets": ["KOSPI"], "sectors": ["x"],
                          "min_market_cap": 1e9, "max_market_cap": 2e12, "exclude": ["000660"]},
             "timeframe": "1w", "date_range": {"from": "2022-01-03", "to": "2022-06-30"},
             "parameters": {"fast": 5, "strict": true}, "mode": "latest", "wait": true, "request_id": "abc"}
            """
        let d = RequestCodec.decode(routerFrames: routerFrames("RUN_SCAN", body))
        #expect(d.envelope == [[0, 1, 2, 3, 4], []])
        #expect(d.requestId == .string("abc"))
        guard case .success(.runScan(let req, let wait)) = d.result else {
            Issue.record("expected RUN_SCAN, got \(d.result)")
            return
        }
        #expect(wait)
        #expect(req.formula == Formula(name: "golden", source: "crossover(sma(close,5), sma(close,20))"))
        #expect(req.symbolCriteria.symbols == ["005930", "000660"])
        #expect(req.symbolCriteria.markets == ["KOSPI"])
        #expect(req.symbolCriteria.minMarketCap == 1e9)
        #expect(req.symbolCriteria.maxMarketCap == 2e12)
        #expect(req.symbolCriteria.exclude == ["000660"])
        #expect(req.timeframe == .weekly)
        #expect(req.dateRange == DateRange(from: CalendarDay("2022-01-03")!, to: CalendarDay("2022-06-30")!))
        #expect(req.parameters == ["fast": .number(5), "strict": .bool(true)])
        #expect(req.mode == .latest)
    }

    @Test func runScanDefaults() throws {
        let d = RequestCodec.decode(routerFrames: routerFrames("RUN_SCAN", #"{"formula": {"source": "close > 1"}}"#))
        guard case .success(.runScan(let req, let wait)) = d.result else {
            Issue.record("expected RUN_SCAN, got \(d.result)")
            return
        }
        #expect(!wait)
        #expect(req.timeframe == .daily)
        #expect(req.mode == .range)
        #expect(req.dateRange == nil)
        #expect(req.symbolCriteria == .all)
        #expect(req.formula.name == "formula")
        #expect(d.requestId == nil)
    }

    /// `sent` is what the service reads (numbers keep their text), `id` what the client decodes.
    @Test(arguments: [
        (#"{"request_id": 7}"#, JSONScalar.literal("7"), JSONScalar.integer(7)),
        (#"{"request_id": 2.5}"#, .literal("2.5"), .number(2.5)),
        (#"{"request_id": true}"#, .bool(true), .bool(true)),
        (#"{"request_id": null}"#, .null, .null),
        (#"{"request_id": "r-1"}"#, .string("r-1"), .string("r-1")),
        (#"{"x": {"request_id": 1}, "request_id": "r-\u0032"}"#, .string("r-2"), .string("r-2")),
    ])
    func requestIdIsAnyScalarAndEchoed(body: String, sent: JSONScalar, id: JSONScalar) throws {
        let d = RequestCodec.decode(routerFrames: routerFrames("PING", body))
        #expect(d.requestId == sent)
        let frames = try ReplyCodec.ok(
            PingReply(uptimeS: 1, nodes: [], sessionsRunning: 0),
            envelope: d.envelope,
            requestId: d.requestId
        )
        #expect(frames.count == 5)
        let reply = try ReplyCodec.decode(Array(frames.dropFirst()))
        #expect(reply.isOK)
        #expect(reply.requestId == id)
    }

    @Test func otherVerbsDecode() throws {
        func ok(_ verb: String, _ body: String) -> ClientRequest? {
            try? RequestCodec.decode(routerFrames: routerFrames(verb, body)).result.get()
        }
        #expect(ok("GET_SESSION", #"{"session_id": "s1"}"#) == .getSession(sessionId: "s1"))
        #expect(ok("CANCEL", #"{"session_id": "s1"}"#) == .cancel(sessionId: "s1"))
        #expect(
            ok("GET_RESULT", #"{"session_id": "s1", "offset": 10, "limit": 5}"#)
                == .getResult(sessionId: "s1", offset: 10, limit: 5)
        )
        #expect(ok("GET_RESULT", #"{"session_id": "s1"}"#) == .getResult(sessionId: "s1", offset: 0, limit: nil))
        #expect(ok("LIST_SESSIONS", #"{"status": "running", "limit": 3}"#) == .listSessions(status: .running, limit: 3))
        #expect(ok("LIST_SESSIONS", "{}") == .listSessions(status: nil, limit: RequestCodec.defaultListLimit))
        #expect(ok("PING", "{}") == .ping)
        #expect(ok("PING", "") == .ping)
    }

    // MARK: one test per error the codec produces

    @Test func unknownVerbIsBadRequestAndKeepsRequestId() throws {
        let d = RequestCodec.decode(routerFrames: routerFrames("DELETE_ALL", #"{"request_id": 9}"#))
        guard case .failure(let e) = d.result else {
            Issue.record("accepted")
            return
        }
        #expect(e.code == .badRequest)
        #expect(e.message.contains("unknown verb 'DELETE_ALL'"))
        #expect(d.requestId == .literal("9"))
        let reply = try ReplyCodec.decode(
            Array(ReplyCodec.error(e, envelope: d.envelope, requestId: d.requestId).dropFirst())
        )
        #expect(!reply.isOK)
        #expect(reply.error == e)
        #expect(reply.requestId == .integer(9))
    }

    @Test func malformedJSONIsBadRequest() {
        let e = decodeError(routerFrames("PING", #"{"request_id": "#))
        #expect(e?.code == .badRequest)
        #expect(e?.message.contains("malformed JSON") == true)
    }

    @Test func bodyThatIsNotAnObjectIsBadRequest() {
        let e = decodeError(routerFrames("PING", "[1, 2]"))
        #expect(e?.code == .badRequest)
        #expect(e?.message == "the body must be a JSON object (got an array)")
    }

    @Test(arguments: [
        (#"{"formula": {"source": 5}}"#, "field 'formula.source' must be a string"),
        (
            #"{"formula": {"source": "x"}, "criteria": {"symbols": "005930"}}"#,
            "field 'criteria.symbols' must be an array"
        ),
        (
            #"{"formula": {"source": "x"}, "criteria": {"symbols": ["a", 1]}}"#,
            "field 'criteria.symbols[1]' must be a string"
        ),
        (
            #"{"formula": {"source": "x"}, "criteria": {"min_market_cap": "big"}}"#,
            "field 'criteria.min_market_cap' must be a number"
        ),
        (#"{"formula": {"source": "x"}, "wait": "yes"}"#, "field 'wait' must be a boolean"),
        (
            #"{"formula": {"source": "x"}, "parameters": {"fast": "5"}}"#,
            "field 'parameters.fast' must be a number or a boolean"
        ),
        (#"{"formula": "x"}"#, "field 'formula' must be an object"),
        (#"{"criteria": {}}"#, "missing field 'formula'"),
        (#"{"formula": {"source": "x"}, "timeframe": "2d"}"#, "field 'timeframe' must be one of"),
        (#"{"formula": {"source": "x"}, "mode": "all"}"#, "field 'mode' must be 'range' or 'latest'"),
        (
            #"{"formula": {"source": "x"}, "date_range": {"from": "2022-13-01", "to": "2022-12-31"}}"#,
            "field 'date_range.from' must be a date"
        ),
        (#"{"formula": {"source": "x"}, "date_range": {"from": "2022-02-01", "to": "2022-01-31"}}"#, "is after"),
        (#"{"formula": {"source": "  "}}"#, "field 'formula.source' must not be empty"),
        (#"{"formula": {"source": "x"}, "request_id": {"a": 1}}"#, "field 'request_id' must be a JSON scalar"),
    ])
    func wrongFieldIsBadRequestNamingIt(body: String, expected: String) {
        let e = decodeError(routerFrames("RUN_SCAN", body))
        #expect(e?.code == .badRequest)
        #expect(e?.message.contains(expected) == true, "message: \(e?.message ?? "nil")")
    }

    @Test(arguments: [
        ("GET_SESSION", #"{"session_id": 12}"#, "field 'session_id' must be a string"),
        ("GET_SESSION", "{}", "missing field 'session_id'"),
        ("GET_RESULT", #"{"session_id": "s", "offset": -1}"#, "field 'offset' must be a non-negative integer"),
        ("GET_RESULT", #"{"session_id": "s", "limit": "ten"}"#, "field 'limit' must be an integer"),
        ("LIST_SESSIONS", #"{"status": "done"}"#, "field 'status' must be one of"),
        ("LIST_SESSIONS", #"{"limit": 0}"#, "field 'limit' must be an integer from 1"),
        ("CANCEL", #"{"session_id": ""}"#, "must not be empty"),
    ])
    func otherVerbsFieldErrors(verb: String, body: String, expected: String) {
        let e = decodeError(routerFrames(verb, body))
        #expect(e?.code == .badRequest)
        #expect(e?.message.contains(expected) == true, "message: \(e?.message ?? "nil")")
    }

    @Test func otherVersionIsUnsupportedVersion() {
        let e = decodeError(routerFrames("PING", "{}", version: "MSCAN/2"))
        #expect(e?.code == .unsupportedVersion)
        #expect(e?.message.contains("MSCAN/2") == true)
    }

    @Test func versionIsCheckedBeforeAnythingElse() {
        // Too few frames and an unknown verb, but the version is reported first.
        #expect(decodeError([[1], [], Array("MSCAN/9".utf8)])?.code == .unsupportedVersion)
        #expect(decodeError(routerFrames("NOPE", "{", version: "MSCAN/0"))?.code == .unsupportedVersion)
    }

    @Test func missingFramesIsBadRequest() {
        #expect(decodeError([[1], []])?.message.contains("missing frames") == true)
        #expect(decodeError([[1], [], Array("MSCAN/1".utf8)])?.message.contains("missing frames") == true)
        #expect(decodeError([[1], [], Array("MSCAN/1".utf8), Array("PING".utf8)])?.code == .badRequest)
        #expect(decodeError(routerFrames("PING", "{}") + [[1]])?.message.contains("too many frames") == true)
    }

    @Test func missingDelimiterIsBadRequestAndStillRoutable() {
        let d = RequestCodec.decode(routerFrames: [
            [7, 7], Array("MSCAN/1".utf8), Array("PING".utf8), Array("{}".utf8),
        ])
        #expect(d.envelope == [[7, 7], []])
        guard case .failure(let e) = d.result else {
            Issue.record("accepted")
            return
        }
        #expect(e.code == .badRequest)
        #expect(e.message.contains("delimiter"))
    }

    @Test func binaryGarbageIsBadRequest() {
        let e = decodeError([[9], [], [0xff, 0x00, 0x13, 0x80], [0xfe], [0x00]])
        #expect(e?.code == .badRequest)
        #expect(e?.message.contains("binary data") == true)
        let e2 = decodeError([[9], [], Array("MSCAN/1".utf8), [0xc3, 0x28], Array("{}".utf8)])
        #expect(e2?.code == .badRequest)
        let e3 = decodeError([[9], [], Array("MSCAN/1".utf8), Array("PING".utf8), [0xc3, 0x28, 0x00]])
        #expect(e3?.code == .badRequest)
    }

    @Test func oversizedBodyIsTooLarge() {
        let big = "{\"pad\": \"" + String(repeating: "x", count: 2000) + "\"}"
        let e = decodeError(routerFrames("PING", big), maxBodyBytes: 1000)
        #expect(e?.code == .tooLarge)
        #expect(e?.message.contains("limit is 1000") == true)
        #expect(decodeError(routerFrames("PING", big), maxBodyBytes: 4000) == nil)
    }

    /// Issue 16, part 8: an uncapped `request_id` let a client make the service hold a copy of its body
    /// in every reply queued for it. One over the cap is refused, named, and not echoed; one at the cap
    /// (a string's UTF-8 bytes, a number as written) is still echoed.
    @Test func anOversizedRequestIdIsRefusedAndNotEchoed() {
        let cap = WireProtocol.maxRequestIdBytes
        let long = String(repeating: "é", count: cap / 2 + 1)  // 2 bytes each: one character too many
        let refused = RequestCodec.decode(routerFrames: routerFrames("PING", "{\"request_id\": \"\(long)\"}"))
        #expect(refused.requestId == nil)
        guard case .failure(let e) = refused.result else {
            Issue.record("expected an error, got \(refused.result)")
            return
        }
        #expect(e.code == .badRequest)
        #expect(e.message.contains("request_id is \(cap + 2) bytes long; the limit is \(cap)"))
        let digits = String(repeating: "7", count: cap + 1)
        #expect(
            decodeError(routerFrames("FROB", "{\"request_id\": \(digits)}"))?.message.hasPrefix("request_id is")
                == true
        )

        let atCap = String(repeating: "x", count: cap)
        let echoed = RequestCodec.decode(routerFrames: routerFrames("PING", "{\"request_id\": \"\(atCap)\"}"))
        #expect(echoed.requestId == .string(atCap))
        guard case .success(.ping) = echoed.result else {
            Issue.record("expected PING, got \(echoed.result)")
            return
        }
        let number = String(repeating: "9", count: cap)
        #expect(
            RequestCodec.decode(routerFrames: routerFrames("PING", "{\"request_id\": \(number)}")).requestId
                == .literal(number)
        )
    }

    @Test func errorCodesAreStable() {
        #expect(
            ProtocolErrorCode.allCases.map(\.rawValue).sorted()
                == ["bad_request", "busy", "invalid_formula", "not_found", "too_large", "unsupported_version"]
        )
        for code in ProtocolErrorCode.allCases {
            let body = ErrorBody(ProtocolError(code, "m"))
            #expect(body.protocolError == ProtocolError(code, "m"))
        }
    }

    @Test func clientEncodingRoundTrips() throws {
        let body = RunScanBody(
            request: ScanRequestDocument(
                formula: FormulaDocument(name: "f", source: "close > open"),
                criteria: CriteriaDocument(symbols: ["A"]),
                timeframe: "1d",
                dateRange: DateRangeDocument(from: "2022-01-03", to: "2022-02-03"),
                parameters: ["n": ParameterDocument(.number(3))],
                mode: "range"
            ),
            wait: true
        )
        let frames = try RequestCodec.encode(.runScan, body, requestId: .integer(42))
        let d = RequestCodec.decode(routerFrames: [[1]] + frames)
        #expect(d.requestId == .literal("42"))
        guard case .success(.runScan(let req, true)) = d.result else {
            Issue.record("\(d.result)")
            return
        }
        #expect(
            ScanRequestDocument(req)
                == ScanRequestDocument(
                    formula: FormulaDocument(name: "f", source: "close > open"),
                    criteria: CriteriaDocument(symbols: ["A"]),
                    timeframe: "1d",
                    dateRange: DateRangeDocument(from: "2022-01-03", to: "2022-02-03"),
                    parameters: ["n": ParameterDocument(.number(3))],
                    mode: "range"
                )
        )
    }

    // MARK: issue 16, defect 7

    /// A number is echoed byte for byte as sent, whatever its size or form.
    @Test(arguments: ["12345678901234567890", "-0.10", "1.5e3", "3.0"])
    func numericRequestIdIsEchoedAsSent(_ text: String) throws {
        let d = RequestCodec.decode(routerFrames: routerFrames("PING", #"{"request_id": \#(text)}"#))
        let frames = try ReplyCodec.ok(
            PingReply(uptimeS: 1, nodes: [], sessionsRunning: 0),
            envelope: d.envelope,
            requestId: d.requestId
        )
        let body = String(decoding: frames[4], as: UTF8.self)
        #expect(body.contains(#""request_id":\#(text)"#), "\(body)")
        #expect((try? JSONCoding.decode(PingReply.self, from: frames[4])) != nil, "still valid JSON")
    }

    /// A body too deep for the JSON parser, or with an integer out of range, is refused — with its
    /// request_id echoed.
    @Test func undecodableBodiesStillEchoTheirRequestId() throws {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        for (verb, body) in [
            ("PING", #"{"request_id": "deep", "x": \#(deep)}"#),
            ("LIST_SESSIONS", #"{"request_id": "big", "limit": 123456789012345678901234567890}"#),
            ("PING", #"{"x": \#(deep), "request_id": 5}"#),
        ] {
            let d = RequestCodec.decode(routerFrames: routerFrames(verb, body))
            guard case .failure(let e) = d.result else {
                Issue.record("accepted \(verb)")
                continue
            }
            #expect(e.code == .badRequest)
            #expect(d.requestId != nil, "\(verb): \(e.message)")
            let reply = try ReplyCodec.decode(
                Array(ReplyCodec.error(e, envelope: d.envelope, requestId: d.requestId).dropFirst())
            )
            #expect(reply.requestId != nil)
        }
    }

    /// Frames a DEALER sends before the empty delimiter are not echoed: the reply goes to the peer only.
    @Test func framesBeforeTheDelimiterAreNotEchoed() {
        let d = RequestCodec.decode(
            routerFrames: [[1, 2], [0xAA, 0xBB]] + Array(routerFrames("PING", "{}").dropFirst())
        )
        #expect(d.envelope == [[1, 2], []])
        guard case .failure(let e) = d.result else {
            Issue.record("accepted")
            return
        }
        #expect(e.code == .badRequest)
        #expect(e.message.contains("empty delimiter"))
    }
}
