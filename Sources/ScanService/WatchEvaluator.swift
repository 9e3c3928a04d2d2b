import FormulaEngine
import Foundation
import ScanCore
import ScanProtocol
import Synchronization

/// Evaluates a watch's formula for some of its symbols, exactly as a `latest`-mode scan would
/// (the same ``SymbolScanner`` over the same ``BarQuery``), in this process on a few threads of
/// its own (never the cooperative pool).
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

    let bars: any BarRepository
    let threads: Int

    /// Evaluates `symbols` over `range` (the default range of a latest scan). `forming` bars (tick
    /// watches) are appended to their symbol's stored bars when newer than the last one.
    func evaluate(
        _ plans: Plans,
        timeframe: Timeframe,
        range: DateRange,
        symbols: [String],
        forming: [String: FeedBar] = [:]
    ) async throws -> [String: Outcome] {
        guard !symbols.isEmpty else { return [:] }
        let bars = self.bars
        let workers = max(1, min(threads, (symbols.count + 63) / 64))
        let plan = plans.withNewest ?? plans.plan
        var tickRange = range
        for b in forming.values where b.timestamp.day > tickRange.to { tickRange.to = b.timestamp.day }
        let scanRange = tickRange
        return try await Blocking.run {
            let collected = Mutex<[String: Outcome]>([:])
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let scanner = SymbolScanner(plan: plan, timeframe: timeframe, dateRange: scanRange, mode: .latest)
                var local: [String: Outcome] = [:]
                var i = w
                while i < symbols.count {
                    let symbol = symbols[i]
                    local[symbol] = Self.evaluate(symbol, scanner, bars, forming[symbol])
                    i += workers
                }
                collected.withLock { all in all.merge(local) { a, _ in a } }
            }
            return collected.withLock { $0 }
        }
    }

    private static func evaluate(
        _ symbol: String,
        _ scanner: SymbolScanner,
        _ bars: any BarRepository,
        _ forming: FeedBar?
    ) -> Outcome {
        var series: BarSeries
        do {
            series = try bars.loadBars(scanner.query(for: symbol))
        } catch {
            return Outcome(error: "cannot read bars: \(error)")
        }
        var isForming = false
        if let f = forming, f.timestamp.epochSeconds > (series.times.last ?? Int64.min) {
            series.times.append(f.timestamp.epochSeconds)
            if series.timeframe.isIntraday { series.utcOffsets.append(f.timestamp.utcOffsetSeconds) }
            series.columns.open.append(f.open)
            series.columns.high.append(f.high)
            series.columns.low.append(f.low)
            series.columns.close.append(f.close)
            series.columns.volume.append(f.volume)
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
