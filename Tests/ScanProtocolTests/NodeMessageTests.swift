import Foundation
import ScanCore
import Testing

@testable import ScanProtocol

/// A deterministic generator so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SplitMix64 {
    mutating func text(max: Int = 12) -> String {
        let alphabet = Array("abcXYZ019_-.한국 ")
        return String((0..<Int.random(in: 0...max, using: &self)).map { _ in alphabet.randomElement(using: &self)! })
    }
    mutating func double() -> Double {
        switch Int.random(in: 0..<6, using: &self) {
        case 0: .nan
        case 1: -0.0
        case 2: .infinity
        default: Double.random(in: -1e12...1e12, using: &self)
        }
    }
}

func randomChunk(_ g: inout SplitMix64) -> ChunkMessage {
    var params: [String: ParameterValue] = [:]
    for _ in 0..<Int.random(in: 0...3, using: &g) {
        params[g.text()] =
            Bool.random(using: &g) ? .bool(Bool.random(using: &g)) : .number(Double.random(in: -100...100, using: &g))
    }
    let from = CalendarDay(daysSinceEpoch: Int32.random(in: -1000...20000, using: &g))
    return ChunkMessage(
        jobId: g.text(),
        chunkIndex: Int.random(in: 0...10_000, using: &g),
        attempt: Int.random(in: 1...5, using: &g),
        symbols: (0..<Int.random(in: 0...40, using: &g)).map { _ in g.text(max: 8) },
        timeframe: Timeframe.allCases.randomElement(using: &g)!,
        dateRange: DateRange(from: from, to: from.adding(days: 30)),
        formula: Formula(name: g.text(), source: g.text(max: 200)),
        parameters: params,
        mode: Bool.random(using: &g) ? .range : .latest,
        lookback: Int.random(in: 0...5000, using: &g),
        lease: LeaseToken(high: g.next(), low: g.next()),
        study: Bool.random(using: &g)
            ? try? StudySpec(
                horizons: Array(
                    Set((0..<Int.random(in: 1...16, using: &g)).map { _ in Int.random(in: 1...1000, using: &g) })
                ),
                entry: Bool.random(using: &g) ? .close : .nextOpen
            ) : nil,
        explain: Bool.random(using: &g),
        dataVersion: Bool.random(using: &g)
            ? StoreVersion(
                storeId: UInt64.random(in: 0...UInt64.max, using: &g),
                version: Int64.random(in: 0...99, using: &g)
            )
            : nil
    )
}

extension SplitMix64 {
    mutating func sample() -> SampleSums {
        SampleSums(
            count: Int.random(in: 0...1000, using: &self),
            sum: Double.random(in: -10...10, using: &self),
            sumOfSquares: Double.random(in: 0...10, using: &self),
            positives: Int.random(in: 0...1000, using: &self),
            incomplete: Int.random(in: 0...10, using: &self)
        )
    }

    mutating func finiteOrNil() -> Double? {
        Bool.random(using: &self) ? nil : Double.random(in: -1e6...1e6, using: &self)
    }
}

func randomResult(_ g: inout SplitMix64) -> ChunkResultMessage {
    let signals = ["golden", "dead", "x"]
    let columns = ["rsi14", "atr", "c"]
    let results = (0..<Int.random(in: 0...20, using: &g)).map { _ -> SymbolResult in
        let symbol = g.text(max: 8)
        let matches = (0..<Int.random(in: 0...6, using: &g)).map { _ -> SignalMatch in
            var values: [String: Double] = [:]
            for c in columns where Bool.random(using: &g) { values[c] = g.double() }
            let intraday = Bool.random(using: &g)
            return SignalMatch(
                symbol: symbol,
                timestamp: BarTimestamp(
                    epochSeconds: Int64.random(in: -1_000_000...2_000_000_000, using: &g),
                    utcOffsetSeconds: intraday ? Int32.random(in: -43200...50400, using: &g) : 0,
                    isIntraday: intraday
                ),
                signal: signals.randomElement(using: &g)!,
                close: Double.random(in: 0...1e6, using: &g),
                values: values,
                forward: Bool.random(using: &g)
                    ? ForwardOutcome(
                        returns: (0..<Int.random(in: 1...16, using: &g)).map { _ in g.double() },
                        maxFavorable: g.double(),
                        maxAdverse: g.double()
                    ) : nil
            )
        }
        let h = Int.random(in: 1...16, using: &g)
        return SymbolResult(
            symbol: symbol,
            matches: matches,
            error: Bool.random(using: &g) ? nil : g.text(max: 50),
            barsScanned: Int.random(in: 0...100_000, using: &g),
            baseline: Bool.random(using: &g)
                ? BaselineSums(
                    returns: (0..<h).map { _ in g.sample() },
                    maxFavorable: g.sample(),
                    maxAdverse: g.sample()
                )
                : nil,
            funnel: Bool.random(using: &g)
                ? FunnelCounts(
                    signals: (0..<Int.random(in: 0...3, using: &g)).map { _ in
                        let n = Int.random(in: 1...4, using: &g)
                        return ClauseCounts(
                            alone: (0..<n).map { _ in Int.random(in: 0...500, using: &g) },
                            surviving: (0..<n).map { _ in Int.random(in: 0...500, using: &g) }
                        )
                    },
                    nearMisses: (0..<Int.random(in: 0...2, using: &g)).map { _ in
                        NearMiss(
                            symbol: symbol,
                            timestamp: g.text(),
                            signal: g.text(),
                            clause: g.text(max: 40),
                            clauseIndex: Int.random(in: 0...5, using: &g),
                            left: g.finiteOrNil(),
                            right: g.finiteOrNil()
                        )
                    }
                ) : nil
        )
    }
    return ChunkResultMessage(
        jobId: g.text(),
        chunkIndex: Int.random(in: 0...500, using: &g),
        attempt: Int.random(in: 1...3, using: &g),
        lease: LeaseToken(high: g.next(), low: g.next()),
        nodeName: g.text(),
        results: results
    )
}

@Suite struct NodeMessageTests {
    @Test func chunksRoundTrip() throws {
        var g = SplitMix64(state: 1)
        for _ in 0..<300 {
            let m = NodeMessage.chunk(randomChunk(&g))
            #expect(try NodeMessage.decode(m.encode()) == m)
        }
    }

    @Test func resultsRoundTripIncludingNaN() throws {
        var g = SplitMix64(state: 2)
        for _ in 0..<300 {
            let m = randomResult(&g)
            // SignalMatch's == treats NaN values as equal, so whole-message equality is exact.
            #expect(try NodeMessage.decode(NodeMessage.result(m).encode()) == .result(m))
        }
    }

    /// The service stores a RESULT's results block as received: it is the block the codec writes for
    /// those results, and decodes to them.
    @Test func aResultsBlockIsTheCodecsBytesOfTheResults() throws {
        var g = SplitMix64(state: 3)
        for _ in 0..<100 {
            let m = randomResult(&g)
            let block = try ChunkResultMessage.resultsBlock(of: NodeMessage.result(m).encode())
            #expect(Array(block) == SymbolResultsCodec.encode(m.results))
            #expect(try SymbolResultsCodec.decode(Array(block)) == m.results)
        }
        #expect(throws: WireFormatError.self) {
            try ChunkResultMessage.resultsBlock(of: NodeMessage.cancel(CancelMessage(jobId: "j")).encode())
        }
    }

    @Test func heartbeatAndCancelRoundTrip() throws {
        let hb = HeartbeatMessage(
            nodeName: "node-1",
            incarnation: 0xDEAD_BEEF_0102,
            threads: 8,
            chunksDone: 123,
            symbolsDone: 4567,
            inFlight: 2,
            held: [
                HeldChunk(jobId: "j", chunkIndex: 3, lease: .random()),
                HeldChunk(jobId: "k", chunkIndex: 0, lease: LeaseToken(high: 1, low: 2)),
            ]
        )
        #expect(try NodeMessage.decode(NodeMessage.heartbeat(hb).encode()) == .heartbeat(hb))
        let c = NodeMessage.cancel(CancelMessage(jobId: "job-9"))
        #expect(try NodeMessage.decode(c.encode()) == c)
    }

    /// The committed fuzz seeds (Fuzz/Corpus/node_codec) are frames of every kind as this protocol
    /// version writes them: decoding and encoding one again gives the same bytes, so a refactoring
    /// of the codec that changes the wire shows here. (A result's name tables and values follow
    /// dictionary order, which differs from process to process: there the header up to the node
    /// name must be the same bytes, the rest the same length and message.)
    @Test(arguments: ["chunk", "result", "heartbeat", "cancel", "refused"])
    func seedsReencodeToTheSameBytes(_ kind: String) throws {
        let seed = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/Corpus/node_codec/\(kind).bin")
        let bytes = Array(try Data(contentsOf: seed))
        #expect(bytes.count > 5)
        let message = try NodeMessage.decode(bytes)
        let again = message.encode()
        guard case .result(let r) = message else {
            #expect(again == bytes)
            return
        }
        // magic, version, kind | job id | chunk index, attempt | lease | node name
        let header = 5 + (4 + r.jobId.utf8.count) + 8 + 16 + (4 + r.nodeName.utf8.count)
        #expect(Array(again.prefix(header)) == Array(bytes.prefix(header)))
        #expect(again.count == bytes.count)
        #expect(try NodeMessage.decode(again) == message)
    }

    @Test func everyTruncationThrows() {
        var g = SplitMix64(state: 3)
        let messages: [NodeMessage] = [
            .chunk(randomChunk(&g)), .result(randomResult(&g)), .cancel(CancelMessage(jobId: "j")),
        ]
        for m in messages {
            let bytes = m.encode()
            for n in 0..<bytes.count {
                #expect(throws: WireFormatError.self) { try NodeMessage.decode(Array(bytes[0..<n])) }
            }
            #expect(throws: WireFormatError.self) { try NodeMessage.decode(bytes + [0]) }
        }
    }

    @Test func garbageAndMutationsNeverTrap() {
        var g = SplitMix64(state: 4)
        let base = NodeMessage.result(randomResult(&g)).encode()
        for _ in 0..<3000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...4, using: &g) {
                bytes[Int.random(in: 0..<bytes.count, using: &g)] = UInt8.random(in: 0...255, using: &g)
            }
            _ = try? NodeMessage.decode(bytes)
            let garbage = (0..<Int.random(in: 0...64, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            _ = try? NodeMessage.decode([0x4D, 0x53, 0x4E, NodeMessage.version] + garbage)
        }
    }

    @Test("store versions: in chunks, heartbeats (the protocol/README example) and refusals")
    func storeVersions() throws {
        let readme: [UInt8] =
            [0x4d, 0x53, 0x4e, 0x03, 0x03, 0x06, 0x00, 0x00, 0x00] + Array("node-a".utf8)
            + [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x04, 0x00, 0x00, 0x00]
            + [0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
            + [0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00] + Array("7f0c".utf8)
            + [0x02, 0x00, 0x00, 0x00] + (1...16).map { UInt8($0) }
            + [0x08, 0x00, 0x00, 0x00] + Array("sqlite:a".utf8)
            + [0x01, 0xab, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
        #expect(readme.count == 108)
        let heartbeat = HeartbeatMessage(
            nodeName: "node-a",
            incarnation: 0x1122_3344_5566_7788,
            threads: 4,
            chunksDone: 17,
            symbolsDone: 300,
            inFlight: 1,
            held: [
                HeldChunk(
                    jobId: "7f0c",
                    chunkIndex: 2,
                    lease: LeaseToken(high: 0x0807_0605_0403_0201, low: 0x100f_0e0d_0c0b_0a09)
                )
            ],
            store: "sqlite:a",
            dataVersion: StoreVersion(storeId: 0xab, version: 5)
        )
        #expect(NodeMessage.heartbeat(heartbeat).encode() == readme)
        #expect(try NodeMessage.decode(readme) == .heartbeat(heartbeat))
        #expect(StoreVersion(storeId: 0xab, version: 5).description == "00000000000000ab:5")
        let refused = ChunkRefusedMessage(
            jobId: "j",
            chunkIndex: 3,
            attempt: 2,
            nodeName: "n",
            nodeVersion: nil,
            reason: "cannot read the store version"
        )
        #expect(try NodeMessage.decode(NodeMessage.refused(refused).encode()) == .refused(refused))
        var bad = NodeMessage.refused(refused).encode()
        bad[bad.count - 34] = 7  // the node version's presence flag
        #expect(throws: WireFormatError.self) { try NodeMessage.decode(bad) }
    }

    @Test func headerIsChecked() {
        let bytes = NodeMessage.cancel(CancelMessage(jobId: "j")).encode()
        var wrongMagic = bytes
        wrongMagic[0] = 0
        #expect(throws: WireFormatError("not a node message (bad magic)")) { try NodeMessage.decode(wrongMagic) }
        var wrongVersion = bytes
        wrongVersion[3] = 9
        #expect(throws: WireFormatError.self) { try NodeMessage.decode(wrongVersion) }
        var wrongKind = bytes
        wrongKind[4] = 77
        #expect(throws: WireFormatError("unknown node message kind 77")) { try NodeMessage.decode(wrongKind) }
    }

    @Test func hugeCountsAreRejectedWithoutAllocating() {
        var w = BinaryWriter()
        for b: UInt8 in [0x4D, 0x53, 0x4E, NodeMessage.version, 1] { w.u8(b) }
        w.string("job")
        w.u32(0)
        w.u32(1)
        w.u64(7)  // lease
        w.u64(8)
        w.u32(UInt32.max)  // symbol count
        #expect(throws: WireFormatError.self) { try NodeMessage.decode(w.bytes) }
    }

    @Test func leaseTokensAreFreshAndNeverPrintedWhole() {
        let tokens = (0..<1000).map { _ in LeaseToken.random() }
        #expect(Set(tokens).count == 1000)
        #expect(!tokens.contains(.none))
        #expect(tokens.allSatisfy { $0.description.count <= 4 })
    }
}
