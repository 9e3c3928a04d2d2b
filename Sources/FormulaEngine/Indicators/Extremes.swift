// Highest / lowest over a sliding window in O(n), and the kernels built on them (TA_MAX, TA_MIN, TA_WILLR,
// TA_STOCH). Only the extreme's value matters, so any exact method gives TA-Lib's results; TA-Lib itself
// rescans the window whenever its extreme leaves it (O(n * period) on a steady trend). `slidingExtreme`
// (van Herk / Gil-Werman) is O(1) per bar without data-dependent branches: 3-4x faster than a monotonic
// deque on real prices, which mispredicts its pops.

extension Indicators {
    /// Calls `body(i, extreme)` for every `i` in `period - 1 ..< n`, with the highest (`maximum`) or lowest
    /// value of `x[i - period + 1 ... i]` (``slidingHighLow`` over `x` twice).
    @inline(__always)
    static func slidingExtreme(
        _ x: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        maximum: Bool,
        _ body: (Int, Double) -> Void
    ) {
        slidingHighLow(x, x, n, period) { i, highest, lowest in body(i, maximum ? highest : lowest) }
    }

    /// Calls `body(i, highest, lowest)` for every `i` in `period - 1 ..< n`, with the highest value of
    /// `high[i - period + 1 ... i]` and the lowest of `low[…]`, both in one pass (two independent chains of
    /// comparisons side by side). Bars go in blocks of `period`: a window ending in a block is the suffix of
    /// the previous block (extremes kept in a ring of `period` slots) plus the block's prefix so far (a
    /// running extreme), about three comparisons per bar and series. Among equal values (+0 and -0) the
    /// newest wins: the prefix, and the suffix accumulated from the right, keep the later one of a tie.
    @inline(__always)
    static func slidingHighLow(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ body: (Int, Double, Double) -> Void
    ) {
        @inline(__always) func most(_ a: Double, _ b: Double) -> Double { a > b ? a : b }
        @inline(__always) func least(_ a: Double, _ b: Double) -> Double { a < b ? a : b }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * period) { buffer in
            let highSuffix = buffer.baseAddress!
            let lowSuffix = highSuffix + period
            var blockStart = 0
            while blockStart < n {
                let blockEnd = min(blockStart + period, n)
                if blockStart > 0 {
                    // suffix[j] = extreme of x[previousStart + j ..< blockStart]
                    let previousStart = blockStart - period
                    var h = high[blockStart - 1]
                    var l = low[blockStart - 1]
                    highSuffix[period - 1] = h
                    lowSuffix[period - 1] = l
                    var j = period - 2
                    while j >= 0 {
                        h = most(high[previousStart + j], h)
                        l = least(low[previousStart + j], l)
                        highSuffix[j] = h
                        lowSuffix[j] = l
                        j -= 1
                    }
                }
                var highPrefix = high[blockStart]
                var lowPrefix = low[blockStart]
                var i = blockStart
                let last = blockStart + period - 1  // the window ending here is this block alone
                while i < blockEnd {
                    highPrefix = most(highPrefix, high[i])
                    lowPrefix = least(lowPrefix, low[i])
                    if i == last {
                        body(i, highPrefix, lowPrefix)
                    } else if blockStart > 0 {
                        let k = i + 1 - blockStart
                        body(i, most(highSuffix[k], highPrefix), least(lowSuffix[k], lowPrefix))
                    }
                    i += 1
                }
                blockStart = blockEnd
            }
        }
    }

    /// The highest (`maximum`) or lowest value of `x[i - period + 1 ... i]` (no NaN), scanned oldest to newest.
    /// Among values that compare equal (+0 and -0) it keeps the newest, as ``slidingHighLow`` does: there the
    /// later part of a window (the running prefix, the suffix accumulated from the right) wins every tie.
    @inline(__always)
    static func windowExtreme(_ x: UnsafePointer<Double>, _ i: Int, _ period: Int, maximum: Bool) -> Double {
        var best = x[i - period + 1]
        var j = i - period + 2
        while j <= i {
            let v = x[j]
            best = maximum ? (best > v ? best : v) : (best < v ? best : v)
            j += 1
        }
        return best
    }

    /// TA_MAX / TA_MIN over one run.
    static func extremeKernel(
        _ x: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>,
        maximum: Bool
    ) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        if maximum {
            slidingExtreme(x, n, period, maximum: true) { i, v in out[i] = v }
        } else {
            slidingExtreme(x, n, period, maximum: false) { i, v in out[i] = v }
        }
    }

    /// TA_WILLR over one run of bars: `(highest - close) / ((highest - lowest) / -100)`, 0 on a zero range.
    /// The highest highs go to `out` and the lowest lows to a scratch buffer, then the values are computed
    /// two bars at a time.
    static func willrKernel(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>,
        at chosen: Bars? = nil
    ) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        @inline(__always) func value(_ highest: Pair, _ lowest: Pair, _ close: Pair) -> Pair {
            let diff = (highest - lowest) / Pair(repeating: 0 - 100.0)
            return ((highest - close) / diff).replacing(with: 0, where: diff .== Pair(repeating: 0))
        }
        if let chosen {
            // Only the chosen bars' windows, scanned (two bars at a time) instead of sliding over every bar.
            return eachPair(at: chosen, from: lookback) { i, j in
                let v = value(
                    Pair(windowExtreme(high, i, period, maximum: true), windowExtreme(high, j, period, maximum: true)),
                    Pair(windowExtreme(low, i, period, maximum: false), windowExtreme(low, j, period, maximum: false)),
                    Pair(close[i], close[j])
                )
                out[i] = v[0]
                out[j] = v[1]
            }
        }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: n) { buffer in
            let lowest = buffer.baseAddress!
            slidingHighLow(high, low, n, period) { i, highest, low in
                out[i] = highest
                lowest[i] = low
            }
            eachPair(from: lookback, n, out, lowest, close, into: out, at: chosen, value)
        }
    }

    /// TA_STOCH with SMA smoothing over one run of bars. Fast %K = `(close - lowest) / ((highest - lowest)
    /// / 100)` (0 on a zero range); slow %K = SMA(fast %K, slowK); slow %D = SMA(slow %K, slowD). Both
    /// outputs start at `(fastK - 1) + (slowK - 1) + (slowD - 1)`. The highest highs go to a scratch buffer
    /// and the lowest lows to `kOut`, fast %K is computed from them two bars at a time, then the two SMAs
    /// run over whole arrays (``movingAverage``).
    static func stochKernel(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ n: Int,
        fastK: Int,
        slowK: Int,
        slowD: Int,
        _ kOut: UnsafeMutablePointer<Double>,
        _ dOut: UnsafeMutablePointer<Double>?,
        at chosen: Bars? = nil
    ) {
        let lookbackK = fastK - 1
        let lookback = lookbackK + (slowK - 1) + (slowD - 1)
        guard n > lookback else {
            fillNaN(kOut, 0..<n)
            if let dOut { fillNaN(dOut, 0..<n) }
            return
        }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: n) { buffer in
            let fast = buffer.baseAddress!
            slidingHighLow(high, low, n, fastK) { i, highest, lowest in
                fast[i] = highest
                kOut[i] = lowest
            }
            eachPair(from: lookbackK, n, fast, kOut, close, into: fast) { highest, lowest, close in
                let diff = (highest - lowest) / Pair(repeating: 100)
                return ((close - lowest) / diff).replacing(with: 0, where: diff .== Pair(repeating: 0))
            }
            movingAverage(fast, from: lookbackK, n, slowK, into: kOut, at: chosen)
            if let dOut { movingAverage(kOut, from: lookbackK + slowK - 1, n, slowD, into: dOut) }
        }
        fillNaN(kOut, 0..<lookback)
        if let dOut { fillNaN(dOut, 0..<lookback) }
    }

    /// The SMA of `x[start ..< n]` over `period` values, into `out[start + period - 1 ..< n]`, in TA-Lib's
    /// order of operations (the newest value is added to the running total before the oldest is taken
    /// away). `n >= start + period`.
    @inline(__always)
    static func movingAverage(
        _ x: UnsafePointer<Double>,
        from start: Int,
        _ n: Int,
        _ period: Int,
        into out: UnsafeMutablePointer<Double>,
        at chosen: Bars? = nil
    ) {
        var total = 0.0
        var i = start
        while i < start + period - 1 {
            total += x[i]
            i += 1
        }
        @inline(__always) func step(_ i: Int) -> Double {
            total += x[i]
            let sum = total
            total -= x[i - period + 1]
            return sum
        }
        // Two bars' totals divided with one `divpd`.
        let divisor = Pair(repeating: Double(period))
        if let chosen {
            // Every bar's total, then the chosen bars' averages.
            while i < n {
                out[i] = step(i)
                i += 1
            }
            let first = start + period - 1
            return eachPair(from: first, n, out, out, out, into: out, at: chosen) { total, _, _ in total / divisor }
        }
        while i + 2 <= n {
            let first = step(i)
            storePair(Pair(first, step(i + 1)) / divisor, out, i)
            i += 2
        }
        if i < n { out[i] = step(i) / Double(period) }
    }
}
