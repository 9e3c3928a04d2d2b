import Foundation
import Testing

@testable import ScanCore

/// A match's column values are held as none, one inline, or a dictionary; what the public `values`
/// shows, equality and the JSON are those of the dictionary the match was given.
@Suite struct MatchColumnsTests {
    static func match(_ values: [String: Double]) -> SignalMatch {
        SignalMatch(
            symbol: "005930",
            timestamp: BarTimestamp(epochSeconds: 1_700_000_000, utcOffsetSeconds: 32_400, isIntraday: false),
            signal: "s",
            close: 12.5,
            values: values
        )
    }

    @Test(arguments: [[:], ["rsi14": 55.25], ["rsi14": .nan], ["a": 1, "b": -2, "a_long_column_name_here": 3]])
    func valuesAreTheOnesGiven(values: [String: Double]) throws {
        let m = Self.match(values)
        #expect(m.values.count == values.count)
        for (k, v) in values {
            let got = try #require(m.values[k])
            #expect(got == v || (got.isNaN && v.isNaN))
        }
        #expect(m.columns.count == values.count)
        switch m.columns {
        case .none: #expect(values.isEmpty)
        case .one: #expect(values.count == 1)
        case .many: #expect(values.count > 1)
        }
        // JSON as a dictionary, and back to an equal match.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf",
            negativeInfinity: "-inf",
            nan: "nan"
        )
        let json = try #require(String(data: try encoder.encode(m), encoding: .utf8))
        #expect(json.contains("\"values\":{"))
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf",
            negativeInfinity: "-inf",
            nan: "nan"
        )
        #expect(try decoder.decode(SignalMatch.self, from: Data(json.utf8)) == m)
    }

    @Test func settingValuesKeepsTheSmallestForm() {
        var m = Self.match([:])
        m.values["rsi14"] = 40
        guard case .one(let name, let value) = m.columns else {
            Issue.record("one column is held inline, got \(m.columns)")
            return
        }
        #expect(name == "rsi14" && value == 40)
        m.values["ema"] = 1
        #expect(m.columns.count == 2)
        m.values = [:]
        #expect(m.columns.count == 0)
        #expect(m == Self.match([:]))
    }

    @Test func equalityComparesValuesByName() {
        #expect(Self.match(["a": 1]) == Self.match(["a": 1]))
        #expect(Self.match(["a": 1]) != Self.match(["b": 1]))
        #expect(Self.match(["a": 1]) != Self.match(["a": 2]))
        #expect(Self.match(["a": .nan]) == Self.match(["a": .nan]))
        #expect(Self.match(["a": 1, "b": 2]) == Self.match(["b": 2, "a": 1]))
        #expect(Self.match(["a": 1]) != Self.match(["a": 1, "b": 2]))
    }
}
