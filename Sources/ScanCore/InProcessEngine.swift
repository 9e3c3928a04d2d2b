import FormulaEngine
import Foundation
import Synchronization

/// Runs a job in this process on every core.
///
/// The job is split into chunks; a fixed set of dedicated threads (never Swift's cooperative pool,
/// since loading bars and evaluating formulas block) takes chunks one after another, each thread with
/// its own ``SymbolScanner`` reused across symbols. Progress is reported after every symbol, serially,
/// so `completed` counts up by one from 1 to the total. Cancellation (the token or the calling task)
/// is checked before every symbol; the symbols that finished are returned.
public struct InProcessEngine: ProcessingEngine {
    public let bars: any BarRepository
    public let threads: Int
    /// Symbols per chunk; `nil` picks one from the job size and thread count.
    public let chunkSize: Int?

    public init(bars: any BarRepository, threads: Int? = nil, chunkSize: Int? = nil) {
        self.bars = bars
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        self.chunkSize = chunkSize.map { max(1, $0) }
    }

    public func processBatch(
        _ job: ProcessingJob,
        progress: @escaping @Sendable (ScanProgress) -> Void,
        cancellation: CancellationToken
    ) async throws -> [SymbolResult] {
        let plan = try FormulaPlan.compile(
            source: job.formula.source,
            name: job.formula.name,
            parameters: job.parameters
        )
        let size = chunkSize ?? ProcessingJob.chunkSize(symbolCount: job.symbols.count, workers: threads)
        let chunks = job.chunks(size: size)
        guard !chunks.isEmpty else { return [] }
        let run = EngineRun(
            job: job,
            plan: plan,
            chunks: chunks,
            bars: bars,
            progress: progress,
            cancellation: cancellation
        )
        let workers = min(threads, chunks.count)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[SymbolResult], Never>) in
                run.start(workers: workers) { continuation.resume(returning: $0) }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }
}

/// The shared state of one ``InProcessEngine/processBatch(_:progress:cancellation:)`` call.
private final class EngineRun: Sendable {
    struct State {
        var nextChunk = 0
        var completed = 0
        var matches = 0
        var runningWorkers = 0
        /// Finished symbols, per chunk, in chunk order.
        var results: [[SymbolResult]]
        var done: (@Sendable ([SymbolResult]) -> Void)?
    }

    let job: ProcessingJob
    let plan: FormulaPlan
    let chunks: [JobChunk]
    let bars: any BarRepository
    let progress: @Sendable (ScanProgress) -> Void
    let cancellation: CancellationToken
    let state: Mutex<State>

    init(
        job: ProcessingJob,
        plan: FormulaPlan,
        chunks: [JobChunk],
        bars: any BarRepository,
        progress: @escaping @Sendable (ScanProgress) -> Void,
        cancellation: CancellationToken
    ) {
        self.job = job
        self.plan = plan
        self.chunks = chunks
        self.bars = bars
        self.progress = progress
        self.cancellation = cancellation
        self.state = Mutex(State(results: Array(repeating: [], count: chunks.count)))
    }

    func start(workers: Int, done: @escaping @Sendable ([SymbolResult]) -> Void) {
        state.withLock {
            $0.done = done
            $0.runningWorkers = workers
        }
        for n in 0..<workers {
            let thread = Thread { [self] in work() }
            thread.name = "scan-worker-\(n)"
            thread.start()
        }
    }

    private func work() {
        let scanner = SymbolScanner(plan: plan, job: job)
        let total = job.symbols.count
        while !cancellation.isCancelled {
            let index: Int? = state.withLock { s in
                guard s.nextChunk < chunks.count else { return nil }
                defer { s.nextChunk += 1 }
                return s.nextChunk
            }
            guard let index else { break }
            for symbol in chunks[index].symbols {
                if cancellation.isCancelled { break }
                let result = scanner.scan(symbol: symbol, bars: bars)
                state.withLock { s in
                    s.results[index].append(result)
                    s.completed += 1
                    s.matches += result.matches.count
                    progress(ScanProgress(completed: s.completed, total: total, matchesSoFar: s.matches))
                }
            }
        }
        let finish: (([SymbolResult]) -> Void, [SymbolResult])? = state.withLock { s in
            s.runningWorkers -= 1
            guard s.runningWorkers == 0, let done = s.done else { return nil }
            s.done = nil
            return (done, s.results.flatMap { $0 })
        }
        if let (done, results) = finish { done(results) }
    }
}
