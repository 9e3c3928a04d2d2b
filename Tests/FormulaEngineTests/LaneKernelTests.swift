import Testing

@testable import FormulaEngine

/// Kernels that evaluate several bars in SIMD lanes perform, per lane, exactly the scalar operations
/// of TA-Lib's order: their output equals the plain one-bar-at-a-time algorithm bit for bit.
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

    @Test(arguments: [1, 2, 3, 4, 5, 7, 14, 20, 33])
    func cciEqualsTheRingLoopBitForBit(_ period: Int) {
        for n in [0, 1, period, period + 2, period + 3, period + 4, period + 9, 400] {
            let close = walk(n, seed: UInt64(7 + period))
            let high = close.map { $0 * 1.013 }
            let low = close.map { $0 * 0.987 }
            var out = [Double](repeating: 0, count: n)
            high.withUnsafeBufferPointer { h in
                low.withUnsafeBufferPointer { l in
                    close.withUnsafeBufferPointer { c in
                        out.withUnsafeMutableBufferPointer { o in
                            Indicators.cci(high: h, low: l, close: c, period: period, into: o)
                        }
                    }
                }
            }
            let expected = Self.ringCCI(high, low, close, period: period)
            #expect(out.map(\.bitPattern) == expected.map(\.bitPattern), "period \(period), \(n) bars")
        }
    }
}
