import CoreMetrics
import FormulaEngine
import Logging
import ScanCore
import ScanProtocol

/// How the distributed engine reaches the nodes (the service's jobs PUSH and control PUB; a fake in
/// unit tests).
public protocol NodeTransport: Sendable {
    /// Queues one chunk frame on the jobs socket if it can take it now; `false` when it would block
    /// (no node connected, or every node's pipe is full).
    func trySendChunk(_ frame: [UInt8]) async throws -> Bool
    /// Tells every node to drop the job's queued chunks (`ctl.cancel`).
    func publishCancel(jobId: String) async
}

/// Thrown by ``DistributedEngine/processBatch(_:plan:progress:cancellation:)`` when the service stops
/// mid-job: the session stays `running` in the store and is resumed on the next start.
public struct EngineStopped: Error, Sendable, CustomStringConvertible {
    public var description: String { "the service stopped; the job resumes when it starts again" }
}

/// Thrown by ``DistributedEngine/processBatch(_:progress:cancellation:)`` when, for a whole lease
/// period, every node that took a chunk refused it because its store holds other data than the
/// version the universe was resolved against: the session fails rather than mixing data.
public struct StaleDataError: Error, Sendable, CustomStringConvertible {
    /// The version the job needs.
    public var wanted: StoreVersion?
    /// What each refusing node's store holds (`nil`: unreadable).
    public var nodes: [String: StoreVersion?]
    public var chunk: Int

    public var description: String {
        let held = nodes.sorted { $0.key < $1.key }.map {
            "\($0.key) has \($0.value?.description ?? "an unreadable store")"
        }
        return "no engine node holds the data this scan was resolved against (store version "
            + "\(wanted?.description ?? "?")); chunk \(chunk) was refused: \(held.joined(separator: ", "))"
    }
}

/// The ``ProcessingEngine`` that spreads a job over engine nodes (DESIGN §6).
///
/// Splits a job into chunks sized from the live nodes' threads, persists the job before the first
/// dispatch, leases each chunk when it is handed to the jobs socket, accepts each `(job, chunk)`
/// result once (persisting it before counting it), re-dispatches chunks whose lease expired, and
/// after `maxAttempts` reports a chunk's symbols as errors. A job already in the ``JobRepository``
/// (a restarted service) runs only its missing chunks. An actor: results, heartbeats, lease checks
/// and dispatch all go through it.
public actor DistributedEngine: ProcessingEngine {
    /// One dispatch of a chunk: its secret token, and the node that said it holds it.
    struct Lease {
        var token: LeaseToken
        var deadline: ContinuousClock.Instant
        /// However often heartbeats renew it, the lease ends here.
        var hardDeadline: ContinuousClock.Instant
        /// The node whose heartbeat first named this lease (with its CURVE key when CURVE is on):
        /// from then on only that node may renew it or answer it.
        var holder: NodeIdentity?
    }

    struct Chunk {
        var symbols: [String]
        /// Leases that expired while their holder was alive and working: only those count.
        var attempts = 0
        var dispatches = 0
        /// The current dispatch (nil while queued, or once accepted).
        var lease: Lease?
        /// Earlier dispatches of this chunk (the newest few): their holders may still answer.
        var pastLeases: [Lease] = []
        var queued = false
        var accepted = false
        var results: [SymbolResult]?
        /// Dispatches refused by nodes holding other data (they never count as attempts).
        var refusals = 0
        /// When the first node refused this chunk, and what each refusing node holds.
        var firstRefusal: ContinuousClock.Instant?
        var refusedBy: [String: StoreVersion?] = [:]

        func lease(_ token: LeaseToken) -> Lease? {
            if let lease, lease.token == token { return lease }
            return pastLeases.first { $0.token == token }
        }
    }

    final class Run {
        let job: ProcessingJob
        let lookback: Int
        var chunks: [Chunk]
        var remaining: Int
        var completedSymbols = 0
        var matches = 0
        let progress: @Sendable (ScanProgress) -> Void
        var continuation: CheckedContinuation<[SymbolResult], any Error>?

        init(job: ProcessingJob, lookback: Int, chunks: [Chunk], progress: @escaping @Sendable (ScanProgress) -> Void) {
            self.job = job
            self.lookback = lookback
            self.chunks = chunks
            self.remaining = chunks.count
            self.progress = progress
        }

        var snapshot: ScanProgress {
            ScanProgress(completed: completedSymbols, total: job.symbols.count, matchesSoFar: matches)
        }
    }

    private let transport: any NodeTransport
    private let jobs: any JobRepository
    private let nodes: NodeRegistry
    private let leaseTimeout: Duration
    private let hardDeadline: Duration
    private let maxAttempts: Int
    /// Chunks per live node a job is split into (see ``processBatch(_:plan:progress:cancellation:)``).
    private let chunksPerNode: Int
    /// A job of at most this many symbols per live node is split into one chunk per node.
    private let smallJobSymbolsPerNode: Int
    private let logger: Logger
    private let metrics: ServiceMetrics
    private var runs: [String: Run] = [:]
    private var queue: [ChunkRef] = []
    private var queueHead = 0
    private var dispatcherWaiter: CheckedContinuation<Void, Never>?
    private var stopped = false

    public init(
        transport: any NodeTransport,
        jobs: any JobRepository,
        nodes: NodeRegistry,
        leaseTimeout: Duration,
        hardDeadline: Duration? = nil,
        maxAttempts: Int,
        chunksPerNode: Int = 2,
        smallJobSymbolsPerNode: Int = 0,
        logger: Logger,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.metrics = ServiceMetrics(factory: metrics)
        self.hardDeadline = max(leaseTimeout, hardDeadline ?? leaseTimeout * 20)
        self.chunksPerNode = max(1, chunksPerNode)
        self.smallJobSymbolsPerNode = max(0, smallJobSymbolsPerNode)
        self.transport = transport
        self.jobs = jobs
        self.nodes = nodes
        self.leaseTimeout = leaseTimeout
        self.maxAttempts = max(1, maxAttempts)
        self.logger = logger
    }

    // MARK: ProcessingEngine

    public func processBatch(
        _ job: ProcessingJob,
        plan: FormulaPlan,
        progress: @escaping @Sendable (ScanProgress) -> Void,
        cancellation: CancellationToken
    ) async throws -> [SymbolResult] {
        guard !stopped else { throw EngineStopped() }
        // A node spreads even one chunk over all its threads, so chunks are counted per node: two each
        // (one being evaluated, one queued behind it), enough to even out the work and to re-lease a
        // dead node's share, few enough that per-chunk costs (a message, a persisted result) stay small.
        // A small job (a few hundred symbols a node: milliseconds of evaluation) gets one chunk a node,
        // as those per-chunk costs are then most of its time.
        let workers = max(1, nodes.workerCount())
        var chunkSize = ProcessingJob.chunkSize(
            symbolCount: job.symbols.count,
            workers: workers,
            chunksPerWorker: job.symbols.count <= workers * smallJobSymbolsPerNode ? 1 : chunksPerNode
        )
        var stored: [Int: [SymbolResult]] = [:]
        // Only the very same job resumes: a request without a date range resolves it from the newest stored
        // bar, so after an import the job differs and runs whole (its old chunks are discarded).
        if let saved = try await jobs.resumeOrSaveJob(job, chunkSize: chunkSize) {
            chunkSize = saved.chunkSize
            stored = saved.chunks
            logger.info(
                "resuming job",
                metadata: ["job": "\(job.id)", "chunks.stored": "\(stored.count)"]
            )
        }
        guard !stopped else { throw EngineStopped() }
        let parts = job.chunks(size: chunkSize)
        let run = Run(
            job: job,
            lookback: plan.lookback,
            chunks: parts.map { Chunk(symbols: $0.symbols) },
            progress: progress
        )
        for (index, results) in stored where index < run.chunks.count {
            run.chunks[index].accepted = true
            run.chunks[index].results = results
            run.remaining -= 1
            run.completedSymbols += results.count
            run.matches += results.reduce(0) { $0 + $1.matches.count }
        }
        // A progress event means chunks finished (protocol §6): here, those stored before a restart.
        // A job cancelled before its first dispatch reports none.
        if !stored.isEmpty { progress(run.snapshot) }
        if run.remaining == 0 || cancellation.isCancelled { return collect(run) }
        let jobId = job.id
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<[SymbolResult], any Error>) in
                run.continuation = c
                runs[jobId] = run
                for i in run.chunks.indices where !run.chunks[i].accepted {
                    enqueue(ChunkRef(jobId: jobId, chunkIndex: i))
                }
                cancellation.onCancel { [weak self] in
                    Task { await self?.cancel(jobId: jobId) }
                }
            }
        } onCancel: {
            Task { await self.cancel(jobId: jobId) }
        }
    }

    /// Ends a job now with the results that arrived; tells nodes to drop its queued chunks.
    public func cancel(jobId: String) async {
        guard let run = runs.removeValue(forKey: jobId) else { return }
        run.continuation?.resume(returning: collect(run))
        run.continuation = nil
        logger.info("job cancelled", metadata: ["job": "\(jobId)"])
        await transport.publishCancel(jobId: jobId)
    }

    /// Stops dispatching; every running job ends with ``EngineStopped`` (its persisted chunks stay).
    public func stop() {
        stopped = true
        for run in runs.values {
            run.continuation?.resume(throwing: EngineStopped())
            run.continuation = nil
        }
        runs = [:]
        dispatcherWaiter?.resume()
        dispatcherWaiter = nil
    }

    private func collect(_ run: Run) -> [SymbolResult] {
        var out: [SymbolResult] = []
        out.reserveCapacity(run.job.symbols.count)
        for c in run.chunks { if let r = c.results { out.append(contentsOf: r) } }
        return out
    }

    // MARK: Results

    /// What happened to a received result.
    public enum Acceptance: Sendable, Hashable {
        case accepted
        /// Already accepted for this `(job, chunk)`.
        case duplicate
        /// No running job with that id (finished, cancelled, or from before a restart).
        case unknownJob
        /// Not one result per symbol of the chunk.
        case malformed(String)
        /// The lease it names was never issued for this chunk: not from a node that pulled it.
        case unknownLease
        /// The lease was issued, but another node (name or CURVE key) holds it.
        case notTheHolder
    }

    /// Accepts the first result for a `(job, chunk)` that names one of the chunk's leases and comes
    /// from that lease's holder: persists it, then counts it. `sender` is the sending connection's
    /// CURVE key (its ZAP user id) when CURVE is on; `resultsBlock`, the message's results block as
    /// received (``ChunkResultMessage/resultsBlock(of:)``), is stored as is when given.
    @discardableResult
    public func accept(
        _ m: ChunkResultMessage,
        sender: String? = nil,
        resultsBlock: ArraySlice<UInt8>? = nil
    ) async -> Acceptance {
        guard let run = runs[m.jobId] else { return .unknownJob }
        guard m.chunkIndex < run.chunks.count else {
            return .malformed("chunk \(m.chunkIndex) does not exist (job has \(run.chunks.count))")
        }
        guard !run.chunks[m.chunkIndex].accepted else { return .duplicate }
        guard let lease = run.chunks[m.chunkIndex].lease(m.lease) else { return .unknownLease }
        if let holder = lease.holder, holder != NodeIdentity(name: m.nodeName, key: sender) { return .notTheHolder }
        let expected = run.chunks[m.chunkIndex].symbols
        guard m.results.count == expected.count, zip(m.results, expected).allSatisfy({ $0.symbol == $1 }) else {
            return .malformed("results do not match the chunk's \(expected.count) symbols")
        }
        run.chunks[m.chunkIndex].accepted = true
        run.chunks[m.chunkIndex].lease = nil
        run.chunks[m.chunkIndex].pastLeases = []
        await finish(run, chunk: m.chunkIndex, results: m.results, resultsBlock: resultsBlock)
        return .accepted
    }

    private func finish(_ run: Run, chunk index: Int, results: [SymbolResult], resultsBlock: ArraySlice<UInt8>?) async {
        do {
            if let resultsBlock {
                try await jobs.saveChunkResult(
                    jobId: run.job.id,
                    chunkIndex: index,
                    results: results,
                    resultsBlock: resultsBlock
                )
            } else {
                try await jobs.saveChunkResult(jobId: run.job.id, chunkIndex: index, results: results)
            }
        } catch {
            metrics.storeWriteFailed("chunk_result")
            logger.error(
                "could not persist a chunk result",
                metadata: ["job": "\(run.job.id)", "chunk": "\(index)", "error": "\(error)"]
            )
        }
        guard runs[run.job.id] === run else { return }  // cancelled or stopped meanwhile
        run.chunks[index].results = results
        run.remaining -= 1
        run.completedSymbols += results.count
        run.matches += results.reduce(0) { $0 + $1.matches.count }
        run.progress(run.snapshot)
        if run.remaining == 0 {
            runs[run.job.id] = nil
            run.continuation?.resume(returning: collect(run))
            run.continuation = nil
        }
    }

    // MARK: Refusals

    /// A node refused a chunk because its store holds other data: the chunk goes to another node
    /// (after a short pause, so a lone stale node does not spin); when nodes have refused it for a
    /// whole lease period, the job fails with ``StaleDataError``. A refusal of an earlier dispatch
    /// than the current one is ignored.
    public func refused(_ m: ChunkRefusedMessage, sender: String? = nil, now: ContinuousClock.Instant = .now) async {
        guard let run = runs[m.jobId], m.chunkIndex < run.chunks.count else { return }
        let i = m.chunkIndex
        // Only the current dispatch's lease, from its holder (when one is bound), ends it.
        guard !run.chunks[i].accepted, let lease = run.chunks[i].lease, lease.token == m.lease else { return }
        if let holder = lease.holder, holder != NodeIdentity(name: m.nodeName, key: sender) { return }
        run.chunks[i].lease = nil
        run.chunks[i].refusals += 1
        run.chunks[i].refusedBy[m.nodeName] = m.nodeVersion
        let first = run.chunks[i].firstRefusal ?? now
        run.chunks[i].firstRefusal = first
        if now - first >= leaseTimeout {
            runs[run.job.id] = nil
            let error = StaleDataError(wanted: run.job.dataVersion, nodes: run.chunks[i].refusedBy, chunk: i)
            logger.error("job failed: no node holds its data", metadata: ["job": "\(run.job.id)", "error": "\(error)"])
            run.continuation?.resume(throwing: error)
            run.continuation = nil
            await transport.publishCancel(jobId: run.job.id)
            return
        }
        let pause = Duration.milliseconds(50 * min(run.chunks[i].refusals, 20))
        let ref = ChunkRef(jobId: m.jobId, chunkIndex: i)
        Task { [weak self] in
            try? await Task.sleep(for: pause)
            await self?.enqueue(ref)
        }
    }

    // MARK: Leases

    /// Extends the leases a node's heartbeat names — only those it holds: a listed chunk counts only
    /// with its current lease's token, and only for the node that first named that lease (bound
    /// then to the node's name and CURVE key). A stalled node (holding chunks, evaluating nothing)
    /// renews nothing, and no lease outlives its hard deadline.
    public func extendLeases(
        from h: HeartbeatMessage,
        sender: String? = nil,
        now: ContinuousClock.Instant = .now
    ) {
        let identity = NodeIdentity(name: h.nodeName, key: sender)
        let working = nodes.isWorking(h.nodeName, at: now)
        for held in h.held {
            guard let run = runs[held.jobId], held.chunkIndex < run.chunks.count,
                var lease = run.chunks[held.chunkIndex].lease, lease.token == held.lease
            else { continue }
            if let holder = lease.holder, holder != identity { continue }
            lease.holder = identity
            nodes.proven(h.nodeName)
            if working { lease.deadline = min(now + leaseTimeout, lease.hardDeadline) }
            run.chunks[held.chunkIndex].lease = lease
        }
    }

    /// Re-queues chunks whose lease expired. The expiry counts as an attempt only when the lease's
    /// holder was alive and working (a chunk that sat in a hung or dead node's pipe, or whose node
    /// stopped, never counts); a chunk fails after `maxAttempts` counted ones. Returns how many expired.
    @discardableResult
    public func expireLeases(now: ContinuousClock.Instant = .now) async -> Int {
        var expired = 0
        var failed: [(Run, Int)] = []
        for run in runs.values {
            for i in run.chunks.indices {
                guard let lease = run.chunks[i].lease, lease.deadline <= now, !run.chunks[i].accepted else {
                    continue
                }
                expired += 1
                metrics.leaseExpiries.increment()
                run.chunks[i].lease = nil
                run.chunks[i].pastLeases.append(lease)
                if run.chunks[i].pastLeases.count > 4 { run.chunks[i].pastLeases.removeFirst() }
                let counts = lease.holder.map { nodes.isWorking($0.name, at: now) } ?? false
                if counts { run.chunks[i].attempts += 1 }
                if run.chunks[i].attempts >= maxAttempts {
                    run.chunks[i].accepted = true
                    failed.append((run, i))
                } else {
                    logger.warning(
                        "chunk lease expired; dispatching again",
                        metadata: [
                            "job": "\(run.job.id)", "chunk": "\(i)", "dispatches": "\(run.chunks[i].dispatches)",
                            "holder": "\(lease.holder?.name ?? "none")", "counted": "\(counts)",
                        ]
                    )
                    enqueue(ChunkRef(jobId: run.job.id, chunkIndex: i))
                }
            }
        }
        for (run, i) in failed {
            metrics.chunksFailed.increment()
            let attempts = run.chunks[i].attempts
            logger.error("chunk failed on every attempt", metadata: ["job": "\(run.job.id)", "chunk": "\(i)"])
            let message = "no engine node returned a result for this symbol's chunk after \(attempts) attempts"
            await finish(
                run,
                chunk: i,
                results: run.chunks[i].symbols.map { SymbolResult(symbol: $0, error: message) },
                resultsBlock: nil
            )
        }
        return expired
    }

    // MARK: Dispatch

    private func enqueue(_ ref: ChunkRef) {
        guard let run = runs[ref.jobId], !run.chunks[ref.chunkIndex].queued else { return }
        run.chunks[ref.chunkIndex].queued = true
        queue.append(ref)
        metrics.queueDepth.record(queue.count - queueHead)
        dispatcherWaiter?.resume()
        dispatcherWaiter = nil
    }

    private func nextChunk() async -> (Run, Int)? {
        while !stopped {
            while queueHead < queue.count {
                let ref = queue[queueHead]
                queueHead += 1
                if queueHead > 1024, queueHead * 2 > queue.count {
                    queue.removeFirst(queueHead)
                    queueHead = 0
                }
                metrics.queueDepth.record(queue.count - queueHead)
                guard let run = runs[ref.jobId] else { continue }
                run.chunks[ref.chunkIndex].queued = false
                guard !run.chunks[ref.chunkIndex].accepted else { continue }
                return (run, ref.chunkIndex)
            }
            await withCheckedContinuation { dispatcherWaiter = $0 }
        }
        return nil
    }

    private func chunkFrame(_ run: Run, _ index: Int, lease: LeaseToken) -> [UInt8] {
        let job = run.job
        return NodeMessage.chunk(
            ChunkMessage(
                jobId: job.id,
                chunkIndex: index,
                attempt: run.chunks[index].dispatches + 1,
                symbols: run.chunks[index].symbols,
                timeframe: job.timeframe,
                dateRange: job.dateRange,
                formula: job.formula,
                parameters: job.parameters,
                mode: job.mode,
                lookback: run.lookback,
                lease: lease,
                study: job.study,
                explain: job.explain,
                dataVersion: job.dataVersion
            )
        ).encode()
    }

    /// Hands queued chunks to the jobs socket until ``stop()``. Run it in one task.
    public func runDispatcher() async {
        while let (run, index) = await nextChunk() {
            let token = LeaseToken.random()
            let frame = chunkFrame(run, index, lease: token)
            var backoff = Duration.microseconds(200)
            while !stopped, runs[run.job.id] === run, !run.chunks[index].accepted {
                // The lease is issued before the frame goes out: the engine is free while the send is
                // awaited, and a node can answer (or name the lease in a heartbeat) before it returns.
                let now = ContinuousClock.now
                run.chunks[index].lease = Lease(
                    token: token,
                    deadline: now + leaseTimeout,
                    hardDeadline: now + hardDeadline
                )
                let sent: Bool
                do {
                    sent = try await transport.trySendChunk(frame)
                } catch {
                    logger.error("could not send a chunk", metadata: ["error": "\(error)"])
                    sent = false
                }
                if sent {
                    metrics.chunksDispatched.increment()
                    if run.chunks[index].dispatches > 0 { metrics.chunksRedispatched.increment() }
                    run.chunks[index].dispatches += 1
                    break
                }
                // Not sent: no node can hold it (the frame never left).
                if run.chunks[index].lease?.token == token { run.chunks[index].lease = nil }
                try? await Task.sleep(for: backoff)
                if Task.isCancelled { return }
                backoff = min(backoff * 2, .milliseconds(20))
            }
        }
    }

    /// Jobs running now (for tests and diagnostics).
    public var runningJobIds: [String] { Array(runs.keys) }
}
