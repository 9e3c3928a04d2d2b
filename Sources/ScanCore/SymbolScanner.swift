import FormulaEngine

/// Scans one symbol at a time with a compiled formula: loads its bars, evaluates the plan over the
/// whole history and turns the bars of the range where a signal fired into ``SignalMatch``es.
///
/// Shared by the in-process engine and the engine nodes. Not thread-safe (it reuses one
/// ``FormulaEvaluator``'s buffers from one symbol to the next): create one scanner per thread and
/// share the ``FormulaPlan``.
public final class SymbolScanner {
    /// What it scans with (plan, timeframe, range, mode, study, clauses): one per job, shared by
    /// every thread's scanner.
    public let setup: ScanSetup
    public var plan: FormulaPlan { setup.plan }
    public var timeframe: Timeframe { setup.timeframe }
    public var dateRange: DateRange { setup.dateRange }
    public var mode: ScanMode { setup.mode }
    /// The event study each match gets, and the baseline each symbol contributes (`nil`: none).
    public var study: StudySpec? { setup.study }
    /// The formula with its clauses, when the scan reports the condition funnel.
    public var explained: ExplainedPlan? { setup.explained }
    private let evaluator: FormulaEvaluator

    /// A scanner of its own (with its own evaluation buffers) for a job's `setup`.
    public init(setup: ScanSetup) {
        self.setup = setup
        self.evaluator = FormulaEvaluator(plan: setup.explained?.plan ?? setup.plan)
    }

    /// - Parameters:
    ///   - study: forward returns for each match and the symbol's baseline sums.
    ///   - explained: the formula compiled with its clauses (``ExplainedPlan``): each symbol then
    ///     reports its condition funnel (and in `latest` mode its near misses).
    public convenience init(
        plan: FormulaPlan,
        timeframe: Timeframe,
        dateRange: DateRange,
        mode: ScanMode,
        study: StudySpec? = nil,
        explained: ExplainedPlan? = nil
    ) {
        self.init(
            setup: ScanSetup(
                plan: plan,
                timeframe: timeframe,
                dateRange: dateRange,
                mode: mode,
                study: study,
                explained: explained
            )
        )
    }

    /// A scanner for `job` with its already compiled `plan` (and, when the job explains, its clauses).
    public convenience init(plan: FormulaPlan, job: ProcessingJob) {
        self.init(
            plan: plan,
            timeframe: job.timeframe,
            dateRange: job.dateRange,
            mode: job.mode,
            study: job.study,
            explained: job.explain ? try? job.compileExplainedPlan() : nil
        )
    }

    /// The bars to load for `symbol`: the range plus the warm-up the formula needs, and the bars after
    /// it that the study's longest horizon needs.
    public func query(for symbol: String) -> BarQuery {
        BarQuery(
            symbol: symbol,
            timeframe: timeframe,
            range: dateRange,
            lookbackBars: plan.lookback,
            lookaheadBars: study?.longest ?? 0,
            fields: fields
        )
    }

    /// The price columns a scan reads: the evaluated formula's and `close`; with an event study also
    /// `high low` (its excursions) and `open` when it enters at the next bar's open. Loading only these
    /// keeps a node's cache from holding columns nothing reads (a study of F1, which reads `close` and
    /// `volume`, holds 40 bytes a daily bar instead of 48: T2's 5 M bars fit one node's default budget).
    public var fields: PriceFields {
        var fields = evaluator.plan.fields.union(.close)
        if let study {
            fields.formUnion([.high, .low])
            if study.entry == .nextOpen { fields.insert(.open) }
        }
        return fields
    }

    /// Loads `symbol`'s bars from `bars` and scans them. Never throws: a symbol whose data cannot be
    /// read or evaluated comes back with its ``SymbolResult/error`` set.
    public func scan(symbol: String, bars: any BarRepository) -> SymbolResult {
        scan(symbol) { try bars.loadBars(query(for: symbol)) }
    }

    /// Takes `symbol`'s bars from its chunk's `prefetch` (loading its group when needed) and scans
    /// them. Never throws, like ``scan(symbol:bars:)``.
    public func scan(symbol: String, prefetch: BarPrefetch) -> SymbolResult {
        scan(symbol) { try prefetch.series(for: symbol, query: query(for:)) }
    }

    private func scan(_ symbol: String, loading load: () throws -> BarSeries) -> SymbolResult {
        let series: BarSeries
        do {
            series = try load()
        } catch {
            return SymbolResult(symbol: symbol, error: "cannot read bars: \(Self.describe(error))")
        }
        return scan(series, as: symbol)
    }

    /// Loads each of `symbols` with `load` and scans them together (``scan(_:)-([(series:symbol:)])``);
    /// a symbol whose bars cannot be read comes back with its ``SymbolResult/error`` set. One result per
    /// symbol, in order.
    public func scan(symbols: [String], load: (BarQuery) throws -> BarSeries) -> [SymbolResult] {
        var results = [SymbolResult?](repeating: nil, count: symbols.count)
        var loaded: [(index: Int, series: BarSeries)] = []
        for (i, symbol) in symbols.enumerated() {
            do {
                loaded.append((i, try load(query(for: symbol))))
            } catch {
                results[i] = SymbolResult(symbol: symbol, error: "cannot read bars: \(Self.describe(error))")
            }
        }
        let scanned = scan(loaded.map { (series: $0.series, symbol: symbols[$0.index]) })
        for (item, result) in zip(loaded, scanned) { results[item.index] = result }
        return results.enumerated().map { i, r in r ?? SymbolResult(symbol: symbols[i], error: "not scanned") }
    }

    /// Scans an already loaded series (whole history up to the range end, oldest first).
    public func scan(_ series: BarSeries, as symbol: String? = nil) -> SymbolResult {
        let symbol = symbol ?? series.symbol
        switch reporting(series, as: symbol) {
        case .done(let result): return result
        case .evaluate(let reporting, let inRange):
            let output = evaluator.evaluate(series.columns, reportingIn: reporting)
            return result(series, as: symbol, output, reporting: reporting, inRange: inRange)
        }
    }

    /// Scans several already loaded series, each as ``scan(_:as:)`` would (the same results), with their
    /// formula evaluated ``FormulaEvaluator/laneWidth`` series side by side (``FormulaEvaluator``'s lanes).
    public func scan(_ group: [(series: BarSeries, symbol: String)]) -> [SymbolResult] {
        var results = [SymbolResult?](repeating: nil, count: group.count)
        var pending: [(index: Int, reporting: Range<Int>, inRange: Range<Int>)] = []
        for (i, item) in group.enumerated() {
            switch reporting(item.series, as: item.symbol) {
            case .done(let result): results[i] = result
            case .evaluate(let reporting, let inRange): pending.append((i, reporting, inRange))
            }
        }
        let outputs = evaluator.evaluate(
            pending.map { group[$0.index].series.columns },
            reportingIn: pending.map(\.reporting)
        )
        for (p, output) in zip(pending, outputs) {
            let item = group[p.index]
            results[p.index] = result(item.series, as: item.symbol, output, reporting: p.reporting, inRange: p.inRange)
        }
        return results.enumerated().map { i, r in r ?? SymbolResult(symbol: group[i].symbol, error: "not evaluated") }
    }

    /// What scanning `series` takes: a result already (bad data, nothing in range) or an evaluation.
    private enum Scope {
        case done(SymbolResult)
        case evaluate(reporting: Range<Int>, inRange: Range<Int>)
    }

    private func reporting(_ series: BarSeries, as symbol: String) -> Scope {
        let n = series.count
        let cols = series.columns
        guard cols.close.count == n, series.utcOffsets.isEmpty || series.utcOffsets.count == n else {
            return .done(
                SymbolResult(
                    symbol: symbol,
                    error: "inconsistent bar data: \(n) timestamps but \(cols.close.count) closes"
                )
            )
        }
        // A column the formula reads must be whole (a store leaves out only columns not asked for).
        let missing = cols.missing(fields, count: n)
        guard missing.isEmpty else {
            return .done(
                SymbolResult(
                    symbol: symbol,
                    error: "inconsistent bar data: \(n) timestamps but fewer \(missing) values"
                )
            )
        }
        let inRange = series.indices(in: dateRange)
        let reporting: Range<Int>
        switch mode {
        case .range: reporting = inRange
        case .latest: reporting = inRange.isEmpty ? inRange : (inRange.upperBound - 1)..<inRange.upperBound
        }
        guard !reporting.isEmpty else { return .done(SymbolResult(symbol: symbol, barsScanned: 0)) }
        return .evaluate(reporting: reporting, inRange: inRange)
    }

    /// The result of one evaluated series.
    private func result(
        _ series: BarSeries,
        as symbol: String,
        _ output: FormulaOutput,
        reporting: Range<Int>,
        inRange: Range<Int>
    ) -> SymbolResult {
        let cols = series.columns
        guard output.signals.count == evaluator.plan.signalNames.count else {
            return SymbolResult(
                symbol: symbol,
                error:
                    "evaluation produced \(output.signals.count) signals, the formula declares \(plan.signalNames.count)",
                barsScanned: reporting.count
            )
        }
        let columnNames = plan.columnNames
        var matches: [SignalMatch] = []
        for (s, hits) in output.signals.prefix(plan.signalNames.count).enumerated() {
            let signal = plan.signalNames[s]
            for (k, index) in hits.indices.enumerated() {
                guard reporting.contains(index) else {
                    return SymbolResult(
                        symbol: symbol,
                        error: "evaluation reported bar \(index) outside \(reporting)",
                        barsScanned: reporting.count
                    )
                }
                func value(_ c: Int) -> Double {
                    let column = c < hits.columns.count ? hits.columns[c] : []
                    return k < column.count ? column[k] : .nan
                }
                // No dictionary (a heap object per match) for no column or one.
                var columns = MatchColumns.none
                if columnNames.count == 1 {
                    columns = .one(name: columnNames[0], value: value(0))
                } else if columnNames.count > 1 {
                    var values: [String: Double] = [:]
                    values.reserveCapacity(columnNames.count)
                    for (c, name) in columnNames.enumerated() { values[name] = value(c) }
                    columns = MatchColumns(values)
                }
                matches.append(
                    SignalMatch(
                        symbol: symbol,
                        timestamp: series.timestamp(at: index),
                        signal: signal,
                        close: cols.close[index],
                        columns: columns,
                        forward: study.map { EventStudy.outcome(cols, at: index, $0) }
                    )
                )
            }
        }
        return SymbolResult(
            symbol: symbol,
            matches: matches,
            barsScanned: reporting.count,
            baseline: study.map { spec in
                setup.baselines?.baseline(series, symbol: symbol, bars: inRange, spec)
                    ?? EventStudy.baseline(cols, bars: inRange, spec)
            },
            funnel: explained.map { e in
                FunnelReport.counts(
                    e,
                    hits: output.signals,
                    symbol: symbol,
                    lastBar: mode == .latest
                        ? (reporting.upperBound - 1, series.timestamp(at: reporting.upperBound - 1).description) : nil
                )
            }
        )
    }

    static func describe(_ error: any Error) -> String {
        String(describing: error)
    }
}
