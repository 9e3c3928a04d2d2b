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

    /// One symbol of a watch between rounds: its series in memory (`nil` until read from the store)
    /// and what its last evaluation gave. A reference, so that the evaluation thread that takes the
    /// symbol appends the round's fed bars to the series in place (nothing else holds the series'
    /// storage between rounds, so an append never copies it) and leaves the outcome there.
    ///
    /// Not locked: in a round each symbol is taken by one evaluation thread, rounds run one after
    /// another (``WatchManager``'s owning task), and the round's end (the executor's `onEnd` resuming
    /// the round) orders the threads' writes before the owner reads them.
    final class Kept: @unchecked Sendable {
        /// What the store's `loadBars` returned once, with the fed final bars appended.
        var series: BarSeries?
        /// The last round's outcome for this symbol.
        var outcome = Outcome()
        /// Whether the last round read the series from the store.
        var readFromStore = false

        init() {}
    }

    let bars: any BarRepository
    let executor: ScanExecutor

    /// Evaluates `symbols` with `setup` (the watch's plan over the default range of a latest scan),
    /// ``FormulaEvaluator/laneWidth`` symbols at a time in SIMD lanes where the executor hands out
    /// groups (the same values as one by one: ``SymbolScanner/scan(_:)-([(series:symbol:)])``). Each
    /// symbol's outcome is left in its ``Kept``.
    ///
    /// - Parameters:
    ///   - kept: a ``Kept`` for every symbol of `symbols`; a symbol whose series is in memory gets its
    ///     `fed` bars newer than its last bar appended, the others are read from the store (and kept).
    ///   - forming: forming bars (tick watches), appended to a copy of their symbol's series when newer
    ///     than its last bar.
    func evaluate(
        _ setup: ScanSetup,
        symbols: [String],
        kept: [String: Kept],
        fed: [String: [FeedBar]],
        forming: [String: FeedBar] = [:]
    ) async {
        guard !symbols.isEmpty else { return }
        let bars = self.bars
        /// The symbol's series as evaluated (the fed bars appended, the forming bar too), read from the
        /// store when not in memory.
        @Sendable func load(_ symbol: String, _ scanner: SymbolScanner) -> Loaded {
            guard let box = kept[symbol] else { return .notKept }
            box.readFromStore = false
            if box.series != nil {
                // In place: the box holds the only reference to the series' storage.
                for bar in fed[symbol] ?? [] where bar.timestamp.epochSeconds > (box.series?.times.last ?? .min) {
                    box.series?.append(bar)
                }
            } else {
                do {
                    var read = try bars.loadBars(scanner.query(for: symbol))
                    read.keepOnly(scanner.fields)
                    read.reserveAppends()
                    box.series = read
                    box.readFromStore = true
                } catch {
                    return .failed(box, Outcome(error: "cannot read bars: \(error)"))
                }
            }
            guard var s = box.series else { return .failed(box, Outcome(error: "no series")) }
            if let f = forming[symbol], f.timestamp.epochSeconds > (s.times.last ?? Int64.min) {
                s.append(f)  // a copy: forming bars are never kept
                return .series(box, s, forming: true)
            }
            return .series(box, s, forming: false)
        }
        @Sendable func record(_ symbol: String, _ box: Kept, _ outcome: Outcome) -> SymbolResult {
            box.outcome = outcome
            return SymbolResult(symbol: symbol, error: outcome.error)
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            executor.submit(
                ScanBatch(
                    jobId: "watch",
                    chunkIndex: 0,
                    symbols: symbols,
                    prepare: { .success(setup) },
                    scan: { scanner, symbol in
                        switch load(symbol, scanner) {
                        case .notKept: return SymbolResult(symbol: symbol, error: "not kept")
                        case .failed(let box, let outcome): return record(symbol, box, outcome)
                        case .series(let box, let s, let isForming):
                            return record(symbol, box, Self.outcome(scanner.scan(s, as: symbol), forming: isForming))
                        }
                    },
                    scanGroup: { scanner, group in
                        var items: [(series: BarSeries, symbol: String)] = []
                        var itemBoxes: [(box: Kept, forming: Bool)] = []
                        var results: [SymbolResult] = []
                        for symbol in group {
                            switch load(symbol, scanner) {
                            case .notKept: results.append(SymbolResult(symbol: symbol, error: "not kept"))
                            case .failed(let box, let outcome): results.append(record(symbol, box, outcome))
                            case .series(let box, let s, let isForming):
                                items.append((s, symbol))
                                itemBoxes.append((box, isForming))
                            }
                        }
                        for (i, result) in scanner.scan(items).enumerated() {
                            let (box, isForming) = itemBoxes[i]
                            results.append(record(items[i].symbol, box, Self.outcome(result, forming: isForming)))
                        }
                        if items.count == group.count { return results }  // in the group's order already
                        // One result per symbol, in the group's order.
                        let bySymbol = Dictionary(results.map { ($0.symbol, $0) }, uniquingKeysWith: { a, _ in a })
                        return group.map { bySymbol[$0] ?? SymbolResult(symbol: $0, error: "not scanned") }
                    },
                    onEnd: { _ in c.resume() }
                )
            )
        }
    }

    /// A symbol's series as it is evaluated, or why it cannot be.
    private enum Loaded {
        case series(Kept, BarSeries, forming: Bool)
        case failed(Kept, Outcome)
        /// No ``Kept`` was given for the symbol (the caller's mistake).
        case notKept
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
    /// Empties the price columns a scan with these `fields` does not read (a store may load them all):
    /// a kept series then holds, and each minute appends to, only what the evaluation reads.
    mutating func keepOnly(_ fields: PriceFields) {
        if !fields.contains(.open) { columns.open = [] }
        if !fields.contains(.high) { columns.high = [] }
        if !fields.contains(.low) { columns.low = [] }
        if !fields.contains(.close) { columns.close = [] }
        if !fields.contains(.volume) { columns.volume = [] }
    }

    /// Makes room for the bars a watch appends, so that the minutes that follow a read append in place
    /// (a series read from the store has no spare capacity: the first append would copy every column).
    /// Columns the store left out (a formula that does not read them) stay empty.
    mutating func reserveAppends() {
        let n = times.count
        let room = n + 400 + n / 8
        times.reserveCapacity(room)
        if timeframe.isIntraday { utcOffsets.reserveCapacity(room) }
        if columns.open.count == n { columns.open.reserveCapacity(room) }
        if columns.high.count == n { columns.high.reserveCapacity(room) }
        if columns.low.count == n { columns.low.reserveCapacity(room) }
        if columns.close.count == n { columns.close.reserveCapacity(room) }
        if columns.volume.count == n { columns.volume.reserveCapacity(room) }
    }

    /// Appends one fed bar (the caller checked it is newer than the last) to the series' whole columns
    /// (a column the store left out stays empty, as a read of the store would leave it).
    mutating func append(_ bar: FeedBar) {
        let n = times.count
        times.append(bar.timestamp.epochSeconds)
        if timeframe.isIntraday { utcOffsets.append(bar.timestamp.utcOffsetSeconds) }
        if columns.open.count == n { columns.open.append(bar.open) }
        if columns.high.count == n { columns.high.append(bar.high) }
        if columns.low.count == n { columns.low.append(bar.low) }
        if columns.close.count == n { columns.close.append(bar.close) }
        if columns.volume.count == n { columns.volume.append(bar.volume) }
    }
}
