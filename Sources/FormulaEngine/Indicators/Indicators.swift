/// TA-Lib-exact indicator kernels over contiguous `Double` buffers.
///
/// Every kernel writes `output.count == input.count` values: NaN where TA-Lib has no value (its
/// warm-up, TA-Lib's lookback) and otherwise TA-Lib's value with TA-Lib's seeding. A NaN inside a
/// single source splits it into NaN-free runs, each computed as TA-Lib would compute that run alone
/// (so `sma(rsi(close, 14), 5)` is TA-Lib's SMA over the defined part of the RSI).
/// Kernels never allocate per bar; scratch space, where needed, is passed in or reused by the caller.
///
/// (Stub signatures: the FormulaEngine issue fills in the bodies; the signatures are the contract.
///  Periods are already validated as >= 1 (>= 2 where TA-Lib requires it) by the checker.)
public enum Indicators {
    public typealias In = UnsafeBufferPointer<Double>
    public typealias Out = UnsafeMutableBufferPointer<Double>

    static func unimplemented(_ outputs: Out...) { for o in outputs { o.update(repeating: .nan) } }

    /// TA_SMA
    public static func sma(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_EMA (seeded with the SMA of the first `period` values, k = 2 / (period + 1))
    public static func ema(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_WMA
    public static func wma(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// Wilder's moving average (RMA): seeded with the SMA of the first `period` values, alpha = 1 / period.
    public static func rma(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_RSI
    public static func rsi(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_STDDEV with nbDev = 1 (population standard deviation)
    public static func stddev(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_MAX (highest value of the last `period` bars, current included)
    public static func highest(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_MIN
    public static func lowest(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_SUM
    public static func sum(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_ROC: ((x / x[period]) - 1) * 100
    public static func roc(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_MOM: x - x[period]
    public static func change(_ x: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_MACD (outputs macd, signal, histogram)
    public static func macd(
        _ x: In, fast: Int, slow: Int, signal: Int, macd: Out, signalLine: Out, histogram: Out
    ) { unimplemented(macd, signalLine, histogram) }
    /// TA_BBANDS with SMA and nbDevUp = nbDevDn = k
    public static func bbands(_ x: In, period: Int, k: Double, upper: Out, middle: Out, lower: Out) {
        unimplemented(upper, middle, lower)
    }
    /// TA_ATR
    public static func atr(high: In, low: In, close: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_ADX
    public static func adx(high: In, low: In, close: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_CCI
    public static func cci(high: In, low: In, close: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_WILLR
    public static func willr(high: In, low: In, close: In, period: Int, into out: Out) { unimplemented(out) }
    /// TA_MFI
    public static func mfi(high: In, low: In, close: In, volume: In, period: Int, into out: Out) {
        unimplemented(out)
    }
    /// TA_OBV
    public static func obv(close: In, volume: In, into out: Out) { unimplemented(out) }
    /// TA_STOCH with SMA smoothing for slow %K and %D (outputs slowK, slowD)
    public static func stoch(
        high: In, low: In, close: In, fastK: Int, slowK: Int, slowD: Int, k: Out, d: Out
    ) { unimplemented(k, d) }
}
