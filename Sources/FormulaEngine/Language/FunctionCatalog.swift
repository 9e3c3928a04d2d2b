/// The built-in functions and series of the formula language, with the argument forms the checker
/// accepts.
///
/// - Functions over a source: `sma ema wma rma rsi stdev highest lowest sum roc change (source, period)`.
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
/// TA-Lib asks for 2, at most 100,000).
enum FunctionCatalog {
    struct Spec: Sendable {
        /// Accepted argument counts, ascending.
        var arities: [Int]
        /// Parameter list as shown in messages, e.g. `(source, period)`.
        var signature: String
    }

    static let maximumPeriod = 100_000

    static let sourceFunctions = [
        "sma", "ema", "wma", "rma", "rsi", "stdev", "highest", "lowest", "sum", "roc", "change",
    ]

    /// Every function name, in the order suggestions prefer.
    static let names: [String] =
        sourceFunctions + [
            "macd", "macd_signal", "macd_hist", "bb_upper", "bb_middle", "bb_lower", "atr", "adx", "cci",
            "willr", "mfi", "obv", "stoch_k", "stoch_d", "crossover", "crossunder", "abs", "log", "sqrt",
            "min", "max", "iff", "barssince", "rising", "falling",
        ]

    static func spec(_ name: String) -> Spec? {
        switch name {
        case _ where sourceFunctions.contains(name): Spec(arities: [2], signature: "(source, period)")
        case "macd", "macd_signal", "macd_hist": Spec(arities: [3, 4], signature: "([source,] fast, slow, signal)")
        case "bb_upper", "bb_middle", "bb_lower": Spec(arities: [2, 3], signature: "([source,] n, k)")
        case "atr", "adx", "cci", "willr", "mfi": Spec(arities: [1], signature: "(n)")
        case "obv": Spec(arities: [0], signature: "()")
        case "stoch_k", "stoch_d": Spec(arities: [3], signature: "(k, slowk, slowd)")
        case "crossover", "crossunder", "min", "max": Spec(arities: [2], signature: "(a, b)")
        case "abs", "log", "sqrt": Spec(arities: [1], signature: "(x)")
        case "iff": Spec(arities: [3], signature: "(cond, a, b)")
        case "barssince": Spec(arities: [1], signature: "(cond)")
        case "rising", "falling": Spec(arities: [2], signature: "(x, n)")
        default: nil
        }
    }

    /// Smallest period TA-Lib accepts for the function's period arguments.
    static func minimumPeriod(_ name: String) -> Int {
        switch name {
        case "rma", "roc", "change", "atr", "stoch_k", "stoch_d", "rising", "falling": 1
        default: 2
        }
    }

    /// Built-in series names.
    static let seriesNames = ["open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4"]

    /// `rsi expects 2 arguments (source, period), got 1`.
    static func arityMessage(_ name: String, _ spec: Spec, got: Int) -> String {
        if spec.arities == [0] { return "\(name) expects no arguments, got \(got)" }
        let counts = spec.arities.map(String.init).joined(separator: " or ")
        let noun = spec.arities == [1] ? "argument" : "arguments"
        return "\(name) expects \(counts) \(noun) \(spec.signature), got \(got)"
    }
}

/// "Did you mean" hints by edit distance.
enum Suggestion {
    /// The closest candidate within a small edit distance (1, or 2 for names of 5+ characters).
    static func closest(to word: String, in candidates: [String]) -> String? {
        let limit = min(word.count >= 5 ? 2 : 1, word.count - 1)
        guard limit >= 1, word.count <= 64 else { return nil }
        var best: (String, Int)?
        for candidate in candidates where candidate != word {
            let d = distance(Array(word.utf8), Array(candidate.utf8))
            if d <= limit, d < (best?.1 ?? Int.max) { best = (candidate, d) }
        }
        return best?.0
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d = min(d, previous2[j - 2] + 1) }
                current[j] = d
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
