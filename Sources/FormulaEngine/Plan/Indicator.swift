/// A TA-Lib indicator with its parameters: what one graph node computes and one plan operation runs.
///
/// Everything the engine knows about an indicator sits in this type's exhaustive switches — the
/// columns it reads, its outputs, TA-Lib's lookback, the unstable period added to it and the kernel
/// it runs — so a new case does not compile until each of them is given. The formula functions that
/// build an indicator are rows of ``Builtin/definition``.
enum Indicator: Hashable, Sendable {
    case sma(Int)
    case ema(Int)
    case wma(Int)
    case rma(Int)
    case rsi(Int)
    case stdev(Int)
    case highest(Int)
    case lowest(Int)
    case sum(Int)
    case roc(Int)
    case change(Int)
    case macd(fast: Int, slow: Int, signal: Int)
    /// `k` by bit pattern, so the node hashes and compares exactly.
    case bbands(period: Int, k: UInt64)
    case atr(Int)
    case adx(Int)
    case cci(Int)
    case willr(Int)
    case mfi(Int)
    case obv
    case stoch(k: Int, slowK: Int, slowD: Int)

    /// A column an indicator reads: the formula's source argument or a price column.
    enum Input: Sendable, Hashable {
        case source
        case price(PriceField)
    }

    private static let highLowClose: [Input] = [.price(.high), .price(.low), .price(.close)]

    /// The columns the kernel reads, in the order ``run(_:into:)`` takes them.
    var inputs: [Input] {
        switch self {
        case .sma, .ema, .wma, .rma, .rsi, .stdev, .highest, .lowest, .sum, .roc, .change, .macd, .bbands:
            [.source]
        case .atr, .adx, .cci, .willr, .stoch: Self.highLowClose
        case .mfi: Self.highLowClose + [.price(.volume)]
        case .obv: [.price(.close), .price(.volume)]
        }
    }

    /// Whether the formula passes the series the indicator reads (else it reads price columns).
    var readsSource: Bool { inputs.contains(.source) }

    /// How many series the kernel writes (named by ``MACDLine``, ``BollingerBand``, ``StochasticLine``).
    var outputCount: Int {
        switch self {
        case .macd: MACDLine.allCases.count
        case .bbands: BollingerBand.allCases.count
        case .stoch: StochasticLine.allCases.count
        case .sma, .ema, .wma, .rma, .rsi, .stdev, .highest, .lowest, .sum, .roc, .change, .atr, .adx, .cci,
            .willr, .mfi, .obv:
            1
        }
    }

    /// TA-Lib's lookback (`TA_XXX_Lookback` with default settings): bars before its first value.
    var talibLookback: Int {
        switch self {
        case .sma(let p), .wma(let p), .stdev(let p), .highest(let p), .lowest(let p), .sum(let p), .cci(let p),
            .willr(let p), .ema(let p), .rma(let p):
            p - 1
        case .roc(let p), .change(let p), .rsi(let p), .atr(let p), .mfi(let p): p
        case .adx(let p): 2 * p - 1
        case .macd(let fast, let slow, let signal): max(fast, slow) - 1 + signal - 1
        case .bbands(let p, _): p - 1
        case .obv: 0
        case .stoch(let k, let slowK, let slowD): k - 1 + slowK - 1 + slowD - 1
        }
    }

    /// Bars added to the warm-up so a recursive indicator's seed no longer matters (TA-Lib's unstable
    /// period practice): 4 × period for EMA and MACD's EMAs (the seed's weight falls below 0.04 %),
    /// 10 × period for Wilder smoothing (`rma rsi atr adx`, below 0.005 %); `obv` accumulates over the
    /// whole history given and adds nothing.
    var unstablePeriod: Int {
        switch self {
        case .ema(let p): 4 * p
        case .rma(let p), .rsi(let p), .atr(let p), .adx(let p): 10 * p
        case .macd(let fast, let slow, let signal): 4 * max(fast, slow) + 4 * signal
        case .sma, .wma, .stdev, .highest, .lowest, .sum, .roc, .change, .bbands, .cci, .willr, .mfi, .obv, .stoch:
            0
        }
    }

    /// The warm-up this indicator adds to its inputs': TA-Lib's lookback plus the unstable period.
    var lookback: Int { talibLookback + unstablePeriod }

    /// Runs the kernel: `x` in the order of ``inputs``, `y` one buffer per output, all of one length.
    ///
    /// With `chosen` bars (ascending; only for indicators that ``runsAtChosenBars(outputs:)``) the outputs are
    /// needed only there: the values there are the whole kernel's bit for bit; elsewhere the outputs hold
    /// intermediate state (running sums) or nothing written (stoch's %D is not computed at all). The state
    /// that depends on earlier bars (running sums in TA-Lib's order) still runs over every bar; what a bar's
    /// output costs beyond it (divisions, square roots, CCI's whole window) runs only at the chosen bars.
    /// Series with a NaN run the whole kernel; `free` says the inputs are known to have none.
    func run(_ x: [Indicators.In], into y: [Indicators.Out], at chosen: Indicators.Bars? = nil, free: Bool = false) {
        switch self {
        case .sma(let p): Indicators.sma(x[0], period: p, into: y[0], at: chosen, free: free)
        case .ema(let p): Indicators.ema(x[0], period: p, into: y[0])
        case .wma(let p): Indicators.wma(x[0], period: p, into: y[0], at: chosen, free: free)
        case .rma(let p): Indicators.rma(x[0], period: p, into: y[0])
        case .rsi(let p): Indicators.rsi(x[0], period: p, into: y[0])
        case .stdev(let p): Indicators.stddev(x[0], period: p, into: y[0])
        case .highest(let p): Indicators.highest(x[0], period: p, into: y[0])
        case .lowest(let p): Indicators.lowest(x[0], period: p, into: y[0])
        case .sum(let p): Indicators.sum(x[0], period: p, into: y[0])
        case .roc(let p): Indicators.roc(x[0], period: p, into: y[0])
        case .change(let p): Indicators.change(x[0], period: p, into: y[0])
        case .macd(let fast, let slow, let signal):
            Indicators.macd(
                x[0],
                fast: fast,
                slow: slow,
                signal: signal,
                macd: y[MACDLine.macd.rawValue],
                signalLine: y[MACDLine.signal.rawValue],
                histogram: y[MACDLine.histogram.rawValue]
            )
        case .bbands(let p, let k):
            Indicators.bbands(
                x[0],
                period: p,
                k: Double(bitPattern: k),
                upper: y[BollingerBand.upper.rawValue],
                middle: y[BollingerBand.middle.rawValue],
                lower: y[BollingerBand.lower.rawValue],
                at: chosen,
                free: free
            )
        case .atr(let p): Indicators.atr(high: x[0], low: x[1], close: x[2], period: p, into: y[0])
        case .adx(let p): Indicators.adx(high: x[0], low: x[1], close: x[2], period: p, into: y[0])
        case .cci(let p):
            Indicators.cci(high: x[0], low: x[1], close: x[2], period: p, into: y[0], at: chosen, free: free)
        case .willr(let p):
            Indicators.willr(high: x[0], low: x[1], close: x[2], period: p, into: y[0], at: chosen, free: free)
        case .mfi(let p):
            Indicators.mfi(
                high: x[0],
                low: x[1],
                close: x[2],
                volume: x[3],
                period: p,
                into: y[0],
                at: chosen,
                free: free
            )
        case .obv: Indicators.obv(close: x[0], volume: x[1], into: y[0])
        case .stoch(let k, let slowK, let slowD):
            Indicators.stoch(
                high: x[0],
                low: x[1],
                close: x[2],
                fastK: k,
                slowK: slowK,
                slowD: slowD,
                k: y[StochasticLine.k.rawValue],
                d: y[StochasticLine.d.rawValue],
                at: chosen,
                free: free
            )
        }
    }
}

extension Indicator {
    /// The shortest series the four-lane kernel of ``runLanes(_:into:lengths:)`` takes, or nil when this
    /// indicator has none (it then runs lane by lane with ``run(_:into:)``). Lane kernels exist for the
    /// recursive indicators, whose time goes to chains of dependent operations along each series.
    var laneMinimumLength: Int? {
        switch self {
        case .ema(let p), .rma(let p): p
        case .rsi(let p), .atr(let p): p >= 2 ? p + 1 : nil
        case .adx(let p): 2 * p
        case .macd: talibLookback + 1
        case .obv: 1
        case .sma, .wma, .stdev, .highest, .lowest, .sum, .roc, .change, .bbands, .cci, .willr, .mfi, .stoch: nil
        }
    }

    /// Runs the four-lane kernel: `x` in the order of ``inputs``, `y` one output per output series, every
    /// lane NaN-free, at least ``laneMinimumLength`` long, and every output buffer as long as the longest lane.
    /// Each lane's values equal ``run(_:into:)``'s on that lane alone, bit for bit.
    func runLanes(_ x: [LaneColumn], into y: [LaneOutput], lengths: LaneLengths) {
        switch self {
        case .ema(let p): Indicators.emaLanes(x[0], lengths, p, y[0])
        case .rma(let p): Indicators.rmaLanes(x[0], lengths, p, y[0])
        case .rsi(let p): Indicators.rsiLanes(x[0], lengths, p, y[0])
        case .atr(let p): Indicators.atrLanes(x[0], x[1], x[2], lengths, p, y[0])
        case .adx(let p): Indicators.adxLanes(x[0], x[1], x[2], lengths, p, y[0])
        case .obv: Indicators.obvLanes(x[0], x[1], lengths, y[0])
        case .macd(let fast, let slow, let signal):
            Indicators.macdLanes(
                x[0],
                lengths,
                fast: fast,
                slow: slow,
                signal: signal,
                y[MACDLine.macd.rawValue],
                y[MACDLine.signal.rawValue],
                y[MACDLine.histogram.rawValue]
            )
        case .sma, .wma, .stdev, .highest, .lowest, .sum, .roc, .change, .bbands, .cci, .willr, .mfi, .stoch:
            preconditionFailure("\(self) has no lane kernel (laneMinimumLength is nil)")
        }
    }
}

extension Indicator {
    /// Roughly the work (nanoseconds on the development VM) saved per bar where the outputs are not
    /// needed when the kernel computes them at chosen bars only (``run(_:into:at:)``); 0 for the
    /// indicators that compute every bar (the recursive ones: their state at a bar needs every earlier one).
    /// Orders a conjunction's clauses: those that save least run first, over every bar.
    var chosenBarsSaving: Int {
        switch self {
        // Their running sums are chains of dependent additions that take longer than the divisions beside
        // them: dividing at chosen bars only saves nothing measurable, and choosing the bars costs.
        case .sma, .wma: 0
        // Stoch at chosen bars saves its %D line (and %K's division), which the formulas seldom read.
        case .stoch: 1
        case .willr: 3
        case .mfi: 4
        case .bbands: 6
        case .cci: 10
        case .ema, .rma, .rsi, .stdev, .highest, .lowest, .sum, .roc, .change, .macd, .atr, .adx, .obv: 0
        }
    }

    /// Whether ``run(_:into:at:)`` computes this indicator at chosen bars when only `outputs` (indices of
    /// its output series) are read: stoch's %D is an average of %K at every bar, so it must not be among them.
    func runsAtChosenBars(outputs: Set<Int>) -> Bool {
        switch self {
        case .stoch: !outputs.contains(StochasticLine.d.rawValue)
        case .sma, .wma, .bbands, .cci, .willr, .mfi: chosenBarsSaving > 0
        case .ema, .rma, .rsi, .stdev, .highest, .lowest, .sum, .roc, .change, .macd, .atr, .adx, .obv: false
        }
    }

}

/// The outputs of ``Indicator/macd(fast:slow:signal:)``.
enum MACDLine: Int, CaseIterable, Sendable {
    case macd, signal, histogram
}

/// The outputs of ``Indicator/bbands(period:k:)``.
enum BollingerBand: Int, CaseIterable, Sendable {
    case upper, middle, lower
}

/// The outputs of ``Indicator/stoch(k:slowK:slowD:)`` (slow %K and slow %D).
enum StochasticLine: Int, CaseIterable, Sendable {
    case k, d
}
