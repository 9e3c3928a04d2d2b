import ScanCore
import Testing

@testable import ScanProtocol

/// The stored form of a result's matches: its symbol table is built without `Dictionary` for ASCII
/// symbols; the table, the ids and the decoded matches are the ones a `Dictionary` gives.
@Suite struct MatchListCodecTests {
    /// The distinct symbols in first-seen order and each match's index, by `Dictionary` (String equality).
    static func reference(_ matches: [SignalMatch]) -> (symbols: [String], ids: [UInt32]) {
        var index: [String: UInt32] = [:]
        var symbols: [String] = []
        let ids = matches.map { m in
            if let id = index[m.symbol] { return id }
            index[m.symbol] = UInt32(symbols.count)
            symbols.append(m.symbol)
            return UInt32(symbols.count - 1)
        }
        return (symbols, ids)
    }

    static func matches(symbols: [String], count: Int, columns: Int, seed: UInt64) -> [SignalMatch] {
        var g = SplitMix64(state: seed)
        return (0..<count).map { k in
            let names = ["rsi14", "a_rather_long_column_name", "z"].prefix(columns)
            return SignalMatch(
                symbol: symbols[Int.random(in: 0..<symbols.count, using: &g)],
                timestamp: BarTimestamp(epochSeconds: 1_700_000_000 + Int64(k), utcOffsetSeconds: 0, isIntraday: false),
                signal: ["s", "t"][k % 2],
                close: g.double(),
                values: Dictionary(uniqueKeysWithValues: names.map { ($0, g.double()) })
            )
        }
    }

    @Test(arguments: [0, 1, 3])
    func manyASCIISymbolsGetTheDictionarysTableAndRoundTrip(columns: Int) throws {
        // 3,000 symbols: the open-addressed table grows several times.
        let symbols = (0..<3_000).map { "S\($0)" } + ["A-LONGER-SYMBOL-NAME.XNAS"]
        let matches = Self.matches(symbols: symbols, count: 20_000, columns: columns, seed: UInt64(columns))
        let (table, ids) = MatchListCodec.symbolIds(matches)
        let expected = Self.reference(matches)
        #expect(table == expected.symbols)
        #expect(ids == expected.ids)
        var w = BinaryWriter()
        MatchListCodec.write(matches, to: &w)
        var r = BinaryReader(w.bytes)
        #expect(try MatchListCodec.read(from: &r) == matches)
        #expect(r.position == w.bytes.count)
    }

    /// Strings Swift calls equal though their bytes differ ("K" and the Kelvin sign, a precomposed and
    /// a combining "é"): the table is still the `Dictionary`'s.
    @Test func nonASCIISymbolsKeepStringEquality() throws {
        let symbols = ["K", "\u{212A}", "caf\u{E9}", "cafe\u{301}", "005930", "한국"]
        let matches = Self.matches(symbols: symbols, count: 200, columns: 1, seed: 9)
        let (table, ids) = MatchListCodec.symbolIds(matches)
        let expected = Self.reference(matches)
        #expect(table == expected.symbols)
        #expect(ids == expected.ids)
        var w = BinaryWriter()
        MatchListCodec.write(matches, to: &w)
        var r = BinaryReader(w.bytes)
        #expect(try MatchListCodec.read(from: &r) == matches)
    }

    @Test func noMatchesRoundTrip() throws {
        var w = BinaryWriter()
        MatchListCodec.write([], to: &w)
        var r = BinaryReader(w.bytes)
        #expect(try MatchListCodec.read(from: &r).isEmpty)
    }

    /// A one-column match (read without a dictionary) naming a column the table lacks is an error.
    @Test func aColumnIndexOutOfRangeIsAnError() throws {
        let matches = Self.matches(symbols: ["A"], count: 1, columns: 1, seed: 1)
        var w = BinaryWriter()
        MatchListCodec.write(matches, to: &w)
        var bytes = w.bytes
        // The match's body ends with: u16 value count (1), u16 column index, f64 value, u8 no forward.
        let at = bytes.count - 1 - 8 - 2
        #expect(bytes[at] == 0 && bytes[at + 1] == 0)
        bytes[at] = 7
        var r = BinaryReader(bytes)
        #expect(throws: WireFormatError.self) { try MatchListCodec.read(from: &r) }
    }
}
