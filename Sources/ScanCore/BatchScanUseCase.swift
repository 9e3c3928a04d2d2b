import FormulaEngine
import Foundation
import Synchronization

/// Runs one batch scan: resolve the universe, apply exclusions, check the formula (before any bar is
/// read), build the job, run it on the engine with progress and cancellation, aggregate.
public struct BatchScanUseCase: Sendable {
    public let symbols: any SymbolRepository
    public let bars: any BarRepository
    public let engine: any ProcessingEngine

    public init(symbols: any SymbolRepository, bars: any BarRepository, engine: any ProcessingEngine) {
        self.symbols = symbols
        self.bars = bars
        self.engine = engine
    }

    /// Checks and compiles the request's formula with its parameters. Reads no data.
    /// - Throws: ``FormulaError`` with the located message.
    public static func checkFormula(_ request: BatchScanRequest) throws -> FormulaPlan {
        try FormulaPlan.compile(
            source: request.formula.source,
            name: request.formula.name,
            parameters: request.parameters
        )
    }

    /// The request's date range, or the default: the last year of data (365 days up to the newest
    /// stored session of the timeframe; up to today when the store holds none).
    public func dateRange(for request: BatchScanRequest) async throws -> DateRange {
        if let range = request.dateRange {
            return try DateRange.resolving(from: range.from, to: range.to, newest: nil)
        }
        let bars = self.bars
        let timeframe = request.timeframe
        let latest = try await Blocking.run { try bars.latestDay(for: timeframe) }
        return try DateRange.resolving(from: nil, to: nil, newest: latest)
    }

    /// Resolves the universe and reads the store version it was resolved against (the version is read
    /// before and after; a write in between makes it resolve again (a few times), so the two agree).
    func resolveUniverse(_ criteria: SymbolCriteria) async throws -> (ResolvedUniverse, StoreVersion) {
        let bars = self.bars
        var before = try await Blocking.run { try bars.storeVersion() }
        var attempt = 0
        while true {
            let universe = try await symbols.resolve(criteria)
            let after = try await Blocking.run { try bars.storeVersion() }
            // Under a steady stream of writes, give up agreeing after a few tries: the nodes then
            // refuse the chunks as stale and the scan fails naming the versions.
            if after == before || attempt == 3 { return (universe, after) }
            before = after
            attempt += 1
        }
    }

    /// Scans `request`.
    ///
    /// - Parameters:
    ///   - plan: the request's formula compiled by ``checkFormula(_:)``, the one plan of the job (the
    ///     engine runs it as given); `nil` compiles it here.
    ///   - jobId: the job's id (the service uses its session id); a new UUID when `nil`.
    ///   - progress: called as symbols finish (see ``ProcessingEngine``).
    ///   - cancellation: stops the scan; the result then holds the finished part and is marked cancelled.
    /// - Throws: ``FormulaError`` for a bad formula (before any data is read), ``ScanError`` for a bad
    ///   request, and whatever the engine or the symbol repository throws when they fail as a whole.
    public func execute(
        _ request: BatchScanRequest,
        plan: FormulaPlan? = nil,
        jobId: String? = nil,
        progress: @escaping @Sendable (ScanProgress) -> Void = { _ in },
        cancellation: CancellationToken = CancellationToken()
    ) async throws -> BatchScanResult {
        let clock = ContinuousClock()
        let start = clock.now
        let plan = try plan ?? Self.checkFormula(request)
        let range = try await dateRange(for: request)
        let (universe, version) = try await resolveUniverse(request.symbolCriteria)
        let excluded = Set(request.symbolCriteria.exclude)
        var seen = Set<String>()
        let scanSymbols = universe.symbols.map(\.symbol).filter { !excluded.contains($0) && seen.insert($0).inserted }
        let unknown = universe.unknown.filter { !excluded.contains($0) && seen.insert($0).inserted }

        let job = ProcessingJob(
            id: jobId ?? UUID().uuidString.lowercased(),
            symbols: scanSymbols,
            timeframe: request.timeframe,
            dateRange: range,
            formula: request.formula,
            parameters: request.parameters,
            mode: request.mode,
            study: request.study,
            explain: request.explain,
            dataVersion: version
        )
        var results: [SymbolResult] = []
        if !job.symbols.isEmpty && !cancellation.isCancelled {
            results = try await engine.processBatch(job, plan: plan, progress: progress, cancellation: cancellation)
        } else if job.symbols.isEmpty {
            progress(ScanProgress(completed: 0, total: 0, matchesSoFar: 0))
        }
        let cancelled = cancellation.isCancelled || Task.isCancelled
        results += unknown.map { SymbolResult(symbol: $0, error: "unknown symbol '\($0)'") }
        let elapsed = clock.now - start
        var result = Self.result(jobId: job.id, results: results, processingTime: elapsed, cancelled: cancelled)
        Self.analyse(&result, request: request, plan: plan, results: results)
        return result
    }

    /// Adds the event study and the condition funnel the request asked for to `result`.
    public static func analyse(
        _ result: inout BatchScanResult,
        request: BatchScanRequest,
        plan: FormulaPlan,
        results: [SymbolResult]
    ) {
        if let spec = request.study {
            result.study = StudyReport.aggregate(
                spec: spec,
                mode: request.mode,
                signalNames: plan.signalNames,
                matches: result.signals.matches,
                results: results
            )
        }
        if request.explain,
            let explained = try? ExplainedPlan.compile(
                source: request.formula.source,
                name: request.formula.name,
                parameters: request.parameters,
                operands: request.mode == .latest
            )
        {
            result.funnel = FunnelReport.aggregate(explained, results: results)
        }
    }

    /// Aggregates per-symbol results into a ``BatchScanResult`` (matches sorted by timestamp, symbol,
    /// signal; errors sorted by symbol).
    ///
    /// The sorted matches and the statistics are both read from `results` alone, so they are built at
    /// once, on two cores when there are two (on T2's 2,000 symbols, the statistics took a quarter of
    /// this step's 12 ms on the service, after the sort).
    public static func result(
        jobId: String,
        results: [SymbolResult],
        processingTime: Duration,
        cancelled: Bool
    ) -> BatchScanResult {
        let (signals, statistics) = concurrently(
            { SignalAggregator.aggregate(results, sortBy: .timestamp) },
            { SignalAggregator.statistics(of: results) }
        )
        let errors = results.compactMap { r in r.error.map { SymbolError(symbol: r.symbol, message: $0) } }
            .sorted { $0.symbol < $1.symbol }
        let (seconds, attoseconds) = processingTime.components
        let ms = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return BatchScanResult(
            jobId: jobId,
            signals: signals,
            statistics: statistics,
            processingTimeMs: ms,
            errors: errors,
            cancelled: cancelled
        )
    }

    /// `first()` and `second()`, run at the same time (`DispatchQueue.concurrentPerform`: the calling
    /// thread runs one of them, so on one core they simply run in turn). CPU work only, no waiting.
    static func concurrently<A: Sendable, B: Sendable>(
        _ first: @Sendable () -> A,
        _ second: @Sendable () -> B
    ) -> (A, B) {
        let out = Mutex<(A?, B?)>((nil, nil))
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            if i == 0 {
                let a = first()
                out.withLock { $0.0 = a }
            } else {
                let b = second()
                out.withLock { $0.1 = b }
            }
        }
        let (a, b) = out.withLock { $0 }
        guard let a, let b else { preconditionFailure("concurrentPerform returned before both iterations ran") }
        return (a, b)
    }
}

/// A request that cannot be run, for a reason other than its formula.
public enum ScanError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidDateRange(DateRange)

    public var description: String {
        switch self {
        case .invalidDateRange(let r): "invalid date range: from \(r.from) is after to \(r.to)"
        }
    }
}
