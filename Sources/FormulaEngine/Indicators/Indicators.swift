/// TA-Lib-exact indicator kernels over contiguous `Double` buffers.
///
/// Every kernel writes `output.count == input.count` values: NaN where TA-Lib has no value (its
/// warm-up, TA-Lib's lookback) and otherwise TA-Lib's value with TA-Lib's seeding. A NaN inside a
/// single source splits it into NaN-free runs, each computed as TA-Lib would compute that run alone
/// (so `sma(rsi(close, 14), 5)` is TA-Lib's SMA over the defined part of the RSI).
/// Kernels never allocate per bar; scratch space, where needed, is passed in or reused by the caller.
///
/// Periods are validated as >= 1 by the checker before any kernel runs.
///
/// The multi-column kernels (ATR, ADX, CCI, WILLR, MFI, OBV, STOCH) expect raw price columns; a bar
/// where any of their inputs is NaN splits them into runs the same way. Matching TA-Lib (its C library
/// 0.6+/0.8, default compatibility, no unstable period) is checked value by value against fixtures
/// from `scripts/gen_talib_fixtures.py`. The kernels' bodies live in `MovingAverages.swift`,
/// `Oscillators.swift`, `Volatility.swift` and `Extremes.swift`; scratch rings of `period` slots come
/// from `withUnsafeTemporaryAllocation` (on the stack for ordinary periods).
public enum Indicators {
    public typealias In = UnsafeBufferPointer<Double>
    public typealias Out = UnsafeMutableBufferPointer<Double>

    /// TA_SMA
    public static func sma(_ x: In, period: Int, into out: Out) {
        // Optimistic single pass (no separate NaN scan); on a NaN, again run by run.
        if period > 1, out.count == x.count, let xs = x.baseAddress, let os = out.baseAddress,
            smaKernel(xs, x.count, period, os)
        {
            return
        }
        eachRun(x, out) { x, o, n in smaKernel(x, n, period, o) }
    }
    /// TA_EMA (seeded with the SMA of the first `period` values, k = 2 / (period + 1))
    public static func ema(_ x: In, period: Int, into out: Out) {
        eachRun(x, out) { x, o, n in emaKernel(x, n, period, o) }
    }
    /// TA_WMA
    public static func wma(_ x: In, period: Int, into out: Out) {
        eachRun(x, out) { x, o, n in wmaKernel(x, n, period, o) }
    }
    /// Wilder's moving average (RMA): seeded with the SMA of the first `period` values, alpha = 1 / period.
    public static func rma(_ x: In, period: Int, into out: Out) {
        eachRun(x, out) { x, o, n in rmaKernel(x, n, period, o) }
    }
    /// TA_RSI
    public static func rsi(_ x: In, period: Int, into out: Out) {
        eachRun(x, out) { x, o, n in rsiKernel(x, n, period, o) }
    }
    /// TA_STDDEV with nbDev = 1 (population standard deviation)
    public static func stddev(_ x: In, period: Int, into out: Out) {
        eachRun(x, out) { x, o, n in stddevKernel(x, n, period, o) }
    }
    /// TA_MAX (highest value of the last `period` bars, current included)
    public static func highest(_ x: In, period: Int, into out: Out) {
        eachRun(x, out) { x, o, n in extremeKernel(x, n, period, o, maximum: true) }
    }
    /// TA_MIN
    public static func lowest(_ x: In, period: Int, into out: Out) {
        eachRun(x, out) { x, o, n in extremeKernel(x, n, period, o, maximum: false) }
    }
    /// TA_SUM
    public static func sum(_ x: In, period: Int, into out: Out) {
        eachRun(x, out) { x, o, n in sumKernel(x, n, period, o) }
    }
    /// TA_ROC: ((x / x[period]) - 1) * 100
    public static func roc(_ x: In, period: Int, into out: Out) {
        eachRun(x, out) { x, o, n in rocKernel(x, n, period, o) }
    }
    /// TA_MOM: x - x[period]
    public static func change(_ x: In, period: Int, into out: Out) {
        eachRun(x, out) { x, o, n in momKernel(x, n, period, o) }
    }
    /// TA_MACD (outputs macd, signal, histogram)
    public static func macd(
        _ x: In,
        fast: Int,
        slow: Int,
        signal: Int,
        macd: Out,
        signalLine: Out,
        histogram: Out
    ) {
        precondition(signalLine.count == x.count && histogram.count == x.count)
        guard let s = signalLine.baseAddress, let h = histogram.baseAddress, let m = macd.baseAddress else { return }
        eachRun(x, macd) { x, o, n in
            let offset = o - m
            if n == 0 { return }
            macdKernel(x, n, fast: fast, slow: slow, signal: signal, o, s + offset, h + offset)
        }
        for i in 0..<x.count where x[i].isNaN {
            s[i] = .nan
            h[i] = .nan
        }
    }
    /// TA_BBANDS with SMA and nbDevUp = nbDevDn = k
    public static func bbands(_ x: In, period: Int, k: Double, upper: Out, middle: Out, lower: Out) {
        precondition(upper.count == x.count && lower.count == x.count)
        guard let u = upper.baseAddress, let l = lower.baseAddress, let m = middle.baseAddress else { return }
        eachRun(x, middle) { x, o, n in
            let offset = o - m
            bbandsKernel(x, n, period, k, u + offset, o, l + offset)
        }
        for i in 0..<x.count where x[i].isNaN {
            u[i] = .nan
            l[i] = .nan
        }
    }
    /// TA_ATR
    public static func atr(high: In, low: In, close: In, period: Int, into out: Out) {
        priceRuns(high, low, close, nil, out, nil) { h, l, c, _, o, _, n in atrKernel(h, l, c, n, period, o) }
    }
    /// TA_ADX
    public static func adx(high: In, low: In, close: In, period: Int, into out: Out) {
        priceRuns(high, low, close, nil, out, nil) { h, l, c, _, o, _, n in adxKernel(h, l, c, n, period, o) }
    }
    /// TA_CCI
    public static func cci(high: In, low: In, close: In, period: Int, into out: Out) {
        priceRuns(high, low, close, nil, out, nil) { h, l, c, _, o, _, n in cciKernel(h, l, c, n, period, o) }
    }
    /// TA_WILLR
    public static func willr(high: In, low: In, close: In, period: Int, into out: Out) {
        priceRuns(high, low, close, nil, out, nil) { h, l, c, _, o, _, n in willrKernel(h, l, c, n, period, o) }
    }
    /// TA_MFI
    public static func mfi(high: In, low: In, close: In, volume: In, period: Int, into out: Out) {
        priceRuns(high, low, close, volume, out, nil) { h, l, c, v, o, _, n in
            mfiKernel(h, l, c, v!, n, period, o)
        }
    }
    /// TA_OBV
    public static func obv(close: In, volume: In, into out: Out) {
        priceRuns(close, close, close, volume, out, nil) { _, _, c, v, o, _, n in obvKernel(c, v!, n, o) }
    }
    /// TA_STOCH with SMA smoothing for slow %K and %D (outputs slowK, slowD)
    public static func stoch(
        high: In,
        low: In,
        close: In,
        fastK: Int,
        slowK: Int,
        slowD: Int,
        k: Out,
        d: Out
    ) {
        priceRuns(high, low, close, nil, k, d) { h, l, c, _, k, d, n in
            stochKernel(h, l, c, n, fastK: fastK, slowK: slowK, slowD: slowD, k, d!)
        }
    }

    /// Runs `body(high, low, close, volume, out, out2, count)` over each maximal run of bars where no input
    /// column is NaN (outputs get NaN on the other bars). All buffers must have the same length.
    @inline(__always)
    static func priceRuns(
        _ high: In,
        _ low: In,
        _ close: In,
        _ volume: In?,
        _ out: Out,
        _ out2: Out?,
        _ body: (
            UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>?,
            UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>?, Int
        ) -> Void
    ) {
        let n = close.count
        precondition(
            high.count == n && low.count == n && out.count == n && (volume?.count ?? n) == n
                && (out2?.count ?? n) == n,
            "an indicator's inputs and outputs must have the same length"
        )
        guard n > 0, let h = high.baseAddress, let l = low.baseAddress, let c = close.baseAddress,
            let o = out.baseAddress
        else { return }
        let v = volume?.baseAddress
        let o2 = out2?.baseAddress
        // The usual case, no NaN in any input: one run, found by the blocked scan instead of testing
        // every column bar by bar.
        if firstNaN(h, from: 0, n) == n, firstNaN(l, from: 0, n) == n, firstNaN(c, from: 0, n) == n,
            v.map({ firstNaN($0, from: 0, n) == n }) ?? true
        {
            return body(h, l, c, v, o, o2, n)
        }
        eachValidRun(
            count: n,
            valid: { i in !(h[i].isNaN || l[i].isNaN || c[i].isNaN || (v?[i].isNaN ?? false)) },
            invalid: { i in
                o[i] = .nan
                o2?[i] = .nan
            },
            { start, count in
                body(h + start, l + start, c + start, v.map { $0 + start }, o + start, o2.map { $0 + start }, count)
            }
        )
    }
}
