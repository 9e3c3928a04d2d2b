import FormulaEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Formula evaluation throughput on one core: compile once, then evaluate over every symbol of a
/// synthetic universe (2,000 symbols × 2,500 daily bars = 5 M bars), reusing one evaluator, as an
/// engine node's worker thread does. Prints bars per second for each formula (best of the runs,
/// and the median; and from the least thread CPU time of the runs, which on a shared machine leaves out the time
/// other work held the core). Symbols go to the evaluator in groups of `FormulaEvaluator.laneWidth`, as the
/// engine's threads hand them over (the recursive indicators then run in SIMD lanes); `--single`
/// evaluates one symbol at a time, `--both` runs each formula both ways, alternating, in one run.
///
///     swift run -c release --package-path Benchmarks FormulaBench [--symbols N] [--bars N] [--runs N] [--only NAME]
///         [--single | --both]
@main
struct FormulaBench {
    static let formulas: [(name: String, source: String)] =
        [
            ("F1", "crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)"),
            (
                "12 indicators",
                """
                signal s = sma(close, 20) > ema(close, 50) and rsi(close, 14) < 70 and macd_hist(12, 26, 9) > 0 and
                  close > bb_lower(20, 2) and atr(14) > 0.5 and adx(14) > 20 and cci(20) > -100 and
                  willr(14) > -80 and mfi(14) < 80 and stoch_k(14, 3, 3) > 20 and obv() > obv()[5] and
                  wma(close, 10) > close[1]
                column rsi14 = rsi(close, 14)
                """
            ),
            ("elementwise only", "close > open and volume > 1.5 * volume[1] and (high - low) / close > 0.01"),
        ]
        // Each indicator of the 12-indicator formula alone (`--only kernel`), with one comparison.
        + [
            "sma(close, 20)", "ema(close, 50)", "rsi(close, 14)", "macd_hist(12, 26, 9)", "bb_lower(20, 2)", "atr(14)",
            "adx(14)", "cci(20)", "willr(14)", "mfi(14)", "stoch_k(14, 3, 3)", "obv()", "wma(close, 10)",
        ].map { call in ("kernel \(call)", "\(call) > 0") }

    static func main() {
        var symbols = 2_000
        var barsPerSymbol = 2_500
        var runs = 7
        var only: String?
        var ways = [true]
        var rest = Array(CommandLine.arguments.dropFirst())
        if let i = rest.firstIndex(of: "--single") {
            ways = [false]
            rest.remove(at: i)
        }
        if let i = rest.firstIndex(of: "--both") {
            ways = [false, true]
            rest.remove(at: i)
        }
        var arguments = rest.makeIterator()
        while let argument = arguments.next() {
            let text = arguments.next()
            let value = text.flatMap { Int($0) }
            switch (argument, value) {
            case ("--only", _) where text != nil: only = text
            case ("--symbols", let v?) where v > 0: symbols = v
            case ("--bars", let v?) where v > 0: barsPerSymbol = v
            case ("--runs", let v?) where v > 0: runs = v
            default:
                print("usage: FormulaBench [--symbols N] [--bars N] [--runs N] [--only NAME] [--single | --both]")
                return
            }
        }

        let universe = (0..<symbols).map { synthetic(seed: UInt64($0) &+ 1, count: barsPerSymbol) }
        let totalBars = symbols * barsPerSymbol
        print(
            "Formula evaluation, one core: \(symbols) symbols × \(barsPerSymbol) bars = \(totalBars) bars, best/median of \(runs) runs"
        )

        for (name, source) in formulas where only.map({ name.hasPrefix($0) }) ?? true {
            let plan: FormulaPlan
            do {
                plan = try FormulaPlan.compile(source: source, name: name)
            } catch {
                print("\(name): \(error)")
                continue
            }
            let evaluator = FormulaEvaluator(plan: plan)
            let width = FormulaEvaluator.laneWidth
            let groups = stride(from: 0, to: universe.count, by: width).map {
                Array(universe[$0..<min($0 + width, universe.count)])
            }
            let ranges = groups.map { $0.map { 0..<$0.count } }
            var seconds: [Bool: [Double]] = [:]
            var cpuSeconds: [Bool: [Double]] = [:]
            var hits = 0
            for _ in 0..<runs {
                for lanes in ways {
                    hits = 0
                    let clock = ContinuousClock()
                    let cpuStart = threadCPUSeconds()
                    let elapsed = clock.measure {
                        if lanes {
                            for (group, range) in zip(groups, ranges) {
                                for output in evaluator.evaluate(group, reportingIn: range) {
                                    for signal in output.signals { hits += signal.indices.count }
                                }
                            }
                        } else {
                            for columns in universe {
                                let output = evaluator.evaluate(columns, reportingIn: 0..<columns.count)
                                for signal in output.signals { hits += signal.indices.count }
                            }
                        }
                    }
                    cpuSeconds[lanes, default: []].append(threadCPUSeconds() - cpuStart)
                    let c = elapsed.components
                    seconds[lanes, default: []].append(Double(c.seconds) + Double(c.attoseconds) / 1e18)
                }
            }
            for lanes in ways {
                let sorted = seconds[lanes, default: []].sorted()
                let best = sorted[0]
                let median = sorted[sorted.count / 2]
                let label = ways.count > 1 ? (lanes ? " [lanes]" : " [single]") : ""
                let cpuBest = cpuSeconds[lanes, default: []].min() ?? best
                print(
                    "\(pad(name + label, 37)) \(pad(format(Double(totalBars) / best / 1e6), 8)) M bars/s  "
                        + "(\(format(best * 1e3)) ms best, \(format(median * 1e3)) ms median; "
                        + "CPU \(format(Double(totalBars) / cpuBest / 1e6)) M bars/s; "
                        + "\(plan.operationCount) array ops, \(hits) hits)"
                )
            }
        }
    }

    /// This thread's CPU time (time descheduled by other work on a shared machine is not counted).
    static func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// A random walk with a realistic spread of highs, lows and volumes.
    static func synthetic(seed: UInt64, count: Int) -> PriceColumns {
        var state = seed
        func uniform() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(1 << 53)
        }
        var open = [Double]()
        var high = [Double]()
        var low = [Double]()
        var close = [Double]()
        var volume = [Double]()
        open.reserveCapacity(count)
        high.reserveCapacity(count)
        low.reserveCapacity(count)
        close.reserveCapacity(count)
        volume.reserveCapacity(count)
        var price = 10_000 + 90_000 * uniform()
        for _ in 0..<count {
            let o = price
            let c = max(1, o * (1 + (uniform() - 0.5) * 0.06))
            open.append(o)
            close.append(c)
            high.append(max(o, c) * (1 + uniform() * 0.02))
            low.append(min(o, c) * (1 - uniform() * 0.02))
            volume.append((100_000 + 900_000 * uniform()) * (uniform() < 0.05 ? 3 : 1))
            price = c
        }
        return PriceColumns(open: open, high: high, low: low, close: close, volume: volume)
    }

    static func format(_ x: Double) -> String {
        let scaled = Int((x * 10).rounded())
        return "\(scaled / 10).\(scaled % 10)"
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
