// Highest / lowest over a sliding window in O(n) with a monotonic deque of indices, and the kernels built
// on them (TA_MAX, TA_MIN, TA_WILLR, TA_STOCH). Only the extreme's value matters, so the deque gives
// TA-Lib's results exactly while bounding the work per bar (TA-Lib rescans the window when its extreme
// leaves it, O(n * period) on a steady trend).

/// A double-ended queue of bar indices in a caller-provided ring of `capacity` slots (the window length),
/// holding the candidates for the window's extreme in order: front = the current extreme.
struct MonotonicWindow {
    let ring: UnsafeMutablePointer<Int>
    let capacity: Int
    var head = 0
    var count = 0

    init(ring: UnsafeMutablePointer<Int>, capacity: Int) {
        self.ring = ring
        self.capacity = capacity
    }

    /// Adds bar `i` (value `x[i]`) and drops bars older than `i - capacity + 1`. With `keepsMaximum` the
    /// front is the window's highest value, otherwise its lowest.
    @inline(__always)
    mutating func push(_ i: Int, _ x: UnsafePointer<Double>, keepsMaximum: Bool) {
        if count > 0, ring[head] <= i - capacity {
            head += 1
            if head == capacity { head = 0 }
            count -= 1
        }
        let v = x[i]
        while count > 0 {
            var back = head + count - 1
            if back >= capacity { back -= capacity }
            let b = x[ring[back]]
            if keepsMaximum ? (b <= v) : (b >= v) { count -= 1 } else { break }
        }
        var slot = head + count
        if slot >= capacity { slot -= capacity }
        ring[slot] = i
        count += 1
    }

    /// Index of the window's extreme (after at least one push).
    @inline(__always)
    var front: Int { ring[head] }
}

extension Indicators {
    /// TA_MAX / TA_MIN over one run.
    static func extremeKernel(
        _ x: UnsafePointer<Double>, _ n: Int, _ period: Int, _ out: UnsafeMutablePointer<Double>,
        maximum: Bool
    ) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        if period == 1 {
            out.update(from: x, count: n)
            return
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: period) { ring in
            var window = MonotonicWindow(ring: ring.baseAddress!, capacity: period)
            for i in 0..<lookback { window.push(i, x, keepsMaximum: maximum) }
            var i = lookback
            while i < n {
                window.push(i, x, keepsMaximum: maximum)
                out[i] = x[window.front]
                i += 1
            }
        }
    }

    /// TA_WILLR over one run of bars: `(highest - close) / ((highest - lowest) / -100)`, 0 on a zero range.
    static func willrKernel(
        _ high: UnsafePointer<Double>, _ low: UnsafePointer<Double>, _ close: UnsafePointer<Double>,
        _ n: Int, _ period: Int, _ out: UnsafeMutablePointer<Double>
    ) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * period) { ring in
            var highs = MonotonicWindow(ring: ring.baseAddress!, capacity: period)
            var lows = MonotonicWindow(ring: ring.baseAddress! + period, capacity: period)
            for i in 0..<lookback {
                highs.push(i, high, keepsMaximum: true)
                lows.push(i, low, keepsMaximum: false)
            }
            var i = lookback
            while i < n {
                highs.push(i, high, keepsMaximum: true)
                lows.push(i, low, keepsMaximum: false)
                let highest = high[highs.front]
                let lowest = low[lows.front]
                let diff = (highest - lowest) / (0 - 100.0)
                out[i] = diff != 0 ? (highest - close[i]) / diff : 0
                i += 1
            }
        }
    }

    /// TA_STOCH with SMA smoothing over one run of bars. Fast %K = `(close - lowest) / ((highest - lowest)
    /// / 100)` (0 on a zero range); slow %K = SMA(fast %K, slowK); slow %D = SMA(slow %K, slowD). Both
    /// outputs start at `(fastK - 1) + (slowK - 1) + (slowD - 1)`. The two SMAs run on small rings, so
    /// no buffer of the series' length is needed.
    static func stochKernel(
        _ high: UnsafePointer<Double>, _ low: UnsafePointer<Double>, _ close: UnsafePointer<Double>,
        _ n: Int, fastK: Int, slowK: Int, slowD: Int,
        _ kOut: UnsafeMutablePointer<Double>, _ dOut: UnsafeMutablePointer<Double>
    ) {
        let lookbackK = fastK - 1
        let lookback = lookbackK + (slowK - 1) + (slowD - 1)
        guard n > lookback else {
            fillNaN(kOut, 0..<n)
            fillNaN(dOut, 0..<n)
            return
        }
        fillNaN(kOut, 0..<lookback)
        fillNaN(dOut, 0..<lookback)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * fastK) { ring in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: slowK + slowD) { smaRing in
                var highs = MonotonicWindow(ring: ring.baseAddress!, capacity: fastK)
                var lows = MonotonicWindow(ring: ring.baseAddress! + fastK, capacity: fastK)
                var slowKAverage = RingAverage(ring: smaRing.baseAddress!, period: slowK)
                var slowDAverage = RingAverage(ring: smaRing.baseAddress! + slowK, period: slowD)
                for i in 0..<n {
                    highs.push(i, high, keepsMaximum: true)
                    lows.push(i, low, keepsMaximum: false)
                    if i < lookbackK { continue }
                    let highest = high[highs.front]
                    let lowest = low[lows.front]
                    let diff = (highest - lowest) / 100.0
                    let fast = diff != 0 ? (close[i] - lowest) / diff : 0
                    guard let k = slowKAverage.push(fast), let d = slowDAverage.push(k) else { continue }
                    kOut[i] = k
                    dOut[i] = d
                }
            }
        }
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
