import Foundation
import ScanCore
import Testing

@testable import ScanProtocol

/// The hand-written RESULT replies decode to exactly what `JSONEncoder` would have produced.
@Suite struct ResultJSONWriterTests {
    static func session() -> ScanSession {
        let request = BatchScanRequest(
            symbolCriteria: SymbolCriteria(symbols: ["005930"]),
            timeframe: .daily,
            dateRange: DateRange(from: CalendarDay("2022-01-03")!, to: CalendarDay("2022-03-31")!),
            formula: Formula(name: "f \"q\" / \\", source: "\"matches\":[] close > open"),
            parameters: [:],
            mode: .range
        )
        return ScanSession(
            id: "s-1",
            status: .completed,
            request: request,
            progress: ScanProgress(completed: 3, total: 3, matchesSoFar: 7),
            createdAt: Date(timeIntervalSince1970: 1_700_000_000)
        )
    }

    static func document(matches: Int) -> ResultDocument {
        var doc = ResultDocument(sampleResult(matches: matches), sessionId: "s-1", status: .completed)
        if !doc.signals.matches.isEmpty {
            doc.signals.matches[0].symbol = "quote\" back\\ tab\t nl\n ctl\u{1} 한글 /"
            doc.signals.matches[0].close = -0.000012345
            doc.signals.matches[0].values["big"] = 1e300
            doc.signals.matches[0].values["neg"] = -42
            doc.signals.matches[0].forward = .init(returns: [0.0125, nil, -0.5], maxFavorable: 0.25, maxAdverse: nil)
        }
        return doc
    }

    /// Both encodings, parsed back into plain JSON objects.
    static func both<T: Encodable>(_ value: T, requestId: JSONScalar?) throws -> (NSDictionary, NSDictionary) {
        let fast = try #require(try ResultJSONWriter.encode(value, requestId: requestId))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let plain = try encoder.encode(WithRequestId(value: value, requestId: requestId))
        let a = try #require(try JSONSerialization.jsonObject(with: Data(fast)) as? NSDictionary)
        let b = try #require(try JSONSerialization.jsonObject(with: plain) as? NSDictionary)
        return (a, b)
    }

    @Test(arguments: [0, 1, 7, 500])
    func sessionReplyWithResultMatchesJSONEncoder(matches: Int) throws {
        let reply = SessionReply(session: SessionDocument(Self.session()), result: Self.document(matches: matches))
        for id: JSONScalar? in [nil, .string("r-1"), .integer(7)] {
            let (fast, plain) = try Self.both(reply, requestId: id)
            #expect(fast == plain)
        }
    }

    @Test func resultReplyMatchesJSONEncoderAndRoundTrips() throws {
        let reply = ResultReply(sessionId: "s-1", result: Self.document(matches: 9).slicing(offset: 2, limit: 4))
        let (fast, plain) = try Self.both(reply, requestId: .string("x"))
        #expect(fast == plain)
        let bytes = try JSONCoding.encode(reply, requestId: nil)
        let back = try JSONCoding.decode(ResultReply.self, from: bytes)
        #expect(back == reply)
    }

    /// `scan run --format json` writes ``ResultDocument/jsonData(pretty:)``: the hand-written matches too.
    @Test(arguments: [0, 1, 500])
    func documentJSONDataMatchesJSONEncoder(matches: Int) throws {
        let doc = Self.document(matches: matches)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let fast = try #require(try JSONSerialization.jsonObject(with: try doc.jsonData()) as? NSDictionary)
        let plain = try #require(try JSONSerialization.jsonObject(with: try encoder.encode(doc)) as? NSDictionary)
        #expect(fast == plain)
        #expect(try ResultDocument.decode(try doc.jsonData()) == doc)
    }

    /// Numbers are written without a String per number: the bytes of `description` (shortest round trip).
    @Test func numbersAreTheirDescriptionsByteForByte() {
        var random = SystemRandomNumberGenerator()
        var xs: [Double] = [
            0.1, -0.012345678901234567, 1e-7, 1e300, -1e-300, .leastNonzeroMagnitude, .ulpOfOne, 123.5, 1e15 + 0.5,
        ]
        xs += [.greatestFiniteMagnitude, -.leastNormalMagnitude, 0.3, 2.0 / 3.0, 1e16, -1e22]
        for _ in 0..<2_000 { xs.append(Double(bitPattern: random.next())) }
        for _ in 0..<2_000 { xs.append(Double.random(in: -1...1, using: &random)) }
        for x in xs where x.isFinite && !(x == x.rounded() && abs(x) < 1e15) {
            var out: [UInt8] = [UInt8(ascii: "[")]
            ResultJSONWriter.appendNumber(x, to: &out)
            #expect(out == [UInt8(ascii: "[")] + Array(x.description.utf8), "\(x)")
        }
    }

    @Test func otherBodiesAreLeftToJSONEncoder() throws {
        #expect(
            try ResultJSONWriter.encode(SessionReply(session: SessionDocument(Self.session())), requestId: nil) == nil
        )
        #expect(try ResultJSONWriter.encode(["a": 1], requestId: nil) == nil)
    }
}
