import FormulaEngine
import Foundation
import Synchronization

/// What every symbol of a job is scanned with: its compiled plan and the job's timeframe, range and
/// mode, its event study and (for the condition funnel) the plan with its clauses. One per job, shared
/// by every thread; each thread keeps its own ``SymbolScanner`` for it (``SymbolScanner/init(setup:)``).
public final class ScanSetup: Sendable {
    public let plan: FormulaPlan
    public let timeframe: Timeframe
    public let dateRange: DateRange
    public let mode: ScanMode
    public let study: StudySpec?
    public let explained: ExplainedPlan?
    /// Baselines remembered from earlier scans (an engine node's), else `nil`: computed every time.
    public let baselines: BaselineMemo?

    public init(
        plan: FormulaPlan,
        timeframe: Timeframe,
        dateRange: DateRange,
        mode: ScanMode,
        study: StudySpec? = nil,
        explained: ExplainedPlan? = nil,
        baselines: BaselineMemo? = nil
    ) {
        self.plan = plan
        self.timeframe = timeframe
        self.dateRange = dateRange
        self.mode = mode
        self.study = study
        self.explained = explained
        self.baselines = baselines
    }

    /// The setup of `job`, scanned with its already compiled `plan`.
    /// - Throws: ``FormulaError`` when the job explains and its clauses do not compile.
    public convenience init(plan: FormulaPlan, job: ProcessingJob) throws {
        self.init(
            plan: plan,
            timeframe: job.timeframe,
            dateRange: job.dateRange,
            mode: job.mode,
            study: job.study,
            explained: job.explain ? try job.compileExplainedPlan() : nil
        )
    }
}

/// Why a batch's symbols could not be scanned at all (each of them gets this as its error).
public struct BatchSetupError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// How a ``ScanBatch`` ended: the symbols that were scanned, in the batch's order (every symbol
/// unless it was cancelled), and whether it was cancelled.
public struct BatchEnd: Sendable {
    public var results: [SymbolResult]
    public var cancelled: Bool
}

/// A run of symbols of one job — a chunk — for a ``ScanExecutor``.
public final class ScanBatch: Sendable {
    public let jobId: String
    public let chunkIndex: Int
    public let symbols: [String]

    fileprivate struct Progress {
        var nextSymbol = 0
        var inFlight = 0
        var results: [SymbolResult?]
        var cancelled = false
        var ended = false
    }

    fileprivate let progress: Mutex<Progress>
    /// The setup (or why there is none), made once by the first thread that claims a symbol.
    private let setup = Mutex<Result<ScanSetup, BatchSetupError>?>(nil)
    private let prepare: @Sendable () -> Result<ScanSetup, BatchSetupError>
    fileprivate let scan: @Sendable (SymbolScanner, String) -> SymbolResult
    fileprivate let scanGroup: (@Sendable (SymbolScanner, [String]) -> [SymbolResult])?
    fileprivate let onResult: @Sendable (SymbolResult) -> Void
    fileprivate let onEnd: @Sendable (BatchEnd) -> Void

    /// - Parameters:
    ///   - prepare: run once, on the first worker thread that reaches the batch (blocking work, such as
    ///     checking the store's version, belongs here): the job's setup, the same object for every
    ///     batch of a job so that threads reuse their scanner.
    ///   - scan: loads and scans one symbol with this thread's scanner.
    ///   - scanGroup: loads and scans up to ``FormulaEvaluator/laneWidth`` symbols at once (one result per
    ///     symbol, in order), typically with ``SymbolScanner/scan(_:)-([(series:symbol:)])`` so that their
    ///     formula runs in SIMD lanes; `nil`: symbol by symbol with `scan`.
    ///   - onResult: called on the worker thread after each symbol that was scanned.
    ///   - onEnd: called once, when the last symbol finished or, after ``ScanExecutor/cancel(jobId:)``,
    ///     when no symbol of the batch is being scanned any more.
    public init(
        jobId: String,
        chunkIndex: Int,
        symbols: [String],
        prepare: @escaping @Sendable () -> Result<ScanSetup, BatchSetupError>,
        scan: @escaping @Sendable (SymbolScanner, String) -> SymbolResult,
        scanGroup: (@Sendable (SymbolScanner, [String]) -> [SymbolResult])? = nil,
        onResult: @escaping @Sendable (SymbolResult) -> Void = { _ in },
        onEnd: @escaping @Sendable (BatchEnd) -> Void
    ) {
        self.jobId = jobId
        self.chunkIndex = chunkIndex
        self.symbols = symbols
        self.prepare = prepare
        self.scan = scan
        self.scanGroup = scanGroup
        self.onResult = onResult
        self.onEnd = onEnd
        self.progress = Mutex(Progress(results: Array(repeating: nil, count: symbols.count)))
    }

    fileprivate func preparedSetup() -> Result<ScanSetup, BatchSetupError> {
        setup.withLock { s in
            if let s { return s }
            let made = prepare()
            s = made
            return made
        }
    }

    fileprivate var isCancelled: Bool { progress.withLock { $0.cancelled } }
}

/// Runs jobs' batches on a fixed set of dedicated threads — the one scheduler of the in-process
/// engine and of the engine nodes.
///
/// Every thread takes the next symbol of the oldest batch (four at once for a batch with a `scanGroup`,
/// while every thread can still get four), so even a single small batch uses every thread and batches
/// finish in the order they came. Each thread keeps one ``SymbolScanner`` per
/// job (one ``FormulaEvaluator``'s buffers, reused from symbol to symbol) and shares the job's plan.
/// ``cancel(jobId:)`` drops a job's symbols that no thread took yet; a cancelled batch ends as soon
/// as the symbols being scanned finish, so nothing is held for a job that was given up.
///
/// Thread-safe: every method may be called from any task or thread.
public final class ScanExecutor: Sendable {
    private struct State {
        /// Batches with symbols no thread took yet, oldest first.
        var waiting: [ScanBatch] = []
        /// Batches that have not ended (waiting or being scanned), in the order they came.
        var active: [ScanBatch] = []
        var roomWaiters: [(limit: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var stopped = false
    }

    public let threadCount: Int
    private let pool: ThreadPool
    private let state = Mutex(State())

    /// - Parameters:
    ///   - threads: how many threads scan (at least 1).
    ///   - name: the threads' name.
    public init(threads: Int, name: String) {
        threadCount = max(1, threads)
        pool = ThreadPool(maxThreads: threadCount, name: name)
    }

    /// Queues a batch behind the others.
    public func submit(_ batch: ScanBatch) {
        if batch.symbols.isEmpty {
            batch.progress.withLock { $0.ended = true }
            batch.onEnd(BatchEnd(results: [], cancelled: false))
            return
        }
        let accepted = state.withLock { s -> Bool in
            guard !s.stopped else { return false }
            s.waiting.append(batch)
            s.active.append(batch)
            return true
        }
        guard accepted else { return }
        // One turn per symbol: each turn scans the next symbol of the oldest batch (or nothing, when
        // a cancellation took the symbols away).
        for _ in batch.symbols { pool.submit { [self] context in turn(context) } }
    }

    /// Drops `jobId`'s symbols that no thread took yet; its batches end (cancelled) once the symbols
    /// being scanned are done.
    public func cancel(jobId: String) {
        let batches = state.withLock { s -> [ScanBatch] in
            s.waiting.removeAll { $0.jobId == jobId }
            return s.active.filter { $0.jobId == jobId }
        }
        for batch in batches {
            let ends = batch.progress.withLock { p -> Bool in
                p.cancelled = true
                return endIfDone(&p)
            }
            if ends { end(batch) }
        }
        wakeRoomWaiters()
    }

    /// The batches that have not ended and were not cancelled, as (job, chunk), oldest first.
    public func held() -> [(jobId: String, chunkIndex: Int)] {
        state.withLock { $0.active }.filter { !$0.isCancelled }.map { ($0.jobId, $0.chunkIndex) }
    }

    /// Waits until fewer than `limit` batches have symbols no thread took yet (or the executor stopped).
    public func waitForRoom(limit: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.stopped || s.waiting.count < limit { return true }
                s.roomWaiters.append((limit, c))
                return false
            }
            if now { c.resume() }
        }
    }

    /// Stops the threads after the symbol each is on; queued batches never end. Idempotent.
    public func stop() {
        state.withLock { $0.stopped = true }
        pool.stop()
        wakeRoomWaiters()
    }

    // MARK: Threads

    private func turn(_ context: WorkerContext) {
        guard let (batch, claimed) = claim() else { return }
        let symbols = Array(batch.symbols[claimed])
        var results: [SymbolResult]?
        if batch.isCancelled {
            results = nil
        } else {
            switch batch.preparedSetup() {
            case .failure(let e):
                results = symbols.map { SymbolResult(symbol: $0, error: e.description) }
            case .success(let setup):
                let scanner = context.value(for: setup, limit: 8) { SymbolScanner(setup: setup) }
                if let scanGroup = batch.scanGroup, symbols.count > 1 {
                    let scanned = scanGroup(scanner, symbols)
                    // One result per symbol, in order; a closure that breaks this loses nothing silently.
                    results = symbols.indices.map { i in
                        i < scanned.count && scanned[i].symbol == symbols[i]
                            ? scanned[i]
                            : SymbolResult(symbol: symbols[i], error: "the group scan returned no result for it")
                    }
                } else {
                    results = symbols.map { batch.scan(scanner, $0) }
                }
            }
        }
        for result in results ?? [] { batch.onResult(result) }
        let ends = batch.progress.withLock { p -> Bool in
            p.inFlight -= symbols.count
            if let results {
                for (index, result) in zip(claimed, results) { p.results[index] = result }
            }
            return endIfDone(&p)
        }
        if ends { end(batch) }
    }

    /// The next symbols of the oldest batch that has some, counted as in flight: one, or
    /// ``FormulaEvaluator/laneWidth`` for a batch that scans groups while every thread can still get
    /// that many (a smaller group would not fill the lanes; the last symbols go one at a time).
    private func claim() -> (ScanBatch, Range<Int>)? {
        let threads = threadCount
        let claimed = state.withLock { s -> (ScanBatch, Range<Int>, emptied: Bool)? in
            while let batch = s.waiting.first {
                let range = batch.progress.withLock { p -> Range<Int>? in
                    let left = batch.symbols.count - p.nextSymbol
                    guard !p.cancelled, left > 0 else { return nil }
                    let share = (left + threads - 1) / threads
                    let width = FormulaEvaluator.laneWidth
                    let take = batch.scanGroup != nil && share >= width ? width : 1
                    p.inFlight += take
                    p.nextSymbol += take
                    return (p.nextSymbol - take)..<p.nextSymbol
                }
                if let range {
                    let emptied = range.upperBound == batch.symbols.count
                    if emptied { s.waiting.removeFirst() }
                    return (batch, range, emptied)
                }
                s.waiting.removeFirst()
            }
            return nil
        }
        guard let claimed else { return nil }
        if claimed.emptied { wakeRoomWaiters() }
        return (claimed.0, claimed.1)
    }

    /// Marks the batch ended when nothing of it is left to scan: `true` exactly once.
    private func endIfDone(_ p: inout ScanBatch.Progress) -> Bool {
        guard !p.ended, p.inFlight == 0 else { return false }
        let finished = p.cancelled || p.nextSymbol == p.results.count
        guard finished else { return false }
        p.ended = true
        return true
    }

    private func end(_ batch: ScanBatch) {
        state.withLock { $0.active.removeAll { $0 === batch } }
        let end = batch.progress.withLock { p in BatchEnd(results: p.results.compactMap { $0 }, cancelled: p.cancelled)
        }
        batch.onEnd(end)
    }

    private func wakeRoomWaiters() {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            var ready: [CheckedContinuation<Void, Never>] = []
            s.roomWaiters.removeAll { waiter in
                guard s.stopped || s.waiting.count < waiter.limit else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        for c in ready { c.resume() }
    }
}
