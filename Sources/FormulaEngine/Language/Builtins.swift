/// The built-in functions of the formula language: one case each, and ``definition`` — an exhaustive
/// switch — is the table the checker works from (arities, argument kinds, minimum periods, how a call
/// lowers into the graph). An indicator's TA-Lib lookback, unstable period, outputs and kernel sit in
/// ``Indicator``, which its row builds. A new function does not compile until it has a row.
///
/// - Over a source: `sma ema wma rma rsi stdev highest lowest sum roc change (source, period)`.
/// - `macd macd_signal macd_hist` take `(source, fast, slow, signal)` or `(fast, slow, signal)` (source
///   = close); `bb_upper bb_middle bb_lower` take `(source, n, k)` or `(n, k)`.
/// - `atr adx cci willr (n)` use high/low/close; `mfi (n)` also volume; `obv()` close and volume;
///   `stoch_k stoch_d (k, slowk, slowd)` high/low/close.
/// - `crossover crossunder (a, b)`: a > b now and a <= b on the previous bar (mirrored for crossunder).
/// - `abs log sqrt (x)`, elementwise `min max (a, b)`, `iff(cond, a, b)`.
/// - `barssince(cond)`: 0 when cond is true now, bars since it was last true, undefined before it ever was.
/// - `rising(x, n)`: x is greater than each of its previous n values; `falling` mirrored.
///
/// Periods are positive integer constants or inputs, within TA-Lib's ranges (at least 2 where
/// TA-Lib asks for 2, at most ``maximumPeriod``). Case order is the order suggestions prefer.
enum Builtin: String, CaseIterable, Sendable {
    case sma, ema, wma, rma, rsi, stdev, highest, lowest, sum, roc, change
    case macd
    case macdSignal = "macd_signal"
    case macdHist = "macd_hist"
    case bbUpper = "bb_upper"
    case bbMiddle = "bb_middle"
    case bbLower = "bb_lower"
    case atr, adx, cci, willr, mfi, obv
    case stochK = "stoch_k"
    case stochD = "stoch_d"
    case crossover, crossunder, abs, log, sqrt, min, max, iff, barssince, rising, falling

    static let maximumPeriod = 100_000

    /// What the checker accepts for this function and what it builds.
    var definition: BuiltinDefinition {
        typealias D = BuiltinDefinition
        let source: [Parameter] = [.source(optional: false)]
        let period = Parameter.period("period", minimum: 2)
        let macdPeriods: [Parameter] = [
            .source(optional: true), .period("fast", minimum: 2), .period("slow", minimum: 2),
            .period("signal", minimum: 1),
        ]
        let bbParameters: [Parameter] = [.source(optional: true), .period("n", minimum: 2), .constant("k")]
        let n2 = [Parameter.period("n", minimum: 2)]
        let stochParameters: [Parameter] = [
            .period("k", minimum: 1), .period("slowk", minimum: 1), .period("slowd", minimum: 1),
        ]
        let ab: [Parameter] = [.numeric("a"), .numeric("b")]
        let x: [Parameter] = [.numeric("x")]
        switch self {
        case .sma: return D(source + [period]) { g, a in g.indicator(.sma(a.periods[0]), source: a.values[0]) }
        case .ema: return D(source + [period]) { g, a in g.indicator(.ema(a.periods[0]), source: a.values[0]) }
        case .wma: return D(source + [period]) { g, a in g.indicator(.wma(a.periods[0]), source: a.values[0]) }
        case .rma:
            return D(source + [.period("period", minimum: 1)]) { g, a in
                g.indicator(.rma(a.periods[0]), source: a.values[0])
            }
        case .rsi: return D(source + [period]) { g, a in g.indicator(.rsi(a.periods[0]), source: a.values[0]) }
        case .stdev: return D(source + [period]) { g, a in g.indicator(.stdev(a.periods[0]), source: a.values[0]) }
        case .highest:
            return D(source + [period]) { g, a in g.indicator(.highest(a.periods[0]), source: a.values[0]) }
        case .lowest:
            return D(source + [period]) { g, a in g.indicator(.lowest(a.periods[0]), source: a.values[0]) }
        case .sum: return D(source + [period]) { g, a in g.indicator(.sum(a.periods[0]), source: a.values[0]) }
        case .roc:
            return D(source + [.period("period", minimum: 1)]) { g, a in
                g.indicator(.roc(a.periods[0]), source: a.values[0])
            }
        case .change:
            return D(source + [.period("period", minimum: 1)]) { g, a in
                g.indicator(.change(a.periods[0]), source: a.values[0])
            }
        case .macd: return D(macdPeriods) { g, a in g.indicator(a.macd, source: a.values[0], line: MACDLine.macd) }
        case .macdSignal:
            return D(macdPeriods) { g, a in g.indicator(a.macd, source: a.values[0], line: MACDLine.signal) }
        case .macdHist:
            return D(macdPeriods) { g, a in g.indicator(a.macd, source: a.values[0], line: MACDLine.histogram) }
        case .bbUpper:
            return D(bbParameters) { g, a in g.indicator(a.bbands, source: a.values[0], line: BollingerBand.upper) }
        case .bbMiddle:
            return D(bbParameters) { g, a in g.indicator(a.bbands, source: a.values[0], line: BollingerBand.middle) }
        case .bbLower:
            return D(bbParameters) { g, a in g.indicator(a.bbands, source: a.values[0], line: BollingerBand.lower) }
        case .atr: return D([.period("n", minimum: 1)]) { g, a in g.indicator(.atr(a.periods[0])) }
        case .adx: return D(n2) { g, a in g.indicator(.adx(a.periods[0])) }
        case .cci: return D(n2) { g, a in g.indicator(.cci(a.periods[0])) }
        case .willr: return D(n2) { g, a in g.indicator(.willr(a.periods[0])) }
        case .mfi: return D(n2) { g, a in g.indicator(.mfi(a.periods[0])) }
        case .obv: return D([]) { g, _ in g.indicator(.obv) }
        case .stochK: return D(stochParameters) { g, a in g.indicator(a.stoch, line: StochasticLine.k) }
        case .stochD: return D(stochParameters) { g, a in g.indicator(a.stoch, line: StochasticLine.d) }
        case .crossover: return D(ab) { g, a in g.cross(up: true, a.values[0], a.values[1]) }
        case .crossunder: return D(ab) { g, a in g.cross(up: false, a.values[0], a.values[1]) }
        case .abs: return D(x) { g, a in g.unary(.abs, a.values[0]) }
        case .log: return D(x) { g, a in g.unary(.log, a.values[0]) }
        case .sqrt: return D(x) { g, a in g.unary(.sqrt, a.values[0]) }
        case .min: return D(ab) { g, a in g.arithmetic(.minimum, a.values[0], a.values[1]) }
        case .max: return D(ab) { g, a in g.arithmetic(.maximum, a.values[0], a.values[1]) }
        case .iff:
            return D([.boolean("cond"), .branch("a"), .branch("b")]) { g, a in
                g.select(a.values[0], a.values[1], a.values[2])
            }
        case .barssince: return D([.boolean("cond")]) { g, a in g.barssince(a.values[0]) }
        case .rising:
            return D([.numeric("x"), .period("n", minimum: 1)]) { g, a in
                g.rising(up: true, a.values[0], count: a.periods[0])
            }
        case .falling:
            return D([.numeric("x"), .period("n", minimum: 1)]) { g, a in
                g.rising(up: false, a.values[0], count: a.periods[0])
            }
        }
    }
}

/// One parameter of a built-in, as the checker checks it and messages name it.
enum Parameter: Sendable {
    /// A numeric series named `source`; `optional` (only as the first parameter) means a call may
    /// leave it out, and then it is `close`.
    case source(optional: Bool)
    /// A numeric series.
    case numeric(String)
    /// A boolean series.
    case boolean(String)
    /// A series of either type; every branch of a call must have the same type.
    case branch(String)
    /// An integer constant (or input) of at least `minimum`, at most ``Builtin/maximumPeriod``.
    case period(String, minimum: Int)
    /// A finite numeric constant (or input).
    case constant(String)

    var name: String {
        switch self {
        case .source: "source"
        case .numeric(let n), .boolean(let n), .branch(let n), .period(let n, _), .constant(let n): n
        }
    }
}

/// A checked call's arguments, in parameter order within each kind.
struct LoweringArguments {
    /// The series arguments (`source`, `numeric`, `boolean`, `branch`); a left-out source is `close`.
    var values: [Ref] = []
    var periods: [Int] = []
    var constants: [Double] = []

    /// MACD from `(fast, slow, signal)`.
    var macd: Indicator { .macd(fast: periods[0], slow: periods[1], signal: periods[2]) }
    /// Bollinger bands from `(n, k)`.
    var bbands: Indicator { .bbands(period: periods[0], k: constants[0].bitPattern) }
    /// The stochastic from `(k, slowk, slowd)`.
    var stoch: Indicator { .stoch(k: periods[0], slowK: periods[1], slowD: periods[2]) }
}

/// A row of the built-in table: the parameters and how a checked call lowers into the graph.
struct BuiltinDefinition: Sendable {
    let parameters: [Parameter]
    let lower: @Sendable (inout Graph, LoweringArguments) -> Ref

    init(_ parameters: [Parameter], lower: @escaping @Sendable (inout Graph, LoweringArguments) -> Ref) {
        self.parameters = parameters
        self.lower = lower
    }

    private var hasOptionalSource: Bool {
        if case .source(optional: true) = parameters.first { return true }
        return false
    }

    /// Accepted argument counts, ascending.
    var arities: [Int] { hasOptionalSource ? [parameters.count - 1, parameters.count] : [parameters.count] }

    /// Parameter list as shown in messages, e.g. `(source, period)` or `([source,] n, k)`.
    var signature: String {
        guard hasOptionalSource else { return "(" + parameters.map(\.name).joined(separator: ", ") + ")" }
        return "([source,] " + parameters.dropFirst().map(\.name).joined(separator: ", ") + ")"
    }

    /// `rsi expects 2 arguments (source, period), got 1`.
    func arityMessage(_ name: String, got: Int) -> String {
        if arities == [0] { return "\(name) expects no arguments, got \(got)" }
        let counts = arities.map(String.init).joined(separator: " or ")
        let noun = arities == [1] ? "argument" : "arguments"
        return "\(name) expects \(counts) \(noun) \(signature), got \(got)"
    }
}

/// The built-in series and what each lowers to.
enum BuiltinSeries: String, CaseIterable, Sendable {
    case open, high, low, close, volume, hl2, hlc3, ohlc4

    func lower(into graph: inout Graph) -> Ref {
        switch self {
        case .open: return graph.price(.open)
        case .high: return graph.price(.high)
        case .low: return graph.price(.low)
        case .close: return graph.price(.close)
        case .volume: return graph.price(.volume)
        case .hl2: return graph.average([.high, .low])
        case .hlc3: return graph.average([.high, .low, .close])
        case .ohlc4: return graph.average([.open, .high, .low, .close])
        }
    }
}
