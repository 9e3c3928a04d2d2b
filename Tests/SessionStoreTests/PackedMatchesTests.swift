import Foundation
import ScanCore
import Testing

@testable import SessionStore

/// Stored matches: the binary-column format (2) round-trips, and rows written in format 1 still read.
@Suite struct PackedMatchesTests {
    static let matches = [
        SignalMatch(
            symbol: "005930",
            timestamp: BarTimestamp(day: CalendarDay(year: 2022, month: 9, day: 19)!),
            signal: "golden",
            close: 54_400,
            values: ["rsi14": 41.5, "gap": .nan]
        ),
        SignalMatch(
            symbol: "INDA",
            timestamp: BarTimestamp(parsing: "2025-06-09T09:35:00-04:00")!,
            signal: "dead",
            close: -0.125,
            values: ["rsi14": 70.125]
        ),
        SignalMatch(
            symbol: "005930",
            timestamp: BarTimestamp(day: CalendarDay(year: 2022, month: 9, day: 20)!),
            signal: "dead",
            close: .infinity,
            values: [:]
        ),
    ]

    static func same(_ a: [SignalMatch], _ b: [SignalMatch]) -> Bool {
        a.count == b.count
            && zip(a, b).allSatisfy { x, y in
                x.symbol == y.symbol && x.timestamp == y.timestamp && x.timestamp.isIntraday == y.timestamp.isIntraday
                    && x.signal == y.signal && x.close.bitPattern == y.close.bitPattern
                    && x.values.mapValues(\.bitPattern) == y.values.mapValues(\.bitPattern)
            }
    }

    @Test func formatTwoRoundTripsBitForBitWithAbsentValues() throws {
        let data = try JSONEncoder().encode(PackedMatches(Self.matches))
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"format\":2"))
        let back = try JSONDecoder().decode(PackedMatches.self, from: data).unpacked()
        #expect(Self.same(back, Self.matches))
        #expect(back[2].values.isEmpty)
        let empty = try JSONDecoder().decode(PackedMatches.self, from: JSONEncoder().encode(PackedMatches([])))
        #expect(try empty.unpacked().isEmpty)
    }

    @Test func formatOneStillDecodes() throws {
        let v1 = """
            {"symbols":["005930","INDA"],"times":[1663545600,1749476100],"offsets":[0,-14400],"intraday":[false,true],
             "signals":["golden","dead"],"closes":[54400,56.25],"valueNames":["rsi14"],"values":[[41.5,null]]}
            """
        let back = try JSONDecoder().decode(PackedMatches.self, from: Data(v1.utf8)).unpacked()
        #expect(back.map(\.symbol) == ["005930", "INDA"])
        #expect(back[1].timestamp.description == "2025-06-09T09:35:00-04:00")
        #expect(back[0].values == ["rsi14": 41.5])
        #expect(back[1].values.isEmpty)
    }

    @Test func aCorruptBlobIsAnErrorNotACrash() throws {
        var object = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(PackedMatches(Self.matches))) as? [String: Any]
        )
        object["times"] = Data([1, 2, 3]).base64EncodedString()
        let data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(PackedMatches.self, from: data).unpacked() }
    }
}
