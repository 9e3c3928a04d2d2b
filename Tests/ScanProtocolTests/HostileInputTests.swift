import ScanCore
import Testing

@testable import ScanProtocol

/// Values a client or a node can send that once trapped the service (found in review).
@Suite("Hostile values")
struct HostileInputTests {
    @Test func getResultWithTheLargestLimitSlicesInsteadOfOverflowing() {
        let doc = ResultDocument(sampleResult(matches: 10), sessionId: "s", status: .completed)
        #expect(doc.slicing(offset: 1, limit: Int.max).signals.matches.count == 9)
        #expect(doc.slicing(offset: Int.max, limit: Int.max).signals.matches.isEmpty)
        #expect(doc.slicing(offset: 3, limit: 2).signals.matches == Array(doc.signals.matches[3..<5]))
    }

    @Test func aResultWithATimestampOutsideTheCalendarIsRefused() {
        for (epoch, offset) in [(Int64(1) << 62, Int32(0)), (Int64(0), Int32.max), (Int64.min, Int32(0))] {
            let match = SignalMatch(
                symbol: "A",
                timestamp: BarTimestamp(epochSeconds: epoch, utcOffsetSeconds: offset, isIntraday: true),
                signal: "s",
                close: 1
            )
            let frame = NodeMessage.result(
                ChunkResultMessage(
                    jobId: "j",
                    chunkIndex: 0,
                    attempt: 1,
                    nodeName: "evil",
                    results: [SymbolResult(symbol: "A", matches: [match], barsScanned: 1)]
                )
            ).encode()
            #expect(throws: WireFormatError.self) { try NodeMessage.decode(frame) }
        }
    }

    @Test func calendarArithmeticClampsInsteadOfTrapping() {
        #expect(CalendarDay(epochSeconds: .max, utcOffset: 3600).daysSinceEpoch == Int32.max)
        #expect(CalendarDay(epochSeconds: .min, utcOffset: -3600).daysSinceEpoch == Int32.min)
        #expect(CalendarDay(epochSeconds: 86_400 * 3 + 10, utcOffset: -20).description == "1970-01-03")
    }
}
