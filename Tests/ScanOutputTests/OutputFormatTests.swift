import Foundation
import ScanCore
import ScanOutput
import ScanProtocol
import Testing

/// A fixed result: two daily matches (one with an undefined column), one unknown symbol.
func fixedResult() -> BatchScanResult {
    let d1 = BarTimestamp(day: CalendarDay(year: 2022, month: 9, day: 16)!)
    let d2 = BarTimestamp(day: CalendarDay(year: 2022, month: 9, day: 19)!)
    let results = [
        SymbolResult(
            symbol: "005930",
            matches: [
                SignalMatch(symbol: "005930", timestamp: d2, signal: "golden", close: 54_400, values: ["rsi14": 41.25])
            ],
            barsScanned: 2
        ),
        SymbolResult(
            symbol: "000660",
            matches: [
                SignalMatch(symbol: "000660", timestamp: d1, signal: "dead", close: 91_000, values: ["rsi14": .nan])
            ],
            barsScanned: 2
        ),
        SymbolResult(symbol: "999999", error: "unknown symbol '999999'"),
    ]
    return BatchScanUseCase.result(
        jobId: "job-1",
        results: results,
        processingTime: .milliseconds(12),
        cancelled: false
    )
}

let names = ["005930": "삼성전자", "000660": "SK하이닉스"]

@Suite("Output formats")
struct OutputFormatTests {
    @Test func goldenJSON() throws {
        let json = try ResultRenderer.json(ResultDocument(fixedResult()))
        let golden =
            #"{"errors":[{"message":"unknown symbol '999999'","symbol":"999999"}],"errors_count":1,"job_id":"job-1","processing_time_ms":12,"signals":{"matches":[{"close":91000,"signal":"dead","symbol":"000660","timestamp":"2022-09-16","values":{"rsi14":null}},{"close":54400,"signal":"golden","symbol":"005930","timestamp":"2022-09-19","values":{"rsi14":41.25}}],"symbols_with_matches":2,"total_matches":2,"total_symbols":3},"statistics":{"by_date":{"2022-09-16":1,"2022-09-19":1},"by_signal_type":{"dead":1,"golden":1},"by_symbol":{"000660":1,"005930":1},"total":2},"status":"completed"}"#
        #expect(json == golden + "\n")
    }

    @Test func jsonDecodesBackToTheSameResult() throws {
        var result = fixedResult()
        result.signals.matches.append(
            SignalMatch(
                symbol: "INDA",
                timestamp: BarTimestamp(parsing: "2025-06-09T09:35:00-04:00")!,
                signal: "dead",
                close: 56.25,
                values: [:]
            )
        )
        result.signals.totalMatches += 1
        let doc = ResultDocument(result, sessionId: "s-1", status: .cancelled)
        let back = try ResultDocument.decode(try doc.jsonData())
        #expect(back == doc)
        #expect(back.sessionId == "s-1")
        let r = try back.batchScanResult()
        #expect(r.signals.matches == result.signals.matches)
        #expect(r.signals.matches.last?.timestamp.description == "2025-06-09T09:35:00-04:00")
        #expect(r.cancelled)
        #expect(r.errors == result.errors)
        #expect(r.statistics == result.statistics)
        let text = String(decoding: try doc.jsonData(), as: UTF8.self)
        #expect(text.contains(#""timestamp":"2025-06-09T09:35:00-04:00""#))
        #expect(text.contains(#""session_id":"s-1""#))
    }

    @Test func goldenCSV() {
        let csv = ResultRenderer.csv(
            ResultDocument(fixedResult()),
            context: OutputContext(names: names, columns: ["rsi14"])
        )
        #expect(
            csv == """
                symbol,name,timestamp,signal,close,rsi14
                000660,SK하이닉스,2022-09-16,dead,91000,
                005930,삼성전자,2022-09-19,golden,54400,41.25

                """
        )
    }

    @Test func csvQuotesFieldsWithCommasAndQuotes() {
        let csv = ResultRenderer.csv(
            ResultDocument(fixedResult()),
            context: OutputContext(names: ["005930": "Samsung, \"SEC\""], columns: ["rsi14"])
        )
        #expect(csv.contains(#"005930,"Samsung, ""SEC""",2022-09-19"#))
    }

    @Test func tableAlignsWideCharactersAndSummarises() {
        let table = ResultRenderer.table(
            ResultDocument(fixedResult()),
            context: OutputContext(names: names, columns: ["rsi14"])
        )
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].hasPrefix("SYMBOL  NAME"))
        // Every row of the table ends its DATE column at the same terminal column.
        let dateEnds = lines[2...3].map { line -> Int in
            let r = line.range(of: "2022-09-1")!
            return DisplayWidth.of(line[..<r.lowerBound])
        }
        #expect(Set(dateEnds).count == 1)
        #expect(Set(lines[0...3].map { DisplayWidth.of($0) }).count == 1)
        #expect(lines[2].contains("91,000") && lines[2].hasSuffix("-"))
        #expect(lines[3].contains("54,400") && lines[3].hasSuffix("41.25"))
        #expect(table.contains("999999: unknown symbol '999999'"))
        #expect(
            lines.last(where: { !$0.isEmpty }) == "3 symbols scanned · 2 with matches · 2 matches · 1 error · 12 ms"
        )
    }

    @Test func longTablesAreCutWithANote() {
        var result = fixedResult()
        let day = CalendarDay(year: 2022, month: 1, day: 3)!
        result.signals.matches = (0..<120).map {
            SignalMatch(symbol: "005930", timestamp: BarTimestamp(day: day.adding(days: $0)), signal: "s", close: 1)
        }
        result.signals.totalMatches = 120
        let table = ResultRenderer.table(ResultDocument(result), context: OutputContext(maxTableRows: 50))
        #expect(table.split(separator: "\n").filter { $0.hasPrefix("005930") }.count == 50)
        #expect(table.contains("… 70 more matches not shown; to see all: --format csv --output FILE"))
    }

    @Test func cancelledResultsSaySo() {
        var result = fixedResult()
        result.cancelled = true
        #expect(ResultRenderer.summary(ResultDocument(result)).hasSuffix("CANCELLED: partial result"))
        #expect(ResultDocument(result).status == "cancelled")
    }

    @Test func displayWidthCountsHangulDouble() {
        #expect(DisplayWidth.of("삼성전자") == 8)
        #expect(DisplayWidth.of("SK하이닉스") == 10)
        #expect(DisplayWidth.of("005930") == 6)
        #expect(DisplayWidth.pad("삼성", to: 6) == "삼성  ")
        #expect(DisplayWidth.truncate("셀트리온헬스케어", to: 9) == "셀트리온…")
    }
}
