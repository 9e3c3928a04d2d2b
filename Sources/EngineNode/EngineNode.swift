import CoreMetrics
import Foundation
import Logging
import ScanCore
import ScanProtocol
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// An engine node (DESIGN §1, §6): PULLs chunks from the service's jobs socket, evaluates them
/// with a ``ChunkExecutor`` on every thread against its own bar store (with a ``SeriesCache``),
/// PUSHes results and a heartbeat every ~1 s to the results socket, and drops the queued chunks of
/// jobs cancelled on the control socket (`ctl.cancel`).
///
/// libzmq reconnects by itself when the service restarts; chunks of the old service run to the end
/// and their results are sent anyway: the service accepts each `(job, chunk)` once and ignores the
/// rest. `run()` returns after graceful shutdown (SIGTERM through a `ServiceGroup`), cancellation or
/// ``shutdown()``. Every method may be called from any task.
public final class EngineNode: Service, Sendable {
    public let configuration: EngineNodeConfiguration
    private let bars: any BarRepository
    private let logger: Logger
    private let metrics: NodeMetrics
    private let metricsFactory: any MetricsFactory
    private let stopRequested = AsyncStopSignal()
    private let chunksDone = ChunkCounter()
    private let incarnation = UInt64.random(in: 1...UInt64.max)

    public init(
        configuration: EngineNodeConfiguration,
        bars: any BarRepository,
        logger: Logger = Logger(label: "engine-node"),
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.metrics = NodeMetrics(factory: metrics)
        metricsFactory = metrics
        self.configuration = configuration
        self.bars = bars
        self.logger = logger
    }

    /// Asks a running node to stop. Idempotent.
    public func shutdown() { stopRequested.fire() }

    /// Chunks this node finished (results handed to the socket).
    public var completedChunks: Int { chunksDone.value }

    /// The jobs socket's RCVHWM: far more chunks than the service ever has in flight to one node.
    static let jobsReceiveHighWaterMark: Int32 = 10_000

    public func run() async throws {
        let config = configuration
        let context = try ZMQContext()
        let loop = try ZMQLoop(context: context, name: "engine-node", receiveBufferCapacity: config.queuedChunks)
        let jobs: ZMQSocket
        let results: ZMQSocket
        let control: ZMQSocket
        do {
            var jobOptions = SocketOptions()
            jobOptions.lingerMs = 0
            // Never a full pipe here: libzmq asserts (`!_io_error`, stream_engine_base.cpp) when a connection
            // whose input was stopped by a full pipe is closed and reconnected — which is what the service's
            // heartbeat does to a node stopped with chunks queued (zeromq/libzmq#4364, found by the soak).
            // Back-pressure is the node's own (its loop takes a chunk only when the executor has room); a
            // stopped node reads nothing, so its small kernel buffer fills and PUSH passes it by, and a node
            // whose evaluation hangs is found by its heartbeats (its leases expire without counting).
            jobOptions.receiveHighWaterMark = Self.jobsReceiveHighWaterMark
            jobOptions.kernelReceiveBufferBytes = 64 << 10
            jobOptions.maxMessageSize = config.maxMessageBytes
            jobOptions.reconnectIntervalMs = 100
            jobOptions.reconnectIntervalMaxMs = 2000
            jobOptions.heartbeatIntervalMs = 2000
            jobOptions.heartbeatTimeoutMs = 6000
            var resultOptions = SocketOptions()
            resultOptions.lingerMs = config.lingerMs
            resultOptions.immediate = true
            resultOptions.reconnectIntervalMs = 100
            resultOptions.reconnectIntervalMaxMs = 2000
            resultOptions.heartbeatIntervalMs = 2000
            resultOptions.heartbeatTimeoutMs = 6000
            var controlOptions = SocketOptions()
            controlOptions.lingerMs = 0
            controlOptions.subscriptions = [Array(WireProtocol.controlTopicPrefix.utf8)]
            controlOptions.maxMessageSize = 1 << 20
            controlOptions.reconnectIntervalMs = 100
            controlOptions.reconnectIntervalMaxMs = 2000
            controlOptions.heartbeatIntervalMs = 2000  // a dead control connection would silently miss cancels
            controlOptions.heartbeatTimeoutMs = 6000
            if let curve = config.curve {
                curve.apply(to: &jobOptions)
                curve.apply(to: &resultOptions)
                curve.apply(to: &controlOptions)
            }
            // Subscribe to control first, so a cancel is not missed for a chunk pulled meanwhile.
            control = try await loop.makeSocket(.sub, options: controlOptions)
            try await control.connect(config.controlEndpoint)
            results = try await loop.makeSocket(.push, options: resultOptions)
            try await results.connect(config.resultsEndpoint)
            jobs = try await loop.makeSocket(.pull, options: jobOptions)
            try await jobs.connect(config.jobsEndpoint)
        } catch {
            await loop.shutdown()
            throw error
        }

        let (outbound, outboundContinuation) = AsyncStream.makeStream(of: [UInt8].self)
        let name = config.name
        let counter = chunksDone
        let metrics = self.metrics
        let executor = ChunkExecutor(
            bars: bars,
            cache: SeriesCache(maxBytes: config.seriesCacheMaxBytes, metrics: metricsFactory),
            threads: config.threads,
            maxQueued: config.queuedChunks,
            paceMsPerSymbol: config.paceMsPerSymbol,
            completion: { chunk, symbolResults in
                let message = ChunkResultMessage(
                    jobId: chunk.jobId,
                    chunkIndex: chunk.chunkIndex,
                    attempt: chunk.attempt,
                    lease: chunk.lease,
                    nodeName: name,
                    results: symbolResults
                )
                outboundContinuation.yield(NodeMessage.result(message).encode())
                counter.increment()
                metrics.chunkCompleted(
                    chunk,
                    errors: symbolResults.reduce(0) { $0 + ($1.error == nil ? 0 : 1) },
                    symbols: symbolResults.count
                )
            },
            refusal: { chunk, version, why in
                let message = ChunkRefusedMessage(
                    jobId: chunk.jobId,
                    chunkIndex: chunk.chunkIndex,
                    attempt: chunk.attempt,
                    lease: chunk.lease,
                    nodeName: name,
                    nodeVersion: version,
                    reason: why
                )
                outboundContinuation.yield(NodeMessage.refused(message).encode())
            }
        )
        // The store's version for heartbeats, read on its own thread (a slow or lost database must
        // never hold up a heartbeat).
        let probe = StoreVersionProbe(bars: bars, intervalMs: config.heartbeatIntervalMs)
        defer { probe.stop() }
        let cancelled = CancelledJobs()
        let incarnation = self.incarnation
        let log = logger
        logger.info(
            "engine-node started",
            metadata: [
                "name": "\(name)", "threads": "\(config.threads)", "jobs": "\(config.jobsEndpoint)",
                "results": "\(config.resultsEndpoint)", "control": "\(config.controlEndpoint)",
            ]
        )

        await withTaskCancellationOrGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await message in control.messages {
                            guard message.frames.count == 2,
                                case .cancel(let c)? = try? NodeMessage.decode(message.frames[1])
                            else { continue }
                            cancelled.insert(c.jobId)
                            executor.drop(jobId: c.jobId)
                            metrics.jobDropped(c.jobId)
                            log.info("job cancelled by the service", metadata: ["job": "\(c.jobId)"])
                        }
                    } catch {
                        log.error("control socket failed", metadata: ["error": "\(error)"])
                    }
                }
                group.addTask {
                    do {
                        while !Task.isCancelled {
                            await executor.waitForRoom()
                            guard let message = try await jobs.receive() else { break }
                            guard message.frames.count == 1 else { continue }
                            switch try? NodeMessage.decode(message.frames[0]) {
                            case .chunk(let chunk)?:
                                if cancelled.contains(chunk.jobId) { continue }
                                metrics.chunkReceived(chunk)
                                executor.submit(chunk)
                            default:
                                metrics.ignored.increment()
                                log.warning("ignored a malformed message on the jobs socket")
                            }
                        }
                    } catch {
                        log.error("jobs socket failed", metadata: ["error": "\(error)"])
                    }
                }
                group.addTask {
                    for await frame in outbound {
                        do {
                            try await results.send(ZMQMessage([frame]))
                        } catch {
                            log.error("could not send a result", metadata: ["error": "\(error)"])
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        let held = executor.held()
                        let hb = HeartbeatMessage(
                            nodeName: name,
                            incarnation: incarnation,
                            threads: config.threads,
                            chunksDone: counter.value,
                            symbolsDone: executor.symbolsDone,
                            inFlight: held.count,
                            held: held,
                            store: config.storeDescription,
                            dataVersion: probe.latest
                        )
                        // Never queue heartbeats for an absent service: they would arrive in a burst.
                        _ = try? await results.trySend(ZMQMessage([NodeMessage.heartbeat(hb).encode()]))
                        try? await Task.sleep(for: .milliseconds(config.heartbeatIntervalMs))
                    }
                }
                await self.stopRequested.wait()
                log.info("engine-node stopping", metadata: ["name": "\(name)"])
                executor.stop()
                outboundContinuation.finish()
                group.cancelAll()
            }
        } onCancelOrGracefulShutdown: {
            self.shutdown()
        }
        await loop.shutdown()
        logger.info("engine-node stopped", metadata: ["name": "\(name)"])
    }
}

/// Recently cancelled job ids (bounded). Thread-safe.
final class CancelledJobs: Sendable {
    private let state = Mutex<(set: Set<String>, order: [String])>((set: [], order: []))

    func insert(_ id: String) {
        state.withLock { s in
            guard s.set.insert(id).inserted else { return }
            s.order.append(id)
            if s.order.count > 1024 {
                s.set.remove(s.order.removeFirst())
            }
        }
    }

    func contains(_ id: String) -> Bool { state.withLock { $0.set.contains(id) } }
}

/// A one-shot signal. Thread-safe.
final class AsyncStopSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((fired: false, waiters: []))

    func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.fired else { return [] }
            s.fired = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.fired { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }
}

/// Chunks finished by this node. Thread-safe.
final class ChunkCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// Reads a store's version about once per interval on a dedicated thread; ``latest`` never blocks.
final class StoreVersionProbe: Sendable {
    private let state = Mutex<(latest: StoreVersion?, stopped: Bool)>((latest: nil, stopped: false))
    private let wake = NSCondition()

    init(bars: any BarRepository, intervalMs: Int) {
        let thread = Thread { [self] in
            while !state.withLock({ $0.stopped }) {
                let version = try? bars.storeVersion()
                state.withLock { $0.latest = version }
                wake.lock()
                if !state.withLock({ $0.stopped }) {
                    _ = wake.wait(until: Date(timeIntervalSinceNow: Double(intervalMs) / 1000))
                }
                wake.unlock()
            }
        }
        thread.name = "engine-node-store-probe"
        thread.start()
    }

    /// The version last read; `nil` before the first read or when the store could not be read.
    var latest: StoreVersion? { state.withLock { $0.latest } }

    func stop() {
        wake.lock()
        state.withLock { $0.stopped = true }
        wake.broadcast()
        wake.unlock()
    }
}
