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
    /// Forward outcomes of 0…16 returns (four or fewer held inline, more in an array) come back from
    /// the stored form and from a RESULT's results block bit for bit (NaN, signed zeros and
    /// infinities included), and read back as the arrays they were built from.
    @Test func forwardOutcomesOfEveryWidthRoundTripBitForBit() throws {
        var g = SplitMix64(state: 13)
        // The last one is subnormal.
        let special: [Double] = [.nan, -0.0, 0, .infinity, -.infinity, .leastNormalMagnitude / 4]
        func value() -> Double {
            Int.random(in: 0..<4, using: &g) == 0 ? special.randomElement(using: &g)! : g.double() - 0.5
        }
        func bits(_ f: ForwardOutcome?) -> [UInt64] {
            guard let f else { return [] }
            return f.returns.map(\.bitPattern) + [f.maxFavorable.bitPattern, f.maxAdverse.bitPattern]
        }
        for width in 0...16 {
            var matches = Self.matches(symbols: ["A", "B", "C"], count: 40, columns: 1, seed: UInt64(width))
            var built: [[Double]] = []
            for k in matches.indices {
                let returns = (0..<width).map { _ in value() }
                built.append(returns)
                matches[k].forward = ForwardOutcome(returns: returns, maxFavorable: value(), maxAdverse: value())
            }
            for (m, returns) in zip(matches, built) {
                let f = try #require(m.forward)
                #expect(f.returnCount == width)
                #expect(f.returns.map(\.bitPattern) == returns.map(\.bitPattern))
                #expect((0..<width).map { f.forwardReturn($0).bitPattern } == returns.map(\.bitPattern))
            }
            var w = BinaryWriter()
            MatchListCodec.write(matches, to: &w)
            var r = BinaryReader(w.bytes)
            let stored = try MatchListCodec.read(from: &r)
            let results = [SymbolResult(symbol: "A", matches: matches, barsScanned: 40)]
            let sent = try SymbolResultsCodec.decode(SymbolResultsCodec.encode(results))
            // A forward outcome without returns is written as none.
            let expected = width == 0 ? matches.map { _ in [UInt64]() } : matches.map { bits($0.forward) }
            #expect(stored.map { bits($0.forward) } == expected, "width \(width)")
            #expect(sent.flatMap(\.matches).map { bits($0.forward) } == expected, "width \(width)")
        }
    }
}
