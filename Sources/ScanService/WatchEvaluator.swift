import FormulaEngine
import Foundation
import ScanCore
import ScanProtocol
import Synchronization

/// Evaluates a watch's formula for some of its symbols, exactly as a `latest`-mode scan would (the
/// same ``SymbolScanner`` over the same ``BarQuery``'s bars), on the service's own ``ScanExecutor``
/// (the scheduler of the in-process engine and the nodes; never the cooperative pool).
///
/// The series come from memory when the caller has them (``WatchSeries``: what `loadBars` returned
/// once, with the fed final bars appended); the others are read from the store on the executor's
/// threads and handed back to be kept.
struct WatchEvaluator: Sendable {
    /// What one symbol's newest bar gave.
    struct Outcome: Sendable {
        /// The signals matching on the newest bar.
        var entries: [WatchEntry] = []
        /// The newest bar (time, close, column values) whether or not a signal matched; `nil` when
        /// the symbol has no bars in the range.
        var newest: WatchEntry?
        var error: String?
    }

    /// A watch's compiled formula: the trader's plan, plus the same formula with one more signal
    /// that is always true, so the newest bar's columns are known for `exit` events too.
    struct Plans: Sendable {
        let plan: FormulaPlan
        let withNewest: FormulaPlan?
        static let newestSignal = "live_newest_bar__"

        /// The plan evaluated (the extended one when there is one).
        var evaluated: FormulaPlan { withNewest ?? plan }

        /// - Throws: ``FormulaError`` (the request's formula does not compile).
        init(_ request: WatchRequest) throws {
            plan = try FormulaPlan.compile(
                source: request.formula.source,
                name: request.formula.name,
                parameters: request.parameters
            )
            let extended =
                plan.signalNames.contains(Self.newestSignal)
                ? nil
                : try? FormulaPlan.compile(
                    source: request.formula.source + "\nsignal \(Self.newestSignal) = true\n",
                    name: request.formula.name,
                    parameters: request.parameters
                )
            // Only when the extension changes nothing else (same signals first, same columns and lookback).
            if let e = extended, e.columnNames == plan.columnNames, e.lookback == plan.lookback,
                Array(e.signalNames.prefix(plan.signalNames.count)) == plan.signalNames
            {
                withNewest = e
            } else {
                withNewest = nil
            }
        }
    }

    /// What a round gave: each symbol's outcome, and the series read from the store (to keep).
    struct Evaluation: Sendable {
        var outcomes: [String: Outcome] = [:]
        var loaded: [String: BarSeries] = [:]
    }

    let bars: any BarRepository
    let executor: ScanExecutor

    /// Evaluates `symbols` with `setup` (the watch's plan over the default range of a latest scan),
    /// ``FormulaEvaluator/laneWidth`` symbols at a time in SIMD lanes where the executor hands out
    /// groups (the same values as one by one: ``SymbolScanner/scan(_:)-([(series:symbol:)])``).
    ///
    /// - Parameters:
    ///   - series: the symbols' series already in memory; the others are read from the store.
    ///   - forming: forming bars (tick watches), appended to their symbol's series when newer than its
    ///     last bar.
    func evaluate(
        _ setup: ScanSetup,
        symbols: [String],
        series: [String: BarSeries],
        forming: [String: FeedBar] = [:]
    ) async -> Evaluation {
        guard !symbols.isEmpty else { return Evaluation() }
        let bars = self.bars
        let collected = Mutex(Evaluation())
        /// The symbol's series as evaluated (the forming bar appended), read from the store when not in
        /// memory (kept in `collected.loaded`).
        @Sendable func load(_ symbol: String, _ scanner: SymbolScanner) -> Loaded {
            var s: BarSeries
            if let kept = series[symbol] {
                s = kept
            } else {
                do {
                    s = try bars.loadBars(scanner.query(for: symbol))
                } catch {
                    return .failed(Outcome(error: "cannot read bars: \(error)"))
                }
                let loaded = s
                collected.withLock { $0.loaded[symbol] = loaded }
            }
            if let f = forming[symbol], f.timestamp.epochSeconds > (s.times.last ?? Int64.min) {
                s.append(f)
                return .series(s, forming: true)
            }
            return .series(s, forming: false)
        }
        @Sendable func record(_ symbol: String, _ outcome: Outcome) -> SymbolResult {
            collected.withLock { $0.outcomes[symbol] = outcome }
            return SymbolResult(symbol: symbol, error: outcome.error)
        }
        LiveTrace.mark("evaluator.submit \(symbols.count)")
        let firstSeen = Mutex(false)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            executor.submit(
                ScanBatch(
                    jobId: "watch",
                    chunkIndex: 0,
                    symbols: symbols,
                    prepare: { .success(setup) },
                    scan: { scanner, symbol in
                        switch load(symbol, scanner) {
                        case .failed(let outcome): return record(symbol, outcome)
                        case .series(let s, let isForming):
                            return record(symbol, Self.outcome(scanner.scan(s, as: symbol), forming: isForming))
                        }
                    },
                    scanGroup: { scanner, group in
                        if !firstSeen.withLock({ f in defer { f = true }; return f }) { LiveTrace.mark("evaluator.first") }
                        var items: [(series: BarSeries, symbol: String)] = []
                        var formingFlags: [Bool] = []
                        var results: [SymbolResult] = []
                        for symbol in group {
                            switch load(symbol, scanner) {
                            case .failed(let outcome): results.append(record(symbol, outcome))
                            case .series(let s, let isForming):
                                items.append((s, symbol))
                                formingFlags.append(isForming)
                            }
                        }
                        for (i, result) in scanner.scan(items).enumerated() {
                            results.append(record(items[i].symbol, Self.outcome(result, forming: formingFlags[i])))
                        }
                        // One result per symbol, in the group's order.
                        let bySymbol = Dictionary(results.map { ($0.symbol, $0) }, uniquingKeysWith: { a, _ in a })
                        return group.map { bySymbol[$0] ?? SymbolResult(symbol: $0, error: "not scanned") }
                    },
                    onEnd: { _ in
                        LiveTrace.mark("evaluator.end")
                        c.resume()
                    }
                )
            )
        }
        return collected.withLock { $0 }
    }

    /// A symbol's series as it is evaluated, or why it cannot be.
    private enum Loaded {
        case series(BarSeries, forming: Bool)
        case failed(Outcome)
    }

    /// The entries (and the newest bar) of one symbol's latest-mode result.
    private static func outcome(_ result: SymbolResult, forming isForming: Bool) -> Outcome {
        if let error = result.error { return Outcome(error: error) }
        var out = Outcome()
        for m in result.matches {
            let entry = WatchEntry(match: m, forming: isForming)
            if m.signal == Plans.newestSignal {
                out.newest = entry
            } else {
                out.entries.append(entry)
            }
        }
        return out
    }
}

extension BarSeries {
    /// Makes room for the bars a watch appends, so that the minutes that follow a read append in place
    /// (a series read from the store has no spare capacity: the first append would copy every column).
    mutating func reserveAppends() {
        let room = times.count + 400 + times.count / 8
        times.reserveCapacity(room)
        if timeframe.isIntraday { utcOffsets.reserveCapacity(room) }
        columns.open.reserveCapacity(room)
        columns.high.reserveCapacity(room)
        columns.low.reserveCapacity(room)
        columns.close.reserveCapacity(room)
        columns.volume.reserveCapacity(room)
    }

    /// Appends one fed bar (the caller checked it is newer than the last).
    mutating func append(_ bar: FeedBar) {
        times.append(bar.timestamp.epochSeconds)
        if timeframe.isIntraday { utcOffsets.append(bar.timestamp.utcOffsetSeconds) }
        columns.open.append(bar.open)
        columns.high.append(bar.high)
        columns.low.append(bar.low)
        columns.close.append(bar.close)
        columns.volume.append(bar.volume)
    }
}
