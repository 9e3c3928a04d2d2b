// The indicators whose outputs can be computed at chosen bars only (`Indicator.run(_:into:at:)`): the
// state carried along time (running sums, in TA-Lib's order) still runs over every bar, what turns it into
// a bar's output (divisions, square roots) runs at the chosen bars; CCI, whose TA-Lib value at a bar
// depends only on that bar's window, runs only at the chosen bars. Values there are the whole kernels'
// bit for bit (ChosenBarsTests). A series with a NaN anywhere runs the whole kernel.

extension Indicators {
    /// Ascending bar indices where an indicator's outputs are needed.
    typealias Bars = UnsafeBufferPointer<Int32>

    /// TA_SMA at the chosen bars: every bar's running total (``smaKernel``'s), divided at the chosen ones.
    static func sma(_ x: In, period: Int, into out: Out, at chosen: Bars?, free: Bool) {
        guard let chosen, period > 1, out.count == x.count, let xs = x.baseAddress, let os = out.baseAddress,
            smaTotals(xs, x.count, period, os)
        else { return sma(x, period: period, into: out) }
        smaFromTotals(os, x.count, period: period, at: chosen)
    }

    /// ``smaKernel``'s running totals (the same additions in the same order) into `out` from bar
    /// `period - 1`, NaN before; false when a NaN was met.
    static func smaTotals(
        _ x: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>
    )
        -> Bool
    {
        guard var total = smaStart(x, n, period, out) else { return true }
        out[period - 1] = total
        var i = period
        while i < n {
            total += x[i] - x[i - period]
            out[i] = total
            i += 1
        }
        return !total.isNaN
    }

    /// TA_WMA at the chosen bars.
    static func wma(_ x: In, period: Int, into out: Out, at chosen: Bars?, free: Bool) {
        guard let chosen, let xs = x.baseAddress, let os = out.baseAddress, out.count == x.count,
            free || firstNaN(xs, from: 0, x.count) == x.count
        else { return wma(x, period: period, into: out) }
        wmaKernel(xs, x.count, period, os, at: chosen)
    }

    /// TA_BBANDS at the chosen bars.
    static func bbands(
        _ x: In,
        period: Int,
        k: Double,
        upper: Out,
        middle: Out,
        lower: Out,
        at chosen: Bars?,
        free: Bool
    ) {
        guard let chosen, let xs = x.baseAddress, let u = upper.baseAddress, let m = middle.baseAddress,
            let l = lower.baseAddress,
            upper.count == x.count, middle.count == x.count, lower.count == x.count,
            free || firstNaN(xs, from: 0, x.count) == x.count
        else { return bbands(x, period: period, k: k, upper: upper, middle: middle, lower: lower) }
        bbandsKernel(xs, x.count, period, k, u, m, l, at: chosen)
    }

    /// TA_WILLR at the chosen bars.
    static func willr(high: In, low: In, close: In, period: Int, into out: Out, at chosen: Bars?, free: Bool) {
        guard let chosen, let (h, l, c, _, o) = noNaN(high, low, close, nil, out, free) else {
            return willr(high: high, low: low, close: close, period: period, into: out)
        }
        willrKernel(h, l, c, close.count, period, o, at: chosen)
    }

    /// TA_MFI at the chosen bars.
    static func mfi(high: In, low: In, close: In, volume: In, period: Int, into out: Out, at chosen: Bars?, free: Bool)
    {
        guard let chosen, let (h, l, c, v, o) = noNaN(high, low, close, volume, out, free), let v else {
            return mfi(high: high, low: low, close: close, volume: volume, period: period, into: out)
        }
        mfiKernel(h, l, c, v, close.count, period, o, at: chosen)
    }

    /// TA_STOCH at the chosen bars: slow %K only (slow %D, an average of slow %K at every bar, is not written).
    static func stoch(
        high: In,
        low: In,
        close: In,
        fastK: Int,
        slowK: Int,
        slowD: Int,
        k: Out,
        d: Out,
        at chosen: Bars?,
        free: Bool
    ) {
        guard let chosen, let (h, l, c, _, o) = noNaN(high, low, close, nil, k, free) else {
            return stoch(high: high, low: low, close: close, fastK: fastK, slowK: slowK, slowD: slowD, k: k, d: d)
        }
        stochKernel(h, l, c, close.count, fastK: fastK, slowK: slowK, slowD: slowD, o, nil, at: chosen)
    }

    /// TA_CCI at the chosen bars: the typical prices of every bar, then each chosen bar's window as
    /// ``cciKernel`` sums it one bar at a time (slot by slot in TA-Lib's ring order), four bars' sums side by
    /// side, and the value from ``cciValue``.
    static func cci(high: In, low: In, close: In, period: Int, into out: Out, at chosen: Bars?, free: Bool) {
        guard let chosen, let (h, l, c, _, o) = noNaN(high, low, close, nil, out, free) else {
            return cci(high: high, low: low, close: close, period: period, into: out)
        }
        let n = close.count
        let lookback = period - 1
        let p = Double(period)
        withUnsafeTemporaryAllocation(of: Double.self, capacity: n) { buffer in
            let typical = buffer.baseAddress!
            typicalPrices(h, l, c, n, typical)
            // Slot j of bar b's ring holds bar b - r + j (j <= r) or b - r + j - period (r = b % period).
            @inline(__always) func slot(_ b: Int, _ r: Int, _ j: Int) -> Double {
                typical[b - r + j - (j > r ? period : 0)]
            }
            let m = chosen.count
            var k = 0
            while k < m, Int(chosen[k]) < lookback {
                o[Int(chosen[k])] = .nan
                k += 1
            }
            while k < m {
                // Up to four bars; a missing one repeats the last.
                let b0 = Int(chosen[k])
                let b1 = Int(chosen[min(k + 1, m - 1)])
                let b2 = Int(chosen[min(k + 2, m - 1)])
                let b3 = Int(chosen[min(k + 3, m - 1)])
                let (r0, r1, r2, r3) = (b0 % period, b1 % period, b2 % period, b3 % period)
                var s0 = 0.0
                var s1 = 0.0
                var s2 = 0.0
                var s3 = 0.0
                for j in 0..<period {
                    s0 += slot(b0, r0, j)
                    s1 += slot(b1, r1, j)
                    s2 += slot(b2, r2, j)
                    s3 += slot(b3, r3, j)
                }
                let (a0, a1, a2, a3) = (s0 / p, s1 / p, s2 / p, s3 / p)
                var d0 = 0.0
                var d1 = 0.0
                var d2 = 0.0
                var d3 = 0.0
                for j in 0..<period {
                    d0 += abs(slot(b0, r0, j) - a0)
                    d1 += abs(slot(b1, r1, j) - a1)
                    d2 += abs(slot(b2, r2, j) - a2)
                    d3 += abs(slot(b3, r3, j) - a3)
                }
                let v01 = cciValue(Pair(typical[b0], typical[b1]), Pair(a0, a1), Pair(d0, d1), p)
                let v23 = cciValue(Pair(typical[b2], typical[b3]), Pair(a2, a3), Pair(d2, d3), p)
                // A repeated bar gets the same value from each of its lanes.
                o[b3] = v23[1]
                o[b2] = v23[0]
                o[b1] = v01[1]
                o[b0] = v01[0]
                k += 4
            }
        }
    }

    /// The columns' base addresses when none of them holds a NaN (and all have `out`'s length), else nil.
    private static func noNaN(
        _ high: In,
        _ low: In,
        _ close: In,
        _ volume: In?,
        _ out: Out,
        _ free: Bool
    ) -> (
        UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>?,
        UnsafeMutablePointer<Double>
    )? {
        let n = close.count
        guard n > 0, high.count == n, low.count == n, out.count == n, (volume?.count ?? n) == n,
            let h = high.baseAddress, let l = low.baseAddress, let c = close.baseAddress, let o = out.baseAddress,
            free || (firstNaN(h, from: 0, n) == n && firstNaN(l, from: 0, n) == n && firstNaN(c, from: 0, n) == n)
        else { return nil }
        let v = volume?.baseAddress
        if !free, let v, firstNaN(v, from: 0, n) != n { return nil }
        return (h, l, c, v, o)
    }
}
