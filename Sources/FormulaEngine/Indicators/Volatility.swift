// Volatility kernels over one NaN-free run, in TA-Lib's order of operations.

extension Indicators {
    /// TA_STDDEV with nbDev 1 over one run: population variance from running sums of x and x²
    /// (`mean(x²) - mean(x)²`, TA_VAR), its square root, 0 where the variance is below TA-Lib's epsilon.
    /// The sums are taken over `x - x[0]` (the variance does not move with a shift): TA-Lib 0.8 agrees
    /// with this far more often than with unshifted sums, and the cancellation in `mean(x²) - mean(x)²`
    /// shrinks from the price's magnitude to the run's drift.
    static func stddevKernel(_ x: UnsafePointer<Double>, _ n: Int, _ period: Int, _ out: UnsafeMutablePointer<Double>) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        let p = Double(period)
        let shift = x[0]
        var total1 = 0.0
        var total2 = 0.0
        for i in 0..<lookback {
            let v = x[i] - shift
            total1 += v
            total2 += v * v
        }
        var i = lookback
        while i < n {
            let v = x[i] - shift
            total1 += v
            total2 += v * v
            let mean1 = total1 / p
            let mean2 = total2 / p
            let old = x[i - lookback] - shift
            total1 -= old
            total2 -= old * old
            let variance = mean2 - mean1 * mean1
            out[i] = isZeroOrNegative(variance) ? 0 : variance.squareRoot()
            i += 1
        }
    }

    /// TA_BBANDS with an SMA middle band over one run: the middle band is `smaKernel`'s SMA, the standard
    /// deviation reuses it (`mean(x²) - sma²`, as TA-Lib does for the SMA type), bands = middle ± k · stddev.
    ///
    /// In two passes: the running sums of x and x² (the loop-carried chains; each bar's sums go to
    /// `middle` and `upper`), then the bands two bars at a time (divisions and square roots in pairs).
    static func bbandsKernel(
        _ x: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ k: Double,
        _ upper: UnsafeMutablePointer<Double>,
        _ middle: UnsafeMutablePointer<Double>,
        _ lower: UnsafeMutablePointer<Double>,
        at chosen: Bars? = nil
    ) {
        let lookback = period - 1
        guard n > lookback else {
            fillNaN(upper, 0..<n)
            fillNaN(middle, 0..<n)
            fillNaN(lower, 0..<n)
            return
        }
        fillNaN(upper, 0..<lookback)
        fillNaN(middle, 0..<lookback)
        fillNaN(lower, 0..<lookback)
        var total = 0.0
        var total2 = 0.0
        for i in 0..<lookback {
            let v = x[i]
            total += v
            total2 += v * v
        }
        total += x[lookback]
        var i = lookback
        while i < n {
            let v = x[i]
            let old = x[i - lookback]
            if i > lookback { total += v - x[i - period] }  // as `smaKernel`, so the middle band equals sma()
            total2 += v * v
            middle[i] = total
            upper[i] = total2
            total2 -= old * old
            i += 1
        }
        let p = Pair(repeating: Double(period))
        let width = Pair(repeating: k)
        // Two bars' bands from their sums and values.
        @inline(__always) func bands(_ sum: Pair, _ sum2: Pair, _ v: Pair) -> (upper: Pair, middle: Pair, lower: Pair) {
            let sma = period == 1 ? v : sum / p
            let variance = sum2 / p - sma * sma
            // 0 below TA-Lib's epsilon (the root of 0): no lane takes the root of a negative number, which
            // the compiled code sends through a libm call.
            let root = variance.replacing(with: 0, where: variance .< Pair(repeating: epsilon))
            let sd = Pair(root[0].squareRoot(), root[1].squareRoot())
            if k == 1.0 { return (sma + sd, sma, sma - sd) }
            let w = sd * width
            return (sma + w, sma, sma - w)
        }
        if let chosen {
            // Only the chosen bars' bands, two bars at a time.
            eachPair(at: chosen, from: lookback) { i, j in
                let b = bands(Pair(middle[i], middle[j]), Pair(upper[i], upper[j]), Pair(x[i], x[j]))
                (upper[i], upper[j]) = (b.upper[0], b.upper[1])
                (middle[i], middle[j]) = (b.middle[0], b.middle[1])
                (lower[i], lower[j]) = (b.lower[0], b.lower[1])
            }
            return
        }
        i = lookback
        while i + 2 <= n {
            let b = bands(loadPair(middle, i), loadPair(upper, i), loadPair(x, i))
            storePair(b.upper, upper, i)
            storePair(b.middle, middle, i)
            storePair(b.lower, lower, i)
            i += 2
        }
        if i < n {
            let b = bands(Pair(repeating: middle[i]), Pair(repeating: upper[i]), Pair(repeating: x[i]))
            upper[i] = b.upper[0]
            middle[i] = b.middle[0]
            lower[i] = b.lower[0]
        }
    }

    /// True range of bar `i` against the previous close: the greatest of `h - l`, `|c[-1] - h|`,
    /// `|c[-1] - l|`.
    @inline(__always)
    static func trueRange(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ i: Int
    ) -> Double {
        let h = high[i]
        let l = low[i]
        let c = close[i - 1]
        var greatest = h - l
        let up = abs(c - h)
        if up > greatest { greatest = up }
        let down = abs(c - l)
        if down > greatest { greatest = down }
        return greatest
    }

    /// TA_ATR over one run of bars: true range (from bar 1), seeded with the mean of the first `period`
    /// values at bar `period`, then Wilder-smoothed. Period 1 is the plain true range (TA_TRANGE).
    static func atrKernel(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>
    ) {
        let lookback = period
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        if period == 1 {
            for i in 1..<n { out[i] = trueRange(high, low, close, i) }
            return
        }
        let p = Double(period)
        let p1 = Double(period - 1)
        var total = 0.0
        for i in 1...period { total += trueRange(high, low, close, i) }
        var atr = total / p
        out[period] = atr
        var i = period + 1
        while i < n {
            atr *= p1
            atr += trueRange(high, low, close, i)
            atr /= p
            out[i] = atr
            i += 1
        }
    }
}
