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

    /// Evaluates `symbols` with `setup` (the watch's plan over the default range of a latest scan).
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
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            executor.submit(
                ScanBatch(
                    jobId: "watch",
                    chunkIndex: 0,
                    symbols: symbols,
                    prepare: { .success(setup) },
                    scan: { scanner, symbol in
                        var loaded: BarSeries?
                        let outcome: Outcome
                        if let s = series[symbol] {
                            outcome = Self.evaluate(symbol, s, scanner, forming[symbol])
                        } else {
                            do {
                                let s = try bars.loadBars(scanner.query(for: symbol))
                                loaded = s
                                outcome = Self.evaluate(symbol, s, scanner, forming[symbol])
                            } catch {
                                outcome = Outcome(error: "cannot read bars: \(error)")
                            }
                        }
                        collected.withLock { e in
                            e.outcomes[symbol] = outcome
                            if let loaded { e.loaded[symbol] = loaded }
                        }
                        return SymbolResult(symbol: symbol, error: outcome.error)
                    },
                    onEnd: { _ in c.resume() }
                )
            )
        }
        return collected.withLock { $0 }
    }

    private static func evaluate(
        _ symbol: String,
        _ stored: BarSeries,
        _ scanner: SymbolScanner,
        _ forming: FeedBar?
    ) -> Outcome {
        var series = stored
        var isForming = false
        if let f = forming, f.timestamp.epochSeconds > (series.times.last ?? Int64.min) {
            series.append(f)
            isForming = true
        }
        let result = scanner.scan(series, as: symbol)
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
