import FormulaEngine
import Foundation
import ScanCore
import ScanProtocol
import Synchronization

/// Evaluates a node's chunks on a ``ScanExecutor`` (the scheduler the in-process engine uses too):
/// dedicated threads, each taking the next symbol of the oldest chunk, so even a single small chunk
/// uses every thread. A job's formula is compiled once (the plan is shared by its chunks and every
/// thread keeps its own scanner for it); the store version is checked once per chunk, on a worker
/// thread. Symbols are read through the node's ``SeriesCache``, a chunk's misses in groups of the
/// store's preferred read batch (a ``ScanCore/BarPrefetch``).
///
/// Thread-safe: `submit`, `drop` and `held` may be called from any task or thread. A finished
/// chunk is handed to `completion` on the worker thread that finished it; a dropped one never is,
/// and it stops being held as soon as the symbols being scanned finish.
public final class ChunkExecutor: Sendable {
    private let executor: ScanExecutor
    private let bars: any BarRepository
    private let cache: SeriesCache
    /// Symbols' event-study baselines, kept across jobs while the store's version holds.
    private let baselines = BaselineMemo()
    /// Each job's setup (or why its formula does not compile), compiled once per job.
    private let setups = Mutex<[String: Result<ScanSetup, BatchSetupError>]>([:])
    private let completion: @Sendable (ChunkMessage, [SymbolResult]) -> Void
    private let refusal: @Sendable (ChunkMessage, StoreVersion?, String) -> Void
    private let maxQueued: Int
    /// Pause after each symbol (see ``EngineNodeConfiguration/paceMsPerSymbol``).
    private let paceMsPerSymbol: Int
    /// The lease of every chunk in the executor (a chunk dispatched twice to this node has two).
    private let leases = Mutex<[ChunkRef: [LeaseToken]]>([:])
    private let symbolCount = Atomic<Int>(0)

    public var threadCount: Int { executor.threadCount }

    /// - Parameters:
    ///   - completion: called once per chunk that was not dropped, with one result per symbol in order.
    ///   - refusal: called instead of `completion` for a chunk whose ``ChunkMessage/dataVersion`` the
    ///     store is not at (with the store's version, `nil` when unreadable, and why).
    public init(
        bars: any BarRepository,
        cache: SeriesCache,
        threads: Int,
        maxQueued: Int,
        paceMsPerSymbol: Int = 0,
        completion: @escaping @Sendable (ChunkMessage, [SymbolResult]) -> Void,
        refusal: @escaping @Sendable (ChunkMessage, StoreVersion?, String) -> Void = { _, _, _ in }
    ) {
        self.refusal = refusal
        self.executor = ScanExecutor(threads: threads, name: "engine-node-worker")
        self.paceMsPerSymbol = max(0, paceMsPerSymbol)
        self.bars = bars
        self.cache = cache
        self.maxQueued = max(1, maxQueued)
        self.completion = completion
    }

    /// Queues a chunk.
    public func submit(_ chunk: ChunkMessage) {
        let completion = self.completion
        let pace = paceMsPerSymbol
        let bars = self.bars
        let cache = self.cache
        let baselines = self.baselines
        let refusal = self.refusal
        let ref = ChunkRef(jobId: chunk.jobId, chunkIndex: chunk.chunkIndex)
        leases.withLock { $0[ref, default: []].append(chunk.lease) }
        // Set by `prepare` when the store holds other data: the chunk's symbols then end at once
        // (no bars are read) and the chunk is refused instead of completed.
        let refused = Mutex<(version: StoreVersion?, why: String)?>(nil)
        let prefetch = BarPrefetch(symbols: chunk.symbols, groupSize: bars.preferredReadBatch) { queries in
            cache.series(queries, from: bars)
        }
        // Paced runs (tests that hold chunks in flight) keep scanning symbol by symbol.
        var scanGroup: (@Sendable (SymbolScanner, [String]) -> [SymbolResult])?
        if pace == 0 {
            scanGroup = { [self] (scanner: SymbolScanner, symbols: [String]) -> [SymbolResult] in
                let load = { (q: BarQuery) throws -> BarSeries in
                    try prefetch.series(for: q.symbol, query: scanner.query(for:))
                }
                let results = scanner.scan(symbols: symbols, load: load)
                self.symbolCount.add(symbols.count, ordering: .relaxed)
                return results
            }
        }
        executor.submit(
            ScanBatch(
                jobId: chunk.jobId,
                chunkIndex: chunk.chunkIndex,
                symbols: chunk.symbols,
                prepare: { [self] in
                    if let why = Self.refusal(of: chunk, bars: bars, cache: cache, baselines: baselines) {
                        refused.withLock { $0 = why }
                        return .failure(BatchSetupError("refused: \(why.why)"))
                    }
                    return setup(for: chunk)
                },
                scan: { [self] scanner, symbol in
                    let result: SymbolResult
                    do {
                        let series = try prefetch.series(for: symbol, query: scanner.query(for:))
                        result = scanner.scan(series, as: symbol)
                    } catch {
                        result = SymbolResult(symbol: symbol, error: "cannot read bars: \(error)")
                    }
                    if pace > 0 { Thread.sleep(forTimeInterval: Double(pace) / 1000) }
                    self.symbolCount.add(1, ordering: .relaxed)
                    return result
                },
                scanGroup: scanGroup,
                onEnd: { [self] end in
                    self.leases.withLock { all in
                        guard let i = all[ref]?.firstIndex(of: chunk.lease) else { return }
                        all[ref]?.remove(at: i)
                        if all[ref]?.isEmpty == true { all[ref] = nil }
                    }
                    guard !end.cancelled else { return }
                    if let why = refused.withLock({ $0 }) {
                        refusal(chunk, why.version, why.why)
                    } else {
                        completion(chunk, end.results)
                    }
                }
            )
        )
    }

    /// Waits until fewer than `maxQueued` chunks wait for a thread.
    public func waitForRoom() async { await executor.waitForRoom(limit: maxQueued) }

    /// Drops a job's queued chunks and stops its running ones (their results are never delivered;
    /// they stop being held once the symbols being scanned finish).
    public func drop(jobId: String) {
        executor.cancel(jobId: jobId)
        setups.withLock { _ = $0.removeValue(forKey: jobId) }
    }

    /// The chunks held now (queued or running, not cancelled), each with its lease, for heartbeats.
    public func held() -> [HeldChunk] {
        let refs = Set(executor.held().map { ChunkRef(jobId: $0.jobId, chunkIndex: $0.chunkIndex) })
        let leases = leases.withLock { $0 }
        return refs.flatMap { ref in
            (leases[ref] ?? []).map { HeldChunk(jobId: ref.jobId, chunkIndex: ref.chunkIndex, lease: $0) }
        }
    }

    /// Symbols evaluated so far (heartbeats report it: a node holding chunks whose count stands still
    /// is stalled).
    public var symbolsDone: Int { symbolCount.load(ordering: .relaxed) }

    /// Stops the threads after the symbol each is on. Idempotent.
    public func stop() { executor.stop() }

    /// Reads the store version (once per chunk, on a worker thread), revalidates the cache and the
    /// baselines, and says why the chunk must be refused when the store is not at the chunk's version
    /// (`nil`: go ahead).
    static func refusal(
        of chunk: ChunkMessage,
        bars: any BarRepository,
        cache: SeriesCache,
        baselines: BaselineMemo
    )
        -> (version: StoreVersion?, why: String)?
    {
        do {
            let version = try bars.storeVersion()
            cache.validate(version: version.version)
            baselines.validate(version: version.version)
            guard let wanted = chunk.dataVersion, wanted != version else { return nil }
            return (version, "store at \(version), chunk wants \(wanted)")
        } catch {
            guard let wanted = chunk.dataVersion else { return nil }
            return (nil, "cannot read the store version (chunk wants \(wanted)): \(error)")
        }
    }

    /// The job's setup, compiled by the first of its chunks to run (the service checks formulas
    /// first, so a failure means the node runs another FormulaEngine version).
    private func setup(for chunk: ChunkMessage) -> Result<ScanSetup, BatchSetupError> {
        if let known = setups.withLock({ $0[chunk.jobId] }) { return known }
        let compiled: Result<ScanSetup, BatchSetupError>
        do {
            let plan = try FormulaPlan.compile(
                source: chunk.formula.source,
                name: chunk.formula.name,
                parameters: chunk.parameters
            )
            let explained =
                chunk.explain
                ? try ExplainedPlan.compile(
                    source: chunk.formula.source,
                    name: chunk.formula.name,
                    parameters: chunk.parameters,
                    operands: chunk.mode == .latest
                ) : nil
            compiled = .success(
                ScanSetup(
                    plan: plan,
                    timeframe: chunk.timeframe,
                    dateRange: chunk.dateRange,
                    mode: chunk.mode,
                    study: chunk.study,
                    explained: explained,
                    baselines: baselines
                )
            )
        } catch {
            compiled = .failure(BatchSetupError("invalid formula: \(error)"))
        }
        return setups.withLock { known in
            if let first = known[chunk.jobId] { return first }  // another chunk of the job compiled it meanwhile
            if known.count > 64 { known = [:] }
            known[chunk.jobId] = compiled
            return compiled
        }
    }
}
