import FormulaEngine
import Foundation
import ScanCore
import Testing

@testable import ScanProtocol

/// The protocol keeps its word (issue 17 part 4): each point an outside client found, pinned.
@Suite struct ProtocolWordTests {
    func decoded(_ verb: String, _ body: String, version: String = "MSCAN/1", max: Int = 1 << 20) -> DecodedRequest {
        RequestCodec.decode(routerFrames: routerFrames(verb, body, version: version), maxBodyBytes: max)
    }

    @Test("request_id is echoed whenever the body parses: wrong version, binary version frame, too large")
    func requestIdInEveryError() {
        let body = #"{"request_id": "r-9", "pad": "xxxxxxxxxxxxxxxxxxxxxxxx"}"#
        let cases: [DecodedRequest] = [
            decoded("PING", body, version: "MSCAN/2"),
            RequestCodec.decode(routerFrames: [[1], [], [0xFF, 0x00], Array("PING".utf8), Array(body.utf8)]),
            decoded("PING", body, max: 16),
            decoded("FROB", body),
            RequestCodec.decode(routerFrames: [
                [1], [], Array("MSCAN/1".utf8), Array("PING".utf8), Array(body.utf8), [],
            ]),
        ]
        for d in cases {
            guard case .failure = d.result else {
                Issue.record("expected an error")
                continue
            }
            #expect(d.requestId == .string("r-9"))
        }
        // A body that does not parse has nothing to echo.
        #expect(decoded("PING", "{not json", version: "MSCAN/2").requestId == nil)
    }

    @Test("field errors name the field: a fraction for an integer, a null body")
    func fieldErrorsNameTheField() {
        func message(_ verb: String, _ body: String) -> String? {
            if case .failure(let e) = decoded(verb, body).result { return e.message }
            return nil
        }
        #expect(
            message("GET_RESULT", #"{"session_id": "s", "limit": 1.5}"#) == "field 'limit' must be an integer (got 1.5)"
        )
        #expect(
            message("GET_RESULT", #"{"session_id": "s", "offset": 1e30}"#)
                == "field 'offset' must be an integer (got 1e+30)"
        )
        #expect(message("LIST_SESSIONS", #"{"limit": 2.0}"#) == nil)
        #expect(message("PING", "null") == "the body must be a JSON object (got null)")
        #expect(message("PING", "[1]") == "the body must be a JSON object (got an array)")
        #expect(message("LIST_SYMBOLS", #"{"search": 5}"#) == "field 'search' must be a string")
    }

    @Test("LIST_SYMBOLS decodes its filters and page")
    func listSymbols() throws {
        let d = decoded(
            "LIST_SYMBOLS",
            #"{"markets": ["KOSPI"], "sectors": ["반도체 제조업"], "search": "삼성", "offset": 2, "limit": 5}"#
        )
        guard case .success(.listSymbols(let q)) = d.result else {
            Issue.record("expected LIST_SYMBOLS, got \(d.result)")
            return
        }
        #expect(q == SymbolQuery(markets: ["KOSPI"], sectors: ["반도체 제조업"], search: "삼성", offset: 2, limit: 5))
        guard case .failure(let e) = decoded("LIST_SYMBOLS", #"{"limit": -1}"#).result else {
            Issue.record("a negative limit must be refused")
            return
        }
        #expect(e.message == "field 'limit' must be a non-negative integer (got -1)")
    }
}

/// §10.2 of protocol/README.md shows the very bodies the service sends.
@Suite struct ProtocolExampleTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("protocol/README.md")

    @Test("each request of §10.2 is answered with the body shown")
    func errorExamples() throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        let section = try #require(
            text.components(separatedBy: "### 10.2 Errors").last?.components(separatedBy: "### 10.3").first
        )
        let lines = section.split(separator: "\n").filter { $0.hasPrefix("\"\" | ") }
        #expect(lines.count >= 10)
        for pair in stride(from: 0, to: lines.count - 1, by: 2) {
            func parts(_ line: Substring) -> [String] {
                line.split(separator: "|", maxSplits: 3).map { $0.trimmingCharacters(in: .whitespaces) }
            }
            let request = parts(lines[pair])
            let reply = parts(lines[pair + 1])
            let frames: [[UInt8]] = [
                [1], [], Array(request[1].dropFirst().dropLast().utf8),
                Array(request[2].dropFirst().dropLast().utf8), Array(request[3].utf8),
            ]
            let decoded = RequestCodec.decode(routerFrames: frames)
            let error: ProtocolError
            switch decoded.result {
            case .failure(let e): error = e
            case .success(.runScan(let scan, _)):
                do {
                    _ = try FormulaPlan.compile(
                        source: scan.formula.source,
                        name: scan.formula.name,
                        parameters: scan.parameters
                    )
                    Issue.record("\(request[3]) compiled")
                    continue
                } catch let e as FormulaError {
                    error = ProtocolError(.invalidFormula, e.description)
                }
            case .success(let other):
                Issue.record("\(request[3]) decoded as \(other)")
                continue
            }
            let body = try #require(ReplyCodec.error(error, envelope: [], requestId: decoded.requestId).last)
            #expect(String(decoding: body, as: UTF8.self) == reply[3], "for \(lines[pair])")
        }
    }
}
