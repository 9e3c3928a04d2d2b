import FormulaEngine
import Foundation
import Synchronization

/// Runs a job in this process on every core.
///
/// The job is split into chunks and run on a ``ScanExecutor`` — the scheduler the engine nodes use:
/// dedicated threads (never Swift's cooperative pool, since loading bars and evaluating formulas
/// block), each taking the next symbol of the oldest chunk with its own ``SymbolScanner``; a chunk's
/// bars are read through a ``BarPrefetch`` (in groups of the store's preferred read batch). Progress
/// is reported after every symbol, serially, so `completed` counts up by one from 1 to the total.
/// Cancellation (the token or the calling task) drops the symbols no thread took yet; the symbols
/// that finished are returned.
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
        plan: FormulaPlan,
        progress: @escaping @Sendable (ScanProgress) -> Void,
        cancellation: CancellationToken
    ) async throws -> [SymbolResult] {
        let size = chunkSize ?? ProcessingJob.chunkSize(symbolCount: job.symbols.count, workers: threads)
        let chunks = job.chunks(size: size)
        guard !chunks.isEmpty else { return [] }
        let executor = ScanExecutor(threads: min(threads, job.symbols.count), name: "scan-worker")
        defer { executor.stop() }
        let setup = try ScanSetup(plan: plan, job: job)
        let bars = self.bars
        let total = job.symbols.count
        let state = Mutex(Tally(results: Array(repeating: [], count: chunks.count), remaining: chunks.count))
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[SymbolResult], Never>) in
                for chunk in chunks {
                    let prefetch = BarPrefetch(symbols: chunk.symbols, bars: bars)
                    executor.submit(
                        ScanBatch(
                            jobId: job.id,
                            chunkIndex: chunk.index,
                            symbols: chunk.symbols,
                            prepare: { .success(setup) },
                            scan: { scanner, symbol in scanner.scan(symbol: symbol, prefetch: prefetch) },
                            scanGroup: { scanner, symbols in
                                scanner.scan(symbols: symbols) {
                                    try prefetch.series(for: $0.symbol, query: scanner.query(for:))
                                }
                            },
                            onResult: { result in
                                state.withLock { s in
                                    s.completed += 1
                                    s.matches += result.matches.count
                                    progress(
                                        ScanProgress(completed: s.completed, total: total, matchesSoFar: s.matches)
                                    )
                                }
                            },
                            onEnd: { end in
                                let all = state.withLock { s -> [SymbolResult]? in
                                    s.results[chunk.index] = end.results
                                    s.remaining -= 1
                                    return s.remaining == 0 ? s.results.flatMap { $0 } : nil
                                }
                                if let all { continuation.resume(returning: all) }
                            }
                        )
                    )
                }
                cancellation.onCancel { executor.cancel(jobId: job.id) }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }
}

/// The counts and results of one ``InProcessEngine/processBatch(_:plan:progress:cancellation:)`` call.
private struct Tally {
    var completed = 0
    var matches = 0
    /// Finished symbols, per chunk, in chunk order.
    var results: [[SymbolResult]]
    var remaining: Int
}
