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

    /// A session whose result has every kind of match: odd symbols, intraday and repeated times,
    /// non-finite numbers, forward returns, zero, one and several columns.
    static func sessionWithResult(matches n: Int) -> ScanSession {
        let day = BarTimestamp(day: CalendarDay("2022-01-03")!)
        let minute = BarTimestamp(parsing: "2025-06-09T09:35:00-04:00")!
        let columns: [[String: Double]] = [[:], ["rsi": 1], ["rsi": .infinity, "a": -1e-9, "z": 3]]
        let forward = ForwardOutcome(returns: [0.01, .nan], maxFavorable: 0.2, maxAdverse: .nan)
        var ms: [SignalMatch] = []
        for i in 0..<n {
            let symbol = i == 1 ? "quote\" back\\ tab\t 한글 /" : "S\(i % 4)"
            let time: BarTimestamp = i % 5 == 4 ? minute : BarTimestamp(day: day.day.adding(days: i / 3))
            let close: Double = i % 7 == 3 ? .nan : 100 + Double(i) / 8
            ms.append(
                SignalMatch(
                    symbol: symbol,
                    timestamp: time,
                    signal: i % 2 == 0 ? "golden" : "dead",
                    close: close,
                    values: columns[i % 3],
                    forward: i % 4 == 0 ? forward : nil
                )
            )
        }
        var session = Self.session()
        let signals = AggregatedSignals(totalSymbols: 4, symbolsWithMatches: 4, totalMatches: n, matches: ms)
        session.result = BatchScanResult(
            jobId: "job",
            signals: signals,
            statistics: SignalAggregator.statistics(signals),
            processingTimeMs: 12.3456,
            errors: [SymbolError(symbol: "X", message: "unknown symbol 'X'")]
        )
        return session
    }

    /// The replies the service writes straight from the matches are byte for byte those of the
    /// documents they replace (``SessionReply``/``ResultReply`` of ``ResultDocument/of(session:)``),
    /// also when they are written in parts on several cores (9,000 matches).
    @Test(arguments: [0, 1, 2, 40, 9_000])
    func repliesFromTheMatchesEqualTheDocumentsReplies(matches: Int) throws {
        let s = Self.sessionWithResult(matches: matches)
        let doc = try #require(ResultDocument.of(session: s))
        for id: JSONScalar? in [nil, .string("r-1"), .literal("12345678901234567890")] {
            let fast = try JSONCoding.encode(try #require(SessionResultReply(s, withSession: true)), requestId: id)
            let old = try JSONCoding.encode(SessionReply(session: SessionDocument(s), result: doc), requestId: id)
            #expect(fast == old)
        }
        for (offset, limit) in [(0, nil), (3, 5), (-2, 1), (38, 100), (100, nil), (0, 0)] as [(Int, Int?)] {
            let fast = try JSONCoding.encode(
                try #require(SessionResultReply(s, withSession: false, offset: offset, limit: limit)),
                requestId: .integer(3)
            )
            let old = try JSONCoding.encode(
                ResultReply(sessionId: s.id, result: doc.slicing(offset: offset, limit: limit)),
                requestId: .integer(3)
            )
            #expect(fast == old)
        }
        // Its Codable form (any other encoder) is the same JSON.
        let reply = try #require(SessionResultReply(s, withSession: true))
        let (a, b) = try Self.both(SessionReply(session: SessionDocument(s), result: doc), requestId: nil)
        #expect(a == b)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity",
            negativeInfinity: "-Infinity",
            nan: "NaN"
        )
        let plain = try #require(try JSONSerialization.jsonObject(with: encoder.encode(reply)) as? NSDictionary)
        #expect(plain == a)
        var noResult = s
        noResult.result = nil
        #expect(SessionResultReply(noResult, withSession: true) == nil)
    }

    @Test func otherBodiesAreLeftToJSONEncoder() throws {
        #expect(
            try ResultJSONWriter.encode(SessionReply(session: SessionDocument(Self.session())), requestId: nil) == nil
        )
        #expect(try ResultJSONWriter.encode(["a": 1], requestId: nil) == nil)
    }
}
