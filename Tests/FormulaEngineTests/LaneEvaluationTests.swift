import Foundation
import Testing

@testable import FormulaEngine

/// Four series in SIMD lanes (`Indicator.runLanes`, `FormulaEvaluator.evaluate(_:reportingIn:)` of a
/// group) give each series exactly the values of the scalar kernels on that series alone, bit for bit:
/// on synthetic edge cases (lanes of different lengths, the shortest length a lane kernel takes, flat
/// prices, NaN gaps, short and empty series) and on the real daily bars of `../shared/data`.
@Suite struct LaneEvaluationTests {
    /// Every indicator with a lane kernel, at ordinary and extreme parameters.
    static let laneIndicators: [Indicator] = [
        .ema(50), .ema(1), .ema(2), .rma(14), .rma(1), .rsi(14), .rsi(2), .atr(14), .atr(2), .adx(14), .adx(1),
        .adx(2), .obv, .macd(fast: 12, slow: 26, signal: 9), .macd(fast: 26, slow: 12, signal: 9),
        .macd(fast: 5, slow: 5, signal: 1),
    ]

    /// One synthetic series: fractional prices (so sums round), a flat stretch (zero ranges and changes).
    static func series(_ n: Int, seed: UInt64, flat: Bool = false) -> PriceColumns {
        let base = walk(n, seed: seed)
        let close = base.enumerated().map { i, v in flat || (i / 50) % 7 == 3 ? 4_321.5 : v / 7 }
        let high = close.enumerated().map { i, c in c * (1 + Double(i % 5) * 0.003) }
        let low = close.enumerated().map { i, c in c * (1 - Double(i % 3) * 0.004) }
        let volume = base.map { ($0.truncatingRemainder(dividingBy: 997) + 1) * 13.25 }
        return PriceColumns(open: close, high: high, low: low, close: close, volume: volume)
    }

    static func column(_ input: Indicator.Input, _ c: PriceColumns) -> [Double] {
        switch input {
        case .source, .price(.close): c.close
        case .price(.open): c.open
        case .price(.high): c.high
        case .price(.low): c.low
        case .price(.volume): c.volume
        }
    }

    /// The indicator over `c` alone with the scalar kernel.
    static func scalar(_ indicator: Indicator, _ c: PriceColumns) -> [[Double]] {
        let n = c.count
        let inputs = indicator.inputs.map { input in
            let b = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
            _ = b.initialize(from: column(input, c))
            return b
        }
        let outputs = (0..<indicator.outputCount).map { _ in UnsafeMutableBufferPointer<Double>.allocate(capacity: n) }
        defer { for b in inputs + outputs { b.deallocate() } }
        indicator.run(inputs.map { UnsafeBufferPointer($0) }, into: outputs)
        return outputs.map(Array.init)
    }

    /// The indicator over four series with the lane kernel: `[lane][output][bar]`.
    static func lanes(_ indicator: Indicator, _ group: [PriceColumns]) -> [[[Double]]] {
        let counts = group.map(\.count)
        let longest = counts.max()!
        let pointers = group.map { c in
            indicator.inputs.map { input in
                let column = column(input, c)
                let b = UnsafeMutablePointer<Double>.allocate(capacity: column.count)
                b.initialize(from: column, count: column.count)
                return UnsafePointer(b)
            }
        }
        let buffers = group.map { _ in
            (0..<indicator.outputCount).map { _ in UnsafeMutablePointer<Double>.allocate(capacity: longest) }
        }
        defer {
            for b in buffers.joined() { b.deallocate() }
            for p in pointers.joined() { p.deallocate() }
        }
        do {
            let columns = indicator.inputs.indices.map { k in
                LaneColumn(p: (pointers[0][k], pointers[1][k], pointers[2][k], pointers[3][k]))
            }
            let outputs = (0..<indicator.outputCount).map { k in
                LaneOutput(p: (buffers[0][k], buffers[1][k], buffers[2][k], buffers[3][k]))
            }
            indicator.runLanes(
                columns,
                into: outputs,
                lengths: LaneLengths((counts[0], counts[1], counts[2], counts[3]))
            )
        }
        return group.indices.map { l in
            buffers[l].map { Array(UnsafeBufferPointer(start: $0, count: counts[l])) }
        }
    }

    @Test(arguments: laneIndicators)
    func laneKernelEqualsTheScalarKernelBitForBit(_ indicator: Indicator) throws {
        let minimum = try #require(indicator.laneMinimumLength)
        let lengthSets = [
            [minimum, minimum, minimum, minimum],
            [minimum, minimum + 1, 40 + minimum, 400],
            [2_500, 37 + minimum, 1_000, minimum + 3],
            [300, 300, 300, 300],
        ]
        for (s, lengths) in lengthSets.enumerated() {
            let group = lengths.enumerated().map { l, n in
                Self.series(n, seed: UInt64(10 * s + l + 1), flat: s == 3 && l == 2)
            }
            let got = Self.lanes(indicator, group)
            for (l, c) in group.enumerated() {
                let expected = Self.scalar(indicator, c)
                for k in expected.indices {
                    #expect(
                        got[l][k].map(\.bitPattern) == expected[k].map(\.bitPattern),
                        "\(indicator), lengths \(lengths), lane \(l), output \(k)"
                    )
                }
            }
        }
    }

    /// A formula reading every lane indicator (and others, which run lane by lane), all bars reported.
    static let formula = """
        signal s = sma(close, 20) > ema(close, 50) and rsi(close, 14) < 70 and macd_hist(12, 26, 9) > 0 and
          close > bb_lower(20, 2) and atr(14) > 0.5 and adx(14) > 20 and cci(20) > -100 and
          willr(14) > -80 and mfi(14) < 80 and stoch_k(14, 3, 3) > 20 and obv() > obv()[5] and
          wma(close, 10) > close[1]
        signal all = close > 0 or close <= 0
        column e = ema(close, 50)
        column r = rsi(close, 14)
        column m = macd(12, 26, 9)
        column a = atr(14)
        column d = adx(14)
        column o = obv()
        column w = rma(close, 3)
        column e2 = ema(rsi(close, 14), 5)
        """

    static func expectGroupEqualsSingles(_ group: [PriceColumns], ranges: [Range<Int>], _ what: String) throws {
        let plan = try FormulaPlan.compile(source: formula, name: "lanes")
        let grouped = FormulaEvaluator(plan: plan).evaluate(group, reportingIn: ranges)
        let single = FormulaEvaluator(plan: plan)
        #expect(grouped.count == group.count)
        for (i, c) in group.enumerated() {
            let expected = single.evaluate(c, reportingIn: ranges[i])
            for (g, e) in zip(grouped[i].signals, expected.signals) {
                #expect(g.indices == e.indices, "\(what), series \(i)")
                #expect(
                    g.columns.map { $0.map(\.bitPattern) } == e.columns.map { $0.map(\.bitPattern) },
                    "\(what), series \(i)"
                )
            }
        }
    }

    @Test func groupsOfSyntheticSeriesEqualOneAtATime() throws {
        let lengths = [2_500, 120, 61, 1_300, 400, 400, 400, 400, 3, 0, 800, 900, 52]
        var group = lengths.enumerated().map { i, n in Self.series(n, seed: UInt64(100 + i)) }
        // A NaN gap in one lane of the second group: that indicator runs lane by lane there.
        group[5].close[200] = .nan
        group[6].high[10] = .nan
        let ranges = group.enumerated().map { i, c in (i % 3 == 0 ? 0 : c.count / 2)..<c.count }
        try Self.expectGroupEqualsSingles(group, ranges: ranges, "synthetic")
        // Columns of unequal length: the common prefix.
        var uneven = Array(group[0..<4])
        uneven[1].volume.removeLast(7)
        try Self.expectGroupEqualsSingles(uneven, ranges: uneven.map { 0..<$0.count }, "uneven columns")
    }

    /// `../shared/data/daily/bars.csv` (90 real symbols of different lengths), by symbol.
    static func sharedDaily() throws -> [PriceColumns] {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        var file: URL?
        for _ in 0..<6 {
            dir = dir.deletingLastPathComponent()
            let candidate = dir.appendingPathComponent("shared/data/daily/bars.csv")
            if FileManager.default.fileExists(atPath: candidate.path) {
                file = candidate
                break
            }
        }
        let path = try #require(file, "../shared/data/daily/bars.csv not found above \(#filePath)")
        let text = try String(contentsOf: path, encoding: .utf8)
        var bySymbol: [(String, PriceColumns)] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == 7, let o = Double(f[2]), let h = Double(f[3]), let l = Double(f[4]),
                let c = Double(f[5]), let v = Double(f[6])
            else { continue }
            let symbol = String(f[0])
            if bySymbol.last?.0 != symbol {
                bySymbol.append((symbol, PriceColumns(open: [], high: [], low: [], close: [], volume: [])))
            }
            bySymbol[bySymbol.count - 1].1.open.append(o)
            bySymbol[bySymbol.count - 1].1.high.append(h)
            bySymbol[bySymbol.count - 1].1.low.append(l)
            bySymbol[bySymbol.count - 1].1.close.append(c)
            bySymbol[bySymbol.count - 1].1.volume.append(v)
        }
        return bySymbol.map(\.1)
    }

    @Test func groupsOfTheSharedDailyDataEqualOneAtATime() throws {
        let all = try Self.sharedDaily()
        #expect(all.count >= 80)
        #expect(Set(all.map(\.count)).count > 1, "the real symbols have different lengths")
        try Self.expectGroupEqualsSingles(all, ranges: all.map { 0..<$0.count }, "shared daily data")
    }
}
