import Foundation
import ScanCore
import Testing

@testable import SessionStore

/// Stored chunk results: the baselines and funnels round-trip bit for bit in the binary record, symbols
/// without them stay without, and JSON rows written before (everything inside `symbols`) still read.
@Suite struct StoredChunkTests {
    static func sample(_ i: Int) -> SampleSums {
        SampleSums(
            count: 100 + i,
            sum: 0.1 * Double(i) - 0.35,
            sumOfSquares: 1e-3 * Double(i),
            positives: i,
            incomplete: 3
        )
    }

    static let results: [SymbolResult] = [
        SymbolResult(
            symbol: "005930",
            matches: PackedMatchesTests.matches.filter { $0.symbol == "005930" },
            barsScanned: 250,
            baseline: BaselineSums(
                returns: [sample(1), sample(2), sample(3)],
                maxFavorable: sample(4),
                maxAdverse: sample(5)
            ),
            funnel: FunnelCounts(
                signals: [
                    ClauseCounts(alone: [40, 12], surviving: [40, 3]), ClauseCounts(alone: [7], surviving: [7]),
                ],
                nearMisses: [
                    NearMiss(
                        symbol: "005930",
                        timestamp: "2022-09-20",
                        signal: "golden",
                        clause: "volume > 1.5 * sma(volume, 20)",
                        clauseIndex: 1,
                        left: 1_000,
                        right: nil
                    )
                ]
            )
        ),
        SymbolResult(symbol: "000660", error: "cannot read bars", barsScanned: 0),
        SymbolResult(
            symbol: "035720",
            barsScanned: 250,
            baseline: BaselineSums(
                returns: [sample(6), sample(7), sample(8)],
                maxFavorable: sample(9),
                maxAdverse: sample(10)
            ),
            funnel: FunnelCounts(signals: [
                ClauseCounts(alone: [1, 0], surviving: [1, 0]), ClauseCounts(alone: [0], surviving: [0]),
            ])
        ),
    ]

    @Test func baselinesAndFunnelsRoundTripBitForBit() throws {
        let data = try SessionRecords.encodeChunk(Self.results)
        #expect(data.starts(with: SessionRecords.chunkMagic), "chunk records are the binary results block")
        let back = try SessionRecords.decodeChunk(data)
        #expect(back == Self.results)
        #expect(back[1].baseline == nil && back[1].funnel == nil)
        #expect(
            back.map { $0.baseline?.returns.map(\.sum.bitPattern) }
                == Self.results.map { $0.baseline?.returns.map(\.sum.bitPattern) }
        )
        // Without a study or a funnel nothing of them comes back.
        let plain = Self.results.map {
            SymbolResult(symbol: $0.symbol, matches: $0.matches, error: $0.error, barsScanned: $0.barsScanned)
        }
        let plainBack = try SessionRecords.decodeChunk(SessionRecords.encodeChunk(plain))
        #expect(plainBack == plain)
        #expect(plainBack.allSatisfy { $0.baseline == nil && $0.funnel == nil })
    }

    @Test func rowsWrittenBeforeStillRead() throws {
        // The earlier layout: each symbol's baseline and funnel as JSON objects inside `symbols`.
        struct OldSymbol: Encodable {
            var symbol: String
            var error: String?
            var barsScanned: Int
            var baseline: BaselineSums?
            var funnel: FunnelCounts?
        }
        struct OldChunk: Encodable {
            var symbols: [OldSymbol]
            var matches: PackedMatches
        }
        let old = OldChunk(
            symbols: Self.results.map {
                OldSymbol(
                    symbol: $0.symbol,
                    error: $0.error,
                    barsScanned: $0.barsScanned,
                    baseline: $0.baseline,
                    funnel: $0.funnel
                )
            },
            matches: PackedMatches(Self.results.flatMap(\.matches))
        )
        #expect(try SessionRecords.decodeChunk(SessionRecords.encode(old)) == Self.results)
    }

    @Test func aDamagedRecordIsAnErrorNotACrash() throws {
        let data = [UInt8](try SessionRecords.encodeChunk(Self.results))
        for cut in [SessionRecords.chunkMagic.count + 1, data.count / 2, data.count - 1] {
            #expect(throws: SessionStoreError.self) { try SessionRecords.decodeChunk(Data(data[..<cut])) }
        }
    }
}
