// Moving averages and running sums over one NaN-free run: `x[0..<n]` in, `out[0..<n]` written (NaN during
// the lookback). The arithmetic follows TA-Lib's order of operations so results agree to the last bits,
// except the SMA/SUM running total (see `smaKernel`).

extension Indicators {
    /// TA_SMA over one run: TA-Lib's seeding and warm-up, a running total divided by `period`. The total
    /// moves by `x[i] - x[i - period]` (one addition on the loop-carried chain instead of TA-Lib's
    /// add-then-subtract, which halves the time per bar): identical to TA-Lib for integer prices (exact
    /// sums), within an ulp or so of it otherwise. The division stays a division: `total * (1 / period)`
    /// would make the SMA of a flat price differ from that price in about 7% of cases.
    /// Returns false when it met a NaN (the running total then stays NaN to the end), so the caller can run
    /// it again over NaN-free runs: the common NaN-free column costs a single pass.
    @discardableResult
    static func smaKernel(
        _ x: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>
    )
        -> Bool
    {
        if period == 1 {
            out.update(from: x, count: n)
            return true
        }
        guard var total = smaStart(x, n, period, out) else { return true }
        let p = Double(period)
        out[period - 1] = total / p
        var i = period
        #if MARKETSCAN_HOST_SIMD
        // Built for the host CPU (scripts/build-release.sh): blocks of running totals, each divided in
        // place while still in L1, so the exact divisions leave the add chain and run as wide vector
        // divisions (AVX-512: ≈ 10 % faster F1). On the generic x86-64 target the scalar loop wins.
        while i < n {
            let end = min(n, i + 512)
            var j = i
            while j < end {
                total += x[j] - x[j - period]
                out[j] = total
                j += 1
            }
            j = i
            while j < end {
                out[j] = out[j] / p
                j += 1
            }
            i = end
        }
        #else
        // The generic x86-64 target: two bars' totals divided with one `divpd` (the divider's throughput,
        // not the add chain, bounds the loop).
        let divisor = Pair(repeating: p)
        while i + 2 <= n {
            total += x[i] - x[i - period]
            let first = total
            total += x[i + 1] - x[i + 1 - period]
            storePair(Pair(first, total) / divisor, out, i)
            i += 2
        }
        if i < n {
            total += x[i] - x[i - period]
            out[i] = total / p
        }
        #endif
        return !total.isNaN
    }

    /// The SMA's warm-up: NaN before bar `period - 1` and the total of the first `period` values, or nil
    /// (every bar NaN) when the series is shorter.
    @inline(__always)
    static func smaStart(
        _ x: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>
    )
        -> Double?
    {
        let lookback = period - 1
        guard n > lookback else {
            fillNaN(out, 0..<n)
            return nil
        }
        fillNaN(out, 0..<lookback)
        var total = 0.0
        for i in 0...lookback { total += x[i] }
        return total
    }

    /// TA_SUM over one run (the SMA's running total, not scaled).
    static func sumKernel(_ x: UnsafePointer<Double>, _ n: Int, _ period: Int, _ out: UnsafeMutablePointer<Double>) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        var total = 0.0
        for i in 0...lookback { total += x[i] }
        out[lookback] = total
        var i = period
        while i < n {
            total += x[i] - x[i - period]
            out[i] = total
            i += 1
        }
    }

    /// TA_EMA (default compatibility) over one run: seeded with the SMA of the first `period` values,
    /// then `ema = (x - ema) * k + ema` with `k = 2 / (period + 1)`.
    static func emaKernel(_ x: UnsafePointer<Double>, _ n: Int, _ period: Int, _ out: UnsafeMutablePointer<Double>) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        let k = 2.0 / Double(period + 1)
        var total = 0.0
        for i in 0..<period { total += x[i] }
        var prev = total / Double(period)
        out[lookback] = prev
        var i = period
        while i < n {
            prev = (x[i] - prev) * k + prev
            out[i] = prev
            i += 1
        }
    }

    /// Wilder's moving average (RMA) over one run: seeded with the SMA of the first `period` values, then
    /// `rma = (rma * (period - 1) + x) / period` — the smoothing TA-Lib applies inside ATR, RSI and ADX.
    static func rmaKernel(_ x: UnsafePointer<Double>, _ n: Int, _ period: Int, _ out: UnsafeMutablePointer<Double>) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        let p = Double(period)
        let p1 = Double(period - 1)
        var total = 0.0
        for i in 0..<period { total += x[i] }
        var prev = total / p
        out[lookback] = prev
        var i = period
        while i < n {
            prev *= p1
            prev += x[i]
            prev /= p
            out[i] = prev
            i += 1
        }
    }

    /// TA_WMA over one run: weights 1...period (newest heaviest) kept as a running weighted sum and a running
    /// plain sum, so each bar costs O(1).
    static func wmaKernel(
        _ x: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>,
        at chosen: Bars? = nil
    ) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        let divider = Double((period * (period + 1)) >> 1)
        let p = Double(period)
        var weightedSum = 0.0
        var plainSum = 0.0
        for i in 0..<lookback {
            let v = x[i]
            plainSum += v
            weightedSum += v * Double(i + 1)
        }
        var trailingValue = 0.0
        var trailing = 0
        // Bar i's weighted sum (before the window moves on).
        @inline(__always) func step(_ i: Int) -> Double {
            let v = x[i]
            plainSum += v
            plainSum -= trailingValue
            weightedSum += v * p
            trailingValue = x[trailing]
            trailing += 1
            let sum = weightedSum
            weightedSum -= plainSum
            return sum
        }
        // Two bars' sums divided with one `divpd`.
        let divisors = Pair(repeating: divider)
        var i = lookback
        if let chosen {
            // Every bar's sum, then the chosen bars' averages.
            while i < n {
                out[i] = step(i)
                i += 1
            }
            return eachPair(from: lookback, n, out, out, out, into: out, at: chosen) { sum, _, _ in sum / divisors }
        }
        while i + 2 <= n {
            let first = step(i)
            storePair(Pair(first, step(i + 1)) / divisors, out, i)
            i += 2
        }
        if i < n { out[i] = step(i) / divider }
    }

    /// TA_MACD (default compatibility) over one run. The fast and slow EMAs are seeded with SMAs whose
    /// windows end on the same bar (the slow seed's); the MACD line starts there and the signal EMA is
    /// seeded with the SMA of the first `signal` MACD values. All three outputs start at
    /// `(slow - 1) + (signal - 1)`.
    static func macdKernel(
        _ x: UnsafePointer<Double>,
        _ n: Int,
        fast fastIn: Int,
        slow slowIn: Int,
        signal: Int,
        _ macdOut: UnsafeMutablePointer<Double>,
        _ signalOut: UnsafeMutablePointer<Double>,
        _ histOut: UnsafeMutablePointer<Double>
    ) {
        let fast = min(fastIn, slowIn)
        let slow = max(fastIn, slowIn)
        let lookback = (slow - 1) + (signal - 1)
        guard n > lookback else {
            fillNaN(macdOut, 0..<n)
            fillNaN(signalOut, 0..<n)
            fillNaN(histOut, 0..<n)
            return
        }
        fillNaN(macdOut, 0..<lookback)
        fillNaN(signalOut, 0..<lookback)
        fillNaN(histOut, 0..<lookback)
        let fastK = 2.0 / Double(fast + 1)
        let slowK = 2.0 / Double(slow + 1)
        let signalK = 2.0 / Double(signal + 1)

        var today = 0
        var slowTotal = 0.0
        for _ in 0..<(slow - fast) {
            slowTotal += x[today]
            today += 1
        }
        var fastTotal = 0.0
        for _ in 0..<fast {
            fastTotal += x[today]
            slowTotal += x[today]
            today += 1
        }
        var prevSlow = slowTotal / Double(slow)
        var prevFast = fastTotal / Double(fast)
        var macd = prevFast - prevSlow
        var signalTotal = macd
        for _ in 0..<(signal - 1) {
            let v = x[today]
            today += 1
            prevFast = (v - prevFast) * fastK + prevFast
            prevSlow = (v - prevSlow) * slowK + prevSlow
            macd = prevFast - prevSlow
            signalTotal += macd
        }
        var prevSignal = signalTotal / Double(signal)
        macdOut[lookback] = macd
        signalOut[lookback] = prevSignal
        histOut[lookback] = macd - prevSignal
        while today < n {
            let v = x[today]
            prevFast = (v - prevFast) * fastK + prevFast
            prevSlow = (v - prevSlow) * slowK + prevSlow
            macd = prevFast - prevSlow
            prevSignal = (macd - prevSignal) * signalK + prevSignal
            macdOut[today] = macd
            signalOut[today] = prevSignal
            histOut[today] = macd - prevSignal
            today += 1
        }
    }
}
