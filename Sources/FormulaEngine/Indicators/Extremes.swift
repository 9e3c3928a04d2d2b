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
    /// The highest highs go to `out` first, then the lowest lows complete each value.
    static func willrKernel(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>
    ) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        slidingExtreme(high, n, period, maximum: true) { i, v in out[i] = v }
        slidingExtreme(low, n, period, maximum: false) { i, lowest in
            let highest = out[i]
            let diff = (highest - lowest) / (0 - 100.0)
            out[i] = diff != 0 ? (highest - close[i]) / diff : 0
        }
    }

    /// TA_STOCH with SMA smoothing over one run of bars. Fast %K = `(close - lowest) / ((highest - lowest)
    /// / 100)` (0 on a zero range); slow %K = SMA(fast %K, slowK); slow %D = SMA(slow %K, slowD). Both
    /// outputs start at `(fastK - 1) + (slowK - 1) + (slowD - 1)`. Fast %K is built in `kOut` (highest
    /// highs, then completed with the lowest lows); the two SMAs run on small rings.
    static func stochKernel(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ n: Int,
        fastK: Int,
        slowK: Int,
        slowD: Int,
        _ kOut: UnsafeMutablePointer<Double>,
        _ dOut: UnsafeMutablePointer<Double>
    ) {
        let lookbackK = fastK - 1
        let lookback = lookbackK + (slowK - 1) + (slowD - 1)
        guard n > lookback else {
            fillNaN(kOut, 0..<n)
            fillNaN(dOut, 0..<n)
            return
        }
        slidingExtreme(high, n, fastK, maximum: true) { i, v in kOut[i] = v }
        slidingExtreme(low, n, fastK, maximum: false) { i, lowest in
            let highest = kOut[i]
            let diff = (highest - lowest) / 100.0
            kOut[i] = diff != 0 ? (close[i] - lowest) / diff : 0
        }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: slowK + slowD) { smaRing in
            var slowKAverage = RingAverage(ring: smaRing.baseAddress!, period: slowK)
            var slowDAverage = RingAverage(ring: smaRing.baseAddress! + slowK, period: slowD)
            for i in lookbackK..<n {
                let fast = kOut[i]
                kOut[i] = .nan
                guard let k = slowKAverage.push(fast), let d = slowDAverage.push(k) else {
                    dOut[i] = .nan
                    continue
                }
                kOut[i] = k
                dOut[i] = d
            }
        }
        fillNaN(kOut, 0..<lookbackK)
        fillNaN(dOut, 0..<lookbackK)
    }
}

/// A streaming simple moving average over a caller-provided ring of `period` slots, in TA-Lib's order of
/// operations (the newest value is added to the running total before the oldest is taken away).
struct RingAverage {
    let ring: UnsafeMutablePointer<Double>
    let period: Int
    let divisor: Double
    var total = 0.0
    var slot = 0
    var seen = 0

    init(ring: UnsafeMutablePointer<Double>, period: Int) {
        self.ring = ring
        self.period = period
        self.divisor = Double(period)
    }

    /// Adds a value; returns the average of the last `period` values once there are that many.
    @inline(__always)
    mutating func push(_ v: Double) -> Double? {
        ring[slot] = v
        total += v
        slot += 1
        if slot == period { slot = 0 }  // now the oldest value of the window
        if seen < period - 1 {
            seen += 1
            return nil
        }
        let average = total / divisor
        total -= ring[slot]
        return average
    }
}
