import Foundation
import ScanCore
import Testing

@testable import ScanProtocol

func sampleResult(matches: Int) -> BatchScanResult {
    let ms = (0..<matches).map { i in
        SignalMatch(
            symbol: "S\(i % 3)",
            timestamp: BarTimestamp(day: CalendarDay("2022-01-03")!.adding(days: i)),
            signal: "sig",
            close: Double(100 + i),
            values: ["rsi": Double(i), "undef": .nan]
        )
    }
    let signals = AggregatedSignals(totalSymbols: 3, symbolsWithMatches: 3, totalMatches: ms.count, matches: ms)
    return BatchScanResult(
        jobId: "job",
        signals: signals,
        statistics: SignalAggregator.statistics(signals),
        processingTimeMs: 1.5,
        errors: [SymbolError(symbol: "X", message: "unknown symbol")]
    )
}

@Suite struct DocumentTests {
    @Test func wireTimeFormatsUTCWithMillisecondsAndParsesBack() {
        let d = Date(timeIntervalSince1970: 1_654_000_000.25)
        #expect(WireTime.format(d) == "2022-05-31T12:26:40.250Z")
        #expect(WireTime.parse("2022-05-31T12:26:40.250Z") == d)
        #expect(WireTime.parse("2022-05-31T21:26:40.250+09:00") == d)
        #expect(WireTime.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(WireTime.parse("2022-05-31 12:26:40Z") == nil)
        #expect(WireTime.parse("garbage") == nil)
    }

    @Test func sessionDocumentHasTheDesignFields() throws {
        let request = BatchScanRequest(
            symbolCriteria: SymbolCriteria(symbols: ["005930"]),
            timeframe: .daily,
            dateRange: DateRange(from: CalendarDay("2022-01-03")!, to: CalendarDay("2022-03-31")!),
            formula: Formula(name: "f", source: "close > open"),
            parameters: ["n": .number(2)],
            mode: .range
        )
        var session = ScanSession(
            id: "s-1",
            status: .running,
            request: request,
            progress: ScanProgress(completed: 3, total: 10, matchesSoFar: 4),
            createdAt: Date(timeIntervalSince1970: 1_700_000_000),
            startedAt: Date(timeIntervalSince1970: 1_700_000_001)
        )
        let doc = SessionDocument(session)
        let bytes = try JSONCoding.encode(doc)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["session_id"] as? String == "s-1")
        #expect(object["status"] as? String == "running")
        #expect(object["created_at"] as? String == "2023-11-14T22:13:20.000Z")
        #expect(object["started_at"] as? String == "2023-11-14T22:13:21.000Z")
        #expect(object["finished_at"] == nil)
        #expect(object["error"] == nil)
        let progress = try #require(object["progress"] as? [String: Any])
        #expect(progress["completed"] as? Int == 3)
        #expect(progress["total"] as? Int == 10)
        #expect(progress["matches_so_far"] as? Int == 4)
        let req = try #require(object["request"] as? [String: Any])
        #expect((req["date_range"] as? [String: Any])?["from"] as? String == "2022-01-03")
        #expect((req["formula"] as? [String: Any])?["source"] as? String == "close > open")
        #expect(try JSONCoding.decode(SessionDocument.self, from: bytes) == doc)
        #expect(try doc.request.validated() == request)

        session.status = .failed
        session.error = "boom"
        session.finishedAt = Date(timeIntervalSince1970: 1_700_000_002)
        let failed = SessionDocument(session)
        #expect(failed.error == "boom")
        #expect(failed.scanStatus == .failed)
        #expect(failed.finishedAt == "2023-11-14T22:13:22.000Z")
    }

    @Test func getResultSlicesOnlyMatches() throws {
        let doc = ResultDocument(sampleResult(matches: 10), sessionId: "s", status: .completed)
        let slice = doc.slicing(offset: 3, limit: 4)
        #expect(slice.signals.matches == Array(doc.signals.matches[3..<7]))
        #expect(slice.signals.totalMatches == 10)
        #expect(slice.statistics == doc.statistics)
        #expect(slice.errors == doc.errors)
        #expect(doc.slicing(offset: 8, limit: 100).signals.matches.count == 2)
        #expect(doc.slicing(offset: 50, limit: 5).signals.matches.isEmpty)
        #expect(doc.slicing(offset: 0, limit: nil).signals.matches.count == 10)
        #expect(doc.slicing(offset: 2, limit: 0).signals.matches.isEmpty)
        // NaN column values become null, so the document is valid JSON.
        let bytes = try JSONCoding.encode(ResultReply(sessionId: "s", result: slice))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"undef\":null"))
        #expect(try JSONCoding.decode(ResultReply.self, from: bytes).result == slice)
    }

    @Test func pingAndListRepliesUseSnakeCase() throws {
        let ping = PingReply(
            uptimeS: 2.5,
            nodes: [NodeDocument(name: "n1", threads: 4, lastSeenMsAgo: 120, chunksDone: 7)],
            sessionsRunning: 1
        )
        let text = String(decoding: try JSONCoding.encode(ping), as: UTF8.self)
        for key in [
            "\"version\":\"MSCAN/1\"", "\"uptime_s\":2.5", "\"last_seen_ms_ago\":120", "\"chunks_done\":7",
            "\"sessions_running\":1", "\"threads\":4",
        ] {
            #expect(text.contains(key), "\(text)")
        }
        let back = try JSONCoding.decode(PingReply.self, from: Array(text.utf8))
        #expect(back == ping)
    }

    @Test func eventsHaveTopicAndSeq() throws {
        let e = EventDocument(
            sessionId: "abc",
            event: .progress,
            status: "running",
            completed: 5,
            total: 9,
            matchesSoFar: 2,
            seq: 3
        )
        let frames = try EventCodec.encode(e)
        #expect(String(decoding: frames[0], as: UTF8.self) == "scan.abc.progress")
        #expect(frames[0].starts(with: Array(EventCodec.prefix(sessionId: "abc").utf8)))
        let text = String(decoding: frames[1], as: UTF8.self)
        for key in ["\"completed\":5", "\"total\":9", "\"matches_so_far\":2", "\"seq\":3", "\"session_id\":\"abc\""] {
            #expect(text.contains(key), "\(text)")
        }
        #expect(try EventCodec.decode(frames) == e)
        #expect(throws: ProtocolError.self) { try EventCodec.decode([frames[0]]) }
    }
}
