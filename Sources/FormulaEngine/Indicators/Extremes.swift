// Highest / lowest over a sliding window in O(n), and the kernels built on them (TA_MAX, TA_MIN, TA_WILLR,
// TA_STOCH). Only the extreme's value matters, so any exact method gives TA-Lib's results; TA-Lib itself
// rescans the window whenever its extreme leaves it (O(n * period) on a steady trend). `slidingExtreme`
// (van Herk / Gil-Werman) is O(1) per bar without data-dependent branches: 3-4x faster than a monotonic
// deque on real prices, which mispredicts its pops.

extension Indicators {
    /// Calls `body(i, extreme)` for every `i` in `period - 1 ..< n`, with the highest (`maximum`) or lowest
    /// value of `x[i - period + 1 ... i]`. Bars go in blocks of `period`: a window ending in a block is the
    /// suffix of the previous block (extremes kept in a ring of `period` slots) plus the block's prefix so
    /// far (a running extreme), about three comparisons per bar.
    @inline(__always)
    static func slidingExtreme(
        _ x: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        maximum: Bool,
        _ body: (Int, Double) -> Void
    ) {
        @inline(__always) func pick(_ a: Double, _ b: Double) -> Double {
            maximum ? (a > b ? a : b) : (a < b ? a : b)
        }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: period) { buffer in
            let suffix = buffer.baseAddress!
            var blockStart = 0
            while blockStart < n {
                let blockEnd = min(blockStart + period, n)
                if blockStart > 0 {
                    // suffix[j] = extreme of x[previousStart + j ..< blockStart]
                    let previousStart = blockStart - period
                    var m = x[blockStart - 1]
                    suffix[period - 1] = m
                    var j = period - 2
                    while j >= 0 {
                        m = pick(x[previousStart + j], m)
                        suffix[j] = m
                        j -= 1
                    }
                }
                var prefix = x[blockStart]
                var i = blockStart
                let last = blockStart + period - 1  // the window ending here is this block alone
                while i < blockEnd {
                    prefix = pick(prefix, x[i])
                    if i == last {
                        body(i, prefix)
                    } else if blockStart > 0 {
                        body(i, pick(suffix[i + 1 - blockStart], prefix))
                    }
                    i += 1
                }
                blockStart = blockEnd
            }
        }
    }

    /// The highest (`maximum`) or lowest value of `x[i - period + 1 ... i]` (no NaN), scanned oldest to newest.
    /// Among values that compare equal (+0 and -0) it keeps the newest, as ``slidingExtreme`` does: there the
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
            slidingExtreme(high, n, period, maximum: true) { i, v in out[i] = v }
            slidingExtreme(low, n, period, maximum: false) { i, v in lowest[i] = v }
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
            slidingExtreme(high, n, fastK, maximum: true) { i, v in fast[i] = v }
            slidingExtreme(low, n, fastK, maximum: false) { i, v in kOut[i] = v }
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
