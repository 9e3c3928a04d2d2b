import Foundation
import ScanCore
import ScanProtocol
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

    // MARK: Result records

    static func result() throws -> BatchScanResult {
        var matches = Self.matches
        matches[0].forward = ForwardOutcome(returns: [0.5, .nan, -0.25], maxFavorable: 1.25, maxAdverse: .nan)
        matches[2].forward = ForwardOutcome(returns: [.nan, .nan, .nan], maxFavorable: .nan, maxAdverse: .nan)
        let signals = AggregatedSignals(totalSymbols: 3, symbolsWithMatches: 2, totalMatches: 3, matches: matches)
        return BatchScanResult(
            jobId: "job-7",
            signals: signals,
            statistics: SignalAggregator.statistics(signals),
            processingTimeMs: 12.5,
            errors: [SymbolError(symbol: "000660", message: "cannot read bars")],
            cancelled: true,
            study: StudyReport.aggregate(
                spec: try StudySpec(horizons: [1, 5, 20]),
                mode: .range,
                signalNames: ["golden", "dead"],
                matches: matches,
                results: [SymbolResult(symbol: "005930", matches: matches, baseline: BaselineSums(horizons: 3))]
            )
        )
    }

    @Test func resultRecordsAreBinaryAndRoundTripBitForBit() throws {
        let r = try Self.result()
        let data = try SessionRecords.encodeResult(r)
        #expect(data.starts(with: SessionRecords.resultMagic))
        let back = try SessionRecords.decodeResult(data)
        #expect(Self.same(back.signals.matches, r.signals.matches))
        #expect(back.signals.matches.map(\.forward) == r.signals.matches.map(\.forward))
        #expect(back.signals.matches[0].forward?.returns[1].isNaN == true)
        #expect(
            back.signals.totalSymbols == 3 && back.signals.symbolsWithMatches == 2 && back.signals.totalMatches == 3
        )
        #expect(back.statistics == r.statistics)
        #expect(back.errors == r.errors && back.cancelled && back.jobId == "job-7" && back.processingTimeMs == 12.5)
        #expect(back.study == r.study && back.funnel == nil)
        let empty = BatchScanResult(
            jobId: "e",
            signals: AggregatedSignals(),
            statistics: SignalStatistics(),
            processingTimeMs: 0,
            errors: []
        )
        #expect(try SessionRecords.decodeResult(SessionRecords.encodeResult(empty)).signals.matches.isEmpty)
    }

    @Test func resultRecordsWrittenAsJSONStillDecode() throws {
        // That format packs forward returns only when every match has them (a study gives all or none).
        var r = try Self.result()
        r.signals.matches[1].forward = ForwardOutcome(returns: [0.1, 0.2, 0.3], maxFavorable: 0.4, maxAdverse: -0.1)
        let json = try SessionRecords.encode(StoredResult(r))
        #expect(json.first == UInt8(ascii: "{"))
        let back = try SessionRecords.decodeResult(json)
        #expect(Self.same(back.signals.matches, r.signals.matches))
        #expect(back.signals.matches.map(\.forward) == r.signals.matches.map(\.forward))
        #expect(back.statistics == r.statistics && back.study == r.study)
    }

    @Test func aDamagedResultRecordIsReportedAsCorrupt() throws {
        let data = try SessionRecords.encodeResult(try Self.result())
        for damaged in [data.prefix(data.count - 3), data + [0], data.prefix(12), data.prefix(40)] {
            let error = try #require(throws: SessionStoreError.self) {
                try SessionRecords.decodeResult(Data(damaged))
            }
            #expect(error.description.contains("cannot decode"))
        }
    }

    // MARK: Chunk records

    static let chunk = [
        SymbolResult(
            symbol: "005930",
            matches: matches.filter { $0.symbol == "005930" }.map {
                var m = $0
                m.forward = ForwardOutcome(returns: [0.5, .nan], maxFavorable: 1.25, maxAdverse: -0.75)
                return m
            },
            barsScanned: 250,
            baseline: BaselineSums(horizons: 2)
        ),
        SymbolResult(symbol: "000660", error: "cannot read bars", barsScanned: 0),
        SymbolResult(symbol: "INDA", matches: matches.filter { $0.symbol == "INDA" }, barsScanned: 390),
    ]

    @Test func chunkRecordsAreBinaryAndRoundTripBitForBit() throws {
        let data = try SessionRecords.encodeChunk(Self.chunk)
        #expect(data.starts(with: SessionRecords.chunkMagic))
        let back = try SessionRecords.decodeChunk(data)
        #expect(back.map(\.symbol) == Self.chunk.map(\.symbol))
        #expect(back.map(\.error) == Self.chunk.map(\.error))
        #expect(back.map(\.barsScanned) == Self.chunk.map(\.barsScanned))
        #expect(back.map(\.baseline) == Self.chunk.map(\.baseline))
        #expect(Self.same(back.flatMap(\.matches), Self.chunk.flatMap(\.matches)))
        let forward = try #require(back[0].matches.first?.forward)
        #expect(forward.returns[0] == 0.5 && forward.returns[1].isNaN && forward.maxAdverse == -0.75)
        #expect(try SessionRecords.decodeChunk(SessionRecords.encodeChunk([])).isEmpty)
    }

    /// A record made of a RESULT's results block, as the service stores it, is the record of its results.
    @Test func aChunkRecordFromAResultsBlockIsTheEncodedRecord() throws {
        // A slice of a larger message, as the service has it.
        let message: [UInt8] = [1, 2, 3] + SymbolResultsCodec.encode(Self.chunk)
        let record = SessionRecords.chunkRecord(resultsBlock: message[3...])
        #expect(record == (try SessionRecords.encodeChunk(Self.chunk)))
        #expect(try SessionRecords.decodeChunk(record) == Self.chunk)
    }

    @Test func chunkRecordsWrittenAsJSONStillDecode() throws {
        let json = try SessionRecords.encode(StoredChunk(Self.chunk))
        #expect(json.first == UInt8(ascii: "{"))
        let back = try SessionRecords.decodeChunk(json)
        #expect(back.map(\.symbol) == Self.chunk.map(\.symbol))
        #expect(Self.same(back.flatMap(\.matches), Self.chunk.flatMap(\.matches)))
    }

    @Test func aDamagedChunkRecordIsReportedAsCorrupt() throws {
        let data = try SessionRecords.encodeChunk(Self.chunk)
        for damaged in [data.prefix(data.count - 3), data + [0]] {
            let error = try #require(throws: SessionStoreError.self) {
                try SessionRecords.decodeChunk(Data(damaged))
            }
            #expect(error.description.contains("cannot decode a stored chunk result"))
        }
    }
}
