import Testing

@testable import FormulaEngine

/// Kernels that evaluate several bars in SIMD lanes perform, per lane, exactly the scalar operations
/// of TA-Lib's order: their output equals the plain one-bar-at-a-time algorithm bit for bit, on
/// synthetic series (every length round the lane width and the block size) and on the real daily bars
/// of `../shared/data`.
@Suite struct LaneKernelTests {
    /// TA-Lib's CCI loop as written in C (`ta_CCI.c`): a ring of typical prices summed slot by slot.
    static func ringCCI(_ high: [Double], _ low: [Double], _ close: [Double], period: Int) -> [Double] {
        let n = close.count
        var out = [Double](repeating: .nan, count: n)
        guard n > period - 1 else { return out }
        var ring = [Double](repeating: 0, count: period)
        var slot = 0
        for i in 0..<(period - 1) {
            ring[slot] = (high[i] + low[i] + close[i]) / 3
            slot = (slot + 1) % period
        }
        for i in (period - 1)..<n {
            let last = (high[i] + low[i] + close[i]) / 3
            ring[slot] = last
            var average = 0.0
            for j in 0..<period { average += ring[j] }
            average /= Double(period)
            var deviation = 0.0
            for j in 0..<period { deviation += abs(ring[j] - average) }
            let fromMean = last - average
            out[i] =
                !Indicators.isZero(fromMean) && !Indicators.isZero(deviation)
                ? fromMean / (0.015 * (deviation / Double(period))) : 0
            slot = (slot + 1) % period
        }
        return out
    }

    /// TA-Lib's MFI loop (`ta_MFI.c`, 0.6+: scaled epsilon, a window without flow resets the sums): a ring
    /// of positive and negative flows, the running sums updated bar by bar.
    static func ringMFI(
        _ high: [Double],
        _ low: [Double],
        _ close: [Double],
        _ volume: [Double],
        period: Int
    ) -> [Double] {
        let n = close.count
        var out = [Double](repeating: .nan, count: n)
        guard n > period else { return out }
        var positive = [Double](repeating: 0, count: period)
        var negative = [Double](repeating: 0, count: period)
        var slot = 0
        var positiveSum = 0.0
        var negativeSum = 0.0
        var prev = (high[0] + low[0] + close[0]) / 3.0
        var nullRun = 0
        for i in 1..<n {
            if i > period {
                positiveSum -= positive[slot]
                negativeSum -= negative[slot]
            }
            var typical = (high[i] + low[i] + close[i]) / 3.0
            let change = typical - prev
            let scale = abs(typical) + abs(prev)
            prev = typical
            typical *= volume[i]
            let flow = abs(change) <= Indicators.epsilon * scale ? 0.0 : typical
            positive[slot] = change < 0.0 ? 0.0 : flow
            negative[slot] = change < 0.0 ? flow : 0.0
            positiveSum += positive[slot]
            negativeSum += negative[slot]
            nullRun = flow == 0.0 ? nullRun + 1 : 0
            if nullRun >= period {
                nullRun = period
                positiveSum = 0.0
                negativeSum = 0.0
            }
            slot = (slot + 1) % period
            if i >= period {
                let total = positiveSum + negativeSum
                let clamped = positiveSum < 0.0 ? 0.0 : (positiveSum > total ? total : positiveSum)
                out[i] = total <= 0.0 ? 0.0 : 100.0 * (clamped / total)
            }
        }
        return out
    }

    static func mfi(_ high: [Double], _ low: [Double], _ close: [Double], _ volume: [Double], period: Int) -> [Double] {
        var out = [Double](repeating: 0, count: close.count)
        high.withUnsafeBufferPointer { h in
            low.withUnsafeBufferPointer { l in
                close.withUnsafeBufferPointer { c in
                    volume.withUnsafeBufferPointer { v in
                        out.withUnsafeMutableBufferPointer { o in
                            Indicators.mfi(high: h, low: l, close: c, volume: v, period: period, into: o)
                        }
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 14, 20])
    func mfiEqualsTheRingLoopBitForBit(_ period: Int) {
        for n in Self.lengths(period) {
            for flat in [false, true] {
                let bars = Self.bars(n, seed: UInt64(3 + period), flat: flat)
                // Volume 0 on some bars: no flow there either.
                let volume = (0..<n).map { (i: Int) -> Double in
                    i % 17 == 5 ? 0 : Double(1_000 + (i * 7_919) % 5_003) * 1.5
                }
                let got = Self.mfi(bars.high, bars.low, bars.close, volume, period: period)
                let expected = Self.ringMFI(bars.high, bars.low, bars.close, volume, period: period)
                #expect(
                    got.map(\.bitPattern) == expected.map(\.bitPattern),
                    "period \(period), \(n) bars, flat \(flat)"
                )
            }
        }
    }

    @Test func mfiEqualsTheRingLoopOnTheSharedDailyData() throws {
        for c in try LaneEvaluationTests.sharedDaily() {
            for period in [5, 14] {
                let got = Self.mfi(c.high, c.low, c.close, c.volume, period: period)
                let expected = Self.ringMFI(c.high, c.low, c.close, c.volume, period: period)
                #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "period \(period), \(c.count) bars")
            }
        }
    }

    /// Bar counts round a period: empty, shorter than the warm-up, and every remainder of the blocks.
    static func lengths(_ period: Int) -> [Int] {
        [0, 1, period - 1, period, 400, 2_500] + (1...17).map { period + $0 } + (1...9).map { 2 * period + 3 * $0 }
    }

    /// A random walk with fractional highs and lows; `flat`: with flat stretches (zero ranges, changes
    /// and deviations) every 30 bars.
    static func bars(_ n: Int, seed: UInt64, flat: Bool) -> (high: [Double], low: [Double], close: [Double]) {
        let close = walk(n, seed: seed).enumerated().map { i, v in flat && (i / 10) % 3 == 1 ? 4_321.5 : v }
        let high = close.enumerated().map { i, c in flat && (i / 10) % 3 == 1 ? c : c * 1.013 }
        let low = close.enumerated().map { i, c in flat && (i / 10) % 3 == 1 ? c : c * 0.987 }
        return (high, low, close)
    }

    /// `kernel` over the high, low and close of `bars`.
    static func run(
        _ bars: (high: [Double], low: [Double], close: [Double]),
        _ kernel: (Indicators.In, Indicators.In, Indicators.In, Indicators.Out) -> Void
    ) -> [Double] {
        var out = [Double](repeating: 0, count: bars.close.count)
        bars.high.withUnsafeBufferPointer { h in
            bars.low.withUnsafeBufferPointer { l in
                bars.close.withUnsafeBufferPointer { c in
                    out.withUnsafeMutableBufferPointer { o in kernel(h, l, c, o) }
                }
            }
        }
        return out
    }

    @Test func cciEqualsTheRingLoopOnTheSharedDailyData() throws {
        let all = try LaneEvaluationTests.sharedDaily()
        #expect(all.count >= 80)
        for period in [8, 20] {
            for c in all {
                let got = Self.run((c.high, c.low, c.close)) { h, l, c, o in
                    Indicators.cci(high: h, low: l, close: c, period: period, into: o)
                }
                let expected = Self.ringCCI(c.high, c.low, c.close, period: period)
                #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "period \(period), \(c.count) bars")
            }
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 7, 8, 9, 14, 15, 16, 20, 33])
    func cciEqualsTheRingLoopBitForBit(_ period: Int) {
        for n in Self.lengths(period) where n >= 0 {
            for flat in [false, true] {
                let bars = Self.bars(n, seed: UInt64(7 + period), flat: flat)
                let out = Self.run(bars) { h, l, c, o in
                    Indicators.cci(high: h, low: l, close: c, period: period, into: o)
                }
                let expected = Self.ringCCI(bars.high, bars.low, bars.close, period: period)
                #expect(
                    out.map(\.bitPattern) == expected.map(\.bitPattern),
                    "period \(period), \(n) bars, flat \(flat)"
                )
            }
        }
    }
}

/// The kernels that compute two bars per SIMD register (divisions, square roots and selects in pairs)
/// against the one-bar-at-a-time loops they replaced, bit for bit.
@Suite struct PairKernelTests {
    /// The running SMA of `x[start...]` in TA-Lib's order (add the newest, average, take the oldest away).
    static func ringAverage(_ x: [Double], from start: Int, period: Int) -> [Double] {
        var out = [Double](repeating: .nan, count: x.count)
        var total = 0.0
        for i in start..<x.count {
            total += x[i]
            if i >= start + period - 1 {
                out[i] = total / Double(period)
                total -= x[i - period + 1]
            }
        }
        return out
    }

    /// The extreme of `x[i - period + 1 ... i]`, scanned.
    static func extreme(_ x: [Double], _ i: Int, _ period: Int, maximum: Bool) -> Double {
        var m = x[i]
        for j in (i - period + 1)..<i { m = maximum ? Swift.max(m, x[j]) : Swift.min(m, x[j]) }
        return m
    }

    static func sma(_ x: [Double], period: Int) -> [Double] {
        var out = [Double](repeating: .nan, count: x.count)
        guard x.count >= period else { return out }
        if period == 1 { return x }
        var total = 0.0
        for i in 0..<period { total += x[i] }
        out[period - 1] = total / Double(period)
        for i in period..<x.count {
            total += x[i] - x[i - period]
            out[i] = total / Double(period)
        }
        return out
    }

    static func wma(_ x: [Double], period: Int) -> [Double] {
        var out = [Double](repeating: .nan, count: x.count)
        guard x.count >= period else { return out }
        let divider = Double((period * (period + 1)) >> 1)
        var weighted = 0.0
        var plain = 0.0
        for i in 0..<(period - 1) {
            plain += x[i]
            weighted += x[i] * Double(i + 1)
        }
        var trailingValue = 0.0
        for i in (period - 1)..<x.count {
            plain += x[i]
            plain -= trailingValue
            weighted += x[i] * Double(period)
            trailingValue = x[i - period + 1]
            out[i] = weighted / divider
            weighted -= plain
        }
        return out
    }

    static func bbands(_ x: [Double], period: Int, k: Double) -> [[Double]] {
        let n = x.count
        var upper = [Double](repeating: .nan, count: n)
        var middle = upper
        var lower = upper
        guard n >= period else { return [upper, middle, lower] }
        let p = Double(period)
        var total = 0.0
        var total2 = 0.0
        for i in 0..<(period - 1) {
            total += x[i]
            total2 += x[i] * x[i]
        }
        total += x[period - 1]
        for i in (period - 1)..<n {
            if i > period - 1 { total += x[i] - x[i - period] }
            let sma = period == 1 ? x[i] : total / p
            total2 += x[i] * x[i]
            var variance = total2 / p
            total2 -= x[i - period + 1] * x[i - period + 1]
            variance -= sma * sma
            let sd = Indicators.isZeroOrNegative(variance) ? 0 : variance.squareRoot()
            middle[i] = sma
            upper[i] = k == 1 ? sma + sd : sma + sd * k
            lower[i] = k == 1 ? sma - sd : sma - sd * k
        }
        return [upper, middle, lower]
    }

    static func willr(_ h: [Double], _ l: [Double], _ c: [Double], period: Int) -> [Double] {
        var out = [Double](repeating: .nan, count: c.count)
        guard c.count >= period else { return out }
        for i in (period - 1)..<c.count {
            let highest = extreme(h, i, period, maximum: true)
            let diff = (highest - extreme(l, i, period, maximum: false)) / (0 - 100.0)
            out[i] = diff != 0 ? (highest - c[i]) / diff : 0
        }
        return out
    }

    static func stoch(
        _ h: [Double],
        _ l: [Double],
        _ c: [Double],
        _ fastK: Int,
        _ slowK: Int,
        _ slowD: Int
    )
        -> [[Double]]
    {
        let n = c.count
        let lookback = (fastK - 1) + (slowK - 1) + (slowD - 1)
        let none = [Double](repeating: .nan, count: n)
        guard n > lookback else { return [none, none] }
        var fast = none
        for i in (fastK - 1)..<n {
            let lowest = extreme(l, i, fastK, maximum: false)
            let diff = (extreme(h, i, fastK, maximum: true) - lowest) / 100.0
            fast[i] = diff != 0 ? (c[i] - lowest) / diff : 0
        }
        var k = ringAverage(fast, from: fastK - 1, period: slowK)
        var d = ringAverage(k, from: fastK - 1 + slowK - 1, period: slowD)
        for i in 0..<lookback {
            k[i] = .nan
            d[i] = .nan
        }
        return [k, d]
    }

    /// Every pair kernel over `bars` (with `volume`), ours and the reference, by name.
    static func outputs(
        _ bars: (high: [Double], low: [Double], close: [Double]),
        period: Int
    )
        -> [(String, [Double], [Double])]
    {
        let (h, l, c) = bars
        let n = c.count
        func one(_ kernel: (Indicators.In, Indicators.Out) -> Void) -> [Double] {
            var out = [Double](repeating: 0, count: n)
            c.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { kernel(x, $0) } }
            return out
        }
        func many(_ count: Int, _ kernel: ([Indicators.Out]) -> Void) -> [[Double]] {
            let buffers = (0..<count).map { _ in Indicators.Out.allocate(capacity: n) }
            defer { for b in buffers { b.deallocate() } }
            for b in buffers { b.initialize(repeating: 0) }
            kernel(buffers)
            return buffers.map(Array.init)
        }
        var result: [(String, [Double], [Double])] = [
            ("sma", one { Indicators.sma($0, period: period, into: $1) }, sma(c, period: period)),
            ("wma", one { Indicators.wma($0, period: period, into: $1) }, wma(c, period: period)),
            (
                "willr",
                LaneKernelTests.run(bars) { Indicators.willr(high: $0, low: $1, close: $2, period: period, into: $3) },
                willr(h, l, c, period: period)
            ),
        ]
        for k in [1.0, 2.0] {
            let got = many(3) { o in
                c.withUnsafeBufferPointer {
                    Indicators.bbands($0, period: period, k: k, upper: o[0], middle: o[1], lower: o[2])
                }
            }
            for (j, expected) in bbands(c, period: period, k: k).enumerated() {
                result.append(("bbands k \(k) output \(j)", got[j], expected))
            }
        }
        for (slowK, slowD) in [(3, 3), (1, 1), (1, 4), (5, 2)] {
            let got = many(2) { o in
                h.withUnsafeBufferPointer { hb in
                    l.withUnsafeBufferPointer { lb in
                        c.withUnsafeBufferPointer { cb in
                            Indicators.stoch(
                                high: hb,
                                low: lb,
                                close: cb,
                                fastK: period,
                                slowK: slowK,
                                slowD: slowD,
                                k: o[0],
                                d: o[1]
                            )
                        }
                    }
                }
            }
            for (j, expected) in stoch(h, l, c, period, slowK, slowD).enumerated() {
                result.append(("stoch \(slowK) \(slowD) output \(j)", got[j], expected))
            }
        }
        return result
    }

    @Test(arguments: [1, 2, 3, 14])
    func pairKernelsEqualTheOneBarLoopsBitForBit(_ period: Int) {
        for n in LaneKernelTests.lengths(period) {
            for flat in [false, true] {
                let bars = LaneKernelTests.bars(n, seed: UInt64(11 + period), flat: flat)
                for (name, got, expected) in Self.outputs(bars, period: period) {
                    #expect(
                        got.map(\.bitPattern) == expected.map(\.bitPattern),
                        "\(name), period \(period), \(n) bars, flat \(flat)"
                    )
                }
            }
        }
    }

    @Test func pairKernelsEqualTheOneBarLoopsOnTheSharedDailyData() throws {
        for c in try LaneEvaluationTests.sharedDaily() {
            for (name, got, expected) in Self.outputs((c.high, c.low, c.close), period: 14) {
                #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "\(name), \(c.count) bars")
            }
        }
    }
}
