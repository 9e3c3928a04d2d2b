import FormulaEngine
import Foundation
import ScanCore
import ScanProtocol
import Synchronization

/// Evaluates chunks on a fixed set of dedicated threads (never Swift's cooperative pool: loading
/// bars and evaluating block). Every thread works on the oldest chunk first, claiming its symbols
/// one by one, so even a single small chunk uses every thread; each thread keeps its own
/// ``SymbolScanner`` per job (one ``FormulaEvaluator`` per thread), sharing the job's plan.
///
/// Thread-safe: `submit`, `drop` and `held` may be called from any task or thread. A finished
/// chunk is handed to `completion` on the worker thread that finished it.
public final class ChunkExecutor: Sendable {
    /// One chunk in the executor.
    final class Work: Sendable {
        let chunk: ChunkMessage
        struct Progress {
            var nextSymbol = 0
            var finished = 0
            var results: [SymbolResult?]
            var cancelled = false
        }
        let progress: Mutex<Progress>
        /// The plan (or the compile error) and store version, computed once by the first thread.
        let prepared = Mutex<Result<FormulaPlan, PlanFailure>?>(nil)

        init(_ chunk: ChunkMessage) {
            self.chunk = chunk
            progress = Mutex(Progress(results: Array(repeating: nil, count: chunk.symbols.count)))
        }
    }

    struct Queue {
        var works: [Work] = []
        var stopped = false
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let bars: any BarRepository
    private let cache: SeriesCache
    private let plans = Mutex<[String: Result<FormulaPlan, PlanFailure>]>([:])
    private let queue = Mutex(Queue())
    private let condition = NSCondition()
    private let completion: @Sendable (ChunkMessage, [SymbolResult]) -> Void
    private let maxQueued: Int
    public let threadCount: Int
    private let inProgress = Mutex<[ObjectIdentifier: Work]>([:])
    /// Pause after each symbol (see ``EngineNodeConfiguration/paceMsPerSymbol``).
    private let paceMsPerSymbol: Int

    /// - Parameters:
    ///   - completion: called once per chunk that was not dropped, with one result per symbol in order.
    public init(
        bars: any BarRepository,
        cache: SeriesCache,
        threads: Int,
        maxQueued: Int,
        paceMsPerSymbol: Int = 0,
        completion: @escaping @Sendable (ChunkMessage, [SymbolResult]) -> Void
    ) {
        self.paceMsPerSymbol = max(0, paceMsPerSymbol)
        self.bars = bars
        self.cache = cache
        self.threadCount = max(1, threads)
        self.maxQueued = max(1, maxQueued)
        self.completion = completion
        for i in 0..<threadCount {
            let t = Thread { [self] in self.workerLoop() }
            t.name = "engine-node-worker-\(i)"
            t.start()
        }
    }

    /// Queues a chunk.
    public func submit(_ chunk: ChunkMessage) {
        let work = Work(chunk)
        if chunk.symbols.isEmpty {
            completion(chunk, [])
            return
        }
        condition.lock()
        queue.withLock { $0.works.append(work) }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until fewer than `maxQueued` chunks wait for a thread.
    public func waitForRoom() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = queue.withLock { q -> Bool in
                if q.stopped || q.works.count < maxQueued { return true }
                q.roomWaiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Drops a job's queued chunks and stops its running ones (their results are never delivered).
    public func drop(jobId: String) {
        let dropped = queue.withLock { q -> [Work] in
            let d = q.works.filter { $0.chunk.jobId == jobId }
            q.works.removeAll { $0.chunk.jobId == jobId }
            return d
        }
        for w in dropped { w.progress.withLock { $0.cancelled = true } }
        for w in inProgress.withLock({ Array($0.values) }) where w.chunk.jobId == jobId {
            // Once cancelled no symbol is claimed any more: when every claimed one is done (now, or
            // when the last running one finishes) the chunk is no longer held.
            let idle = w.progress.withLock { p -> Bool in
                p.cancelled = true
                return p.finished == p.nextSymbol
            }
            if idle { inProgress.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(w)) } }
        }
        plans.withLock { _ = $0.removeValue(forKey: jobId) }
        wakeRoomWaiters()
    }

    /// The chunks held now (queued or running, not cancelled), for heartbeats.
    public func held() -> [ChunkMessage] {
        let queued = queue.withLock { $0.works }
        let running = inProgress.withLock { Array($0.values) }
        var seen = Set<ObjectIdentifier>()
        return (queued + running).filter { w in
            seen.insert(ObjectIdentifier(w)).inserted && !w.progress.withLock { $0.cancelled }
        }.map(\.chunk)
    }

    /// Stops the threads after the symbol each is on. Idempotent.
    public func stop() {
        condition.lock()
        queue.withLock { $0.stopped = true }
        condition.broadcast()
        condition.unlock()
        wakeRoomWaiters()
    }

    private func wakeRoomWaiters() {
        let waiters = queue.withLock { q -> [CheckedContinuation<Void, Never>] in
            guard q.stopped || q.works.count < maxQueued else { return [] }
            defer { q.roomWaiters = [] }
            return q.roomWaiters
        }
        for w in waiters { w.resume() }
    }

    // MARK: Workers

    /// Claims the next symbol of the oldest chunk; blocks while there is none. `nil` when stopped.
    private func claim() -> (Work, Int)? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let next = queue.withLock { q -> (Work, Int)?? in
                if q.stopped { return .some(nil) }
                while let w = q.works.first {
                    let index = w.progress.withLock { p -> Int? in
                        guard !p.cancelled, p.nextSymbol < w.chunk.symbols.count else { return nil }
                        defer { p.nextSymbol += 1 }
                        return p.nextSymbol
                    }
                    if let index {
                        if index == w.chunk.symbols.count - 1 { q.works.removeFirst() }
                        return .some((w, index))
                    }
                    q.works.removeFirst()
                }
                return nil
            }
            switch next {
            case .some(.some(let claimed)):
                inProgress.withLock { $0[ObjectIdentifier(claimed.0)] = claimed.0 }
                if claimed.1 == claimed.0.chunk.symbols.count - 1 { wakeRoomWaiters() }
                return claimed
            case .some(.none):
                return nil
            case .none:
                condition.wait()
            }
        }
    }

    private func workerLoop() {
        var scanners: [String: SymbolScanner] = [:]
        while let (work, index) = claim() {
            let chunk = work.chunk
            let symbol = chunk.symbols[index]
            let result: SymbolResult
            if work.progress.withLock({ $0.cancelled }) {
                result = SymbolResult(symbol: symbol, error: "cancelled")
            } else {
                switch prepare(work) {
                case .failure(let e):
                    result = SymbolResult(symbol: symbol, error: "invalid formula: \(e.description)")
                case .success(let plan):
                    let key = "\(chunk.jobId)"
                    let scanner: SymbolScanner
                    if let s = scanners[key] {
                        scanner = s
                    } else {
                        if scanners.count >= 8 { scanners = [:] }
                        scanner = SymbolScanner(
                            plan: plan,
                            timeframe: chunk.timeframe,
                            dateRange: chunk.dateRange,
                            mode: chunk.mode
                        )
                        scanners[key] = scanner
                    }
                    result = scan(symbol, with: scanner)
                }
            }
            if paceMsPerSymbol > 0 { Thread.sleep(forTimeInterval: Double(paceMsPerSymbol) / 1000) }
            finish(work, index, result)
        }
    }

    private func scan(_ symbol: String, with scanner: SymbolScanner) -> SymbolResult {
        do {
            let series = try cache.series(scanner.query(for: symbol), from: bars)
            return scanner.scan(series, as: symbol)
        } catch {
            return SymbolResult(symbol: symbol, error: "cannot read bars: \(error)")
        }
    }

    /// Compiles the job's plan once (per job, cached) and checks the store version once per chunk.
    private func prepare(_ work: Work) -> Result<FormulaPlan, PlanFailure> {
        work.prepared.withLock { p in
            if let p { return p }
            if let version = try? bars.dataVersion() { cache.validate(version: version) }
            let chunk = work.chunk
            let plan =
                plans.withLock { $0[chunk.jobId] }
                ?? {
                    let compiled: Result<FormulaPlan, PlanFailure>
                    do {
                        compiled = .success(
                            try FormulaPlan.compile(
                                source: chunk.formula.source,
                                name: chunk.formula.name,
                                parameters: chunk.parameters
                            )
                        )
                    } catch {
                        compiled = .failure(PlanFailure(description: "\(error)"))
                    }
                    plans.withLock { cache in
                        if cache.count > 64 { cache = [:] }
                        cache[chunk.jobId] = compiled
                    }
                    return compiled
                }()
            p = plan
            return plan
        }
    }

    private func finish(_ work: Work, _ index: Int, _ result: SymbolResult) {
        let done = work.progress.withLock { p -> (results: [SymbolResult], cancelled: Bool)? in
            p.results[index] = result
            p.finished += 1
            // A cancelled chunk's unclaimed symbols are never run: it ends with its last claimed one.
            if p.cancelled, p.finished == p.nextSymbol { return ([], true) }
            guard p.finished == work.chunk.symbols.count else { return nil }
            return (p.results.map { $0 ?? SymbolResult(symbol: "", error: "missing") }, p.cancelled)
        }
        guard let done else { return }
        inProgress.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(work)) }
        if !done.cancelled { completion(work.chunk, done.results) }
    }
}

/// Why a chunk's formula did not compile on the node (the service checks formulas first, so this
/// means the node runs another FormulaEngine version).
struct PlanFailure: Error, Sendable, CustomStringConvertible {
    var description: String
}
