import CoreMetrics
import Foundation
import Logging
import MarketData
import ScanCore
import ScanProtocol
import ServiceLifecycle
import ZeroMQ

/// The scan service (DESIGN §1, §5, §6): a ROUTER for requests, a PUB for events, a PUSH for job
/// chunks, a PULL for results and heartbeats, a PUB for node control and, with live scans, a PULL
/// for the bar feed, all owned by one ``ZMQLoop`` thread.
///
/// `run()` binds, resumes unfinished sessions and serves until graceful shutdown (SIGINT/SIGTERM
/// through a `ServiceGroup`), task cancellation or ``shutdown()``; it then stops taking requests,
/// lets running sessions stop where their finished chunks are already persisted, closes the
/// sockets with their bounded linger and returns. Every method may be called from any task.
public final class ScanService: Service, Sendable {
    public let configuration: ScanServiceConfiguration
    private let symbols: any SymbolRepository
    private let bars: any BarRepository
    private let sessions: any ScanSessionRepository
    private let jobs: any JobRepository
    private let marketData: (any MarketDataBackend)?
    private let watchStore: (any WatchRepository)?
    private let logger: Logger
    private let metricsFactory: any MetricsFactory
    private let ready = AsyncValue<ScanServiceConfiguration.Endpoints>()
    private let stopRequested = AsyncValue<Void>()

    /// - Parameters:
    ///   - symbols: resolves universes (the market-data store); when it is also a ``SymbolCatalog``
    ///     (``MarketDataStore`` is), `LIST_SYMBOLS` lists its symbols.
    ///   - bars: only for the newest stored day when a request has no date range.
    ///   - sessions, jobs: where sessions and finished chunks are persisted (the session store).
    ///   - marketData, watches: live scans (issue 14) when both are given: the bar feed appends final
    ///     bars to `marketData` (the same store `bars` reads), watches are persisted in `watches`.
    ///   - metrics: where the service's metrics go (``ServiceMetrics`` lists them); by default the
    ///     process-wide `MetricsSystem` (which discards them unless bootstrapped).
    public init(
        configuration: ScanServiceConfiguration,
        symbols: any SymbolRepository,
        bars: any BarRepository,
        sessions: any ScanSessionRepository,
        jobs: any JobRepository,
        marketData: (any MarketDataBackend)? = nil,
        watches: (any WatchRepository)? = nil,
        logger: Logger = Logger(label: "scan-service"),
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.metricsFactory = metrics
        self.configuration = configuration
        self.symbols = symbols
        self.bars = bars
        self.sessions = sessions
        self.jobs = jobs
        self.marketData = marketData
        self.watchStore = watches
        self.logger = logger
    }

    /// The endpoints actually bound (ports resolved when configured as `*`); waits until `run()`
    /// has bound them, throws if binding failed.
    public func boundEndpoints() async throws -> ScanServiceConfiguration.Endpoints { try await ready.wait() }

    /// Asks a running service to stop (as SIGTERM does). Idempotent.
    public func shutdown() { stopRequested.resolve(.success(())) }

    public func run() async throws {
        let config = configuration
        let context = try ZMQContext()
        let loop = try ZMQLoop(context: context, name: "scan-service")
        let sockets: Sockets
        let endpoints: ScanServiceConfiguration.Endpoints
        var authenticator: ZAPAuthenticator?
        do {
            if let curve = config.curve {
                authenticator = try await ZAPAuthenticator(
                    context: context,
                    allowedKeysByDomain: curve.allowedKeysByDomain
                )
            }
            sockets = try await Sockets.make(loop, config, withFeed: marketData != nil && watchStore != nil)
            endpoints = try await sockets.bind(config.endpoints)
        } catch {
            ready.resolve(.failure(error))
            await loop.shutdown()
            await authenticator?.stop()
            throw error
        }
        let startedAt = ContinuousClock.now
        let sessions = self.sessions
        let nodes = NodeRegistry(
            timeout: .milliseconds(config.nodeTimeoutMs),
            stallTimeout: .milliseconds(config.chunkLeaseTimeoutMs)
        )
        let engine = DistributedEngine(
            transport: SocketNodeTransport(jobs: sockets.jobs, control: sockets.control, logger: logger),
            jobs: jobs,
            nodes: nodes,
            leaseTimeout: .milliseconds(config.chunkLeaseTimeoutMs),
            hardDeadline: .milliseconds(config.chunkDeadlineMs),
            maxAttempts: config.maxChunkAttempts,
            smallJobSymbolsPerNode: config.smallJobSymbolsPerNode,
            logger: logger,
            metrics: metricsFactory
        )
        let metrics = ServiceMetrics(factory: metricsFactory)
        (sessions as? any CheckpointReporting)?.reportCheckpoints { metrics.storeCheckpointed(succeeded: $0) }
        let releaser = MemoryReleaser(
            trims: config.memoryReleaseIdleMs > 0,
            idle: .milliseconds(max(1, config.memoryReleaseIdleMs)),
            maxInterval: .milliseconds(max(1, config.memoryReleaseIdleMs) * 10),
            metrics: metricsFactory
        )
        let (eventStream, eventContinuation) = AsyncStream.makeStream(
            of: EventDocument.self,
            bufferingPolicy: .bufferingNewest(10_000)
        )
        let manager = SessionManager(
            symbols: symbols,
            bars: bars,
            sessions: sessions,
            jobs: jobs,
            engine: engine,
            publisher: StreamEventPublisher(continuation: eventContinuation),
            maxRunning: config.maxRunningSessions,
            logger: logger,
            metrics: metrics
        )
        // Batches of messages: a round's events go to the PUB in one turn of its loop.
        let (liveStream, liveContinuation) = AsyncStream.makeStream(
            of: [[[UInt8]]].self,
            bufferingPolicy: .bufferingNewest(10_000)
        )
        var live: (feed: BarFeed, watches: WatchManager)?
        if let marketData, let watchStore {
            let feed = BarFeed(store: marketData, maxBars: config.maxFeedBars, logger: logger) { refusal in
                guard let body = try? JSONCoding.encode(refusal) else { return }
                liveContinuation.yield([[Array(FeedRefusalDocument.topic.utf8), body]])
            }
            let watches = WatchManager(
                symbols: symbols,
                bars: bars,
                repository: watchStore,
                feed: feed,
                maxWatches: config.maxWatches,
                threads: config.liveThreads,
                logger: logger
            ) { events in
                if !events.isEmpty { liveContinuation.yield(events.map(LiveEventCodec.encode)) }
            }
            feed.onStoreFailure { [weak watches] symbols in watches?.storeFailed(symbols) }
            live = (feed, watches)
        }
        let router = sockets.api
        let log = logger
        let handler = RequestHandler(
            manager: manager,
            nodes: nodes,
            catalog: symbols as? any SymbolCatalog,
            feed: live?.feed,
            watches: live?.watches,
            maxRequestBytes: config.maxRequestBytes,
            startedAt: startedAt,
            logger: logger,
            metrics: metrics,
            reply: { frames in
                // Never waits for the peer: without ROUTER_MANDATORY a ROUTER drops what does not fit in
                // that peer's pipe (its HWM bounds what is queued for it), so a client that does not read
                // its replies loses only its own replies and never holds up anyone else's.
                do {
                    _ = try await router.trySend(ZMQMessage(frames))
                } catch {
                    log.debug("reply not delivered", metadata: ["error": "\(error)"])
                }
            }
        )
        logger.info(
            "scan-service listening",
            metadata: [
                "api": "\(endpoints.api)", "events": "\(endpoints.events)", "jobs": "\(endpoints.jobs)",
                "results": "\(endpoints.results)", "control": "\(endpoints.control)",
                "feed": "\(endpoints.feed ?? "none")",
            ]
        )
        ready.resolve(.success(endpoints))

        await withTaskCancellationOrGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await message in router.messages {
                            releaser.noteActivity()
                            await handler.handle(message.frames)
                        }
                    } catch {
                        log.error("api socket failed", metadata: ["error": "\(error)"])
                    }
                }
                group.addTask {
                    await Self.serveResults(
                        sockets.results,
                        engine: engine,
                        nodes: nodes,
                        logger: log,
                        onMessage: { releaser.noteActivity() }
                    )
                }
                group.addTask {
                    for await event in eventStream {
                        guard let frames = try? EventCodec.encode(event) else { continue }
                        _ = try? await sockets.events.trySend(ZMQMessage(frames))
                    }
                }
                group.addTask { await engine.runDispatcher() }
                group.addTask {
                    let tick = Duration.milliseconds(max(5, min(250, config.chunkLeaseTimeoutMs / 4)))
                    while !Task.isCancelled {
                        try? await Task.sleep(for: tick)
                        await engine.expireLeases()
                        metrics.liveNodes.record(nodes.live().count)
                    }
                }
                group.addTask { await manager.resumeUnfinished() }
                group.addTask { await releaser.run() }
                group.addTask {
                    await RetentionSweeper(
                        policy: config.retention,
                        sessions: sessions,
                        interval: .milliseconds(max(10, config.retentionIntervalMs)),
                        logger: log,
                        metrics: metrics
                    ).run()
                }
                group.addTask {
                    for await batch in liveStream {
                        _ = try? await sockets.events.trySend(batch.map { ZMQMessage($0) })
                    }
                }
                if let live, let feedSocket = sockets.feed {
                    // The watches' task ends by their shutdown (never by cancellation), so every
                    // request queued to it is answered.
                    let watchTask = Task.detached { await live.watches.run() }
                    group.addTask { await watchTask.value }
                    live.watches.resumeStored()
                    group.addTask {
                        do {
                            for try await message in feedSocket.messages {
                                let applied = await live.feed.ingest(message.frames)
                                if !applied.isEmpty { live.watches.barsChanged(applied) }
                            }
                        } catch {
                            log.error("feed socket failed", metadata: ["error": "\(error)"])
                        }
                    }
                }

                _ = try? await self.stopRequested.wait()
                log.info("scan-service stopping")
                await manager.shutdown(engineStop: { await engine.stop() })
                live?.watches.shutdown()
                eventContinuation.finish()
                liveContinuation.finish()
                group.cancelAll()
            }
        } onCancelOrGracefulShutdown: {
            self.shutdown()
        }
        if let live {
            // Every final bar the feed accepted is in the store before the service ends.
            await live.feed.flushWrites()
            await live.watches.flushEvents()
            live.watches.stopThreads()
        }
        await loop.shutdown()
        await authenticator?.stop()
        logger.info("scan-service stopped")
    }

    private static func serveResults(
        _ socket: ZMQSocket,
        engine: DistributedEngine,
        nodes: NodeRegistry,
        logger: Logger,
        onMessage: @Sendable () -> Void
    ) async {
        do {
            for try await message in socket.messages {
                onMessage()
                guard message.frames.count == 1 else {
                    logger.warning("ignored a node message", metadata: ["frames": "\(message.frames.count)"])
                    continue
                }
                let decoded: NodeMessage
                do {
                    decoded = try NodeMessage.decode(message.frames[0])
                } catch {
                    logger.warning("ignored a malformed node message", metadata: ["error": "\(error)"])
                    continue
                }
                switch decoded {
                case .result(let r):
                    // Stored as received: the chunk record is the message's results block. Accepted in a
                    // task of its own, so results arriving while one is stored are read meanwhile and go
                    // into the store's next transaction together (a group commit), not one after another.
                    let block = try? ChunkResultMessage.resultsBlock(of: message.frames[0])
                    let sender = message.userId
                    Task {
                        let outcome = await engine.accept(r, sender: sender, resultsBlock: block)
                        Self.noted(outcome, of: r, nodes: nodes, logger: logger)
                    }
                case .heartbeat(let h):
                    guard nodes.heartbeat(h, sender: message.userId) else { continue }
                    if !h.held.isEmpty { await engine.extendLeases(from: h, sender: message.userId) }
                case .refused(let r):
                    logger.warning(
                        "a node refused a chunk of other data",
                        metadata: [
                            "job": "\(r.jobId)", "chunk": "\(r.chunkIndex)", "node": "\(r.nodeName)",
                            "why": "\(r.reason)",
                        ]
                    )
                    await engine.refused(r, sender: message.userId)
                case .chunk, .cancel:
                    logger.warning("ignored a node message of the wrong kind on the results socket")
                }
            }
        } catch {
            logger.error("results socket failed", metadata: ["error": "\(error)"])
        }
    }

    /// What a result's acceptance tells: an accepted one proves its node; refusals are logged.
    private static func noted(
        _ outcome: DistributedEngine.Acceptance,
        of r: ChunkResultMessage,
        nodes: NodeRegistry,
        logger: Logger
    ) {
        switch outcome {
        case .accepted:
            nodes.seen(r.nodeName)
            nodes.proven(r.nodeName)  // it answered a lease: a real node (counts for chunk sizing)
        case .unknownLease, .notTheHolder:
            logger.warning(
                "refused a chunk result not from the chunk's holder",
                metadata: [
                    "job": "\(r.jobId)", "chunk": "\(r.chunkIndex)", "why": "\(outcome)",
                    "node": "\(NodeRegistry.escaped(r.nodeName))",
                ]
            )
        case .duplicate, .unknownJob, .malformed:
            logger.debug(
                "ignored a chunk result",
                metadata: [
                    "job": "\(r.jobId)", "chunk": "\(r.chunkIndex)", "why": "\(outcome)",
                    "node": "\(NodeRegistry.escaped(r.nodeName))",
                ]
            )
        }
    }
}

/// The service's five sockets, and the feed PULL with live scans.
struct Sockets: Sendable {
    let api: ZMQSocket
    let events: ZMQSocket
    let jobs: ZMQSocket
    let results: ZMQSocket
    let control: ZMQSocket
    let feed: ZMQSocket?

    static func make(_ loop: ZMQLoop, _ c: ScanServiceConfiguration, withFeed: Bool) async throws -> Sockets {
        var api = SocketOptions()
        api.lingerMs = c.lingerMs
        api.routerMandatory = false  // see the `reply` of `RequestHandler`: a full or gone peer's reply is dropped
        api.maxMessageSize = c.apiSocketMaxMessageBytes
        api.sendHighWaterMark = min(c.highWaterMark, c.apiReplyHighWaterMark)
        api.receiveHighWaterMark = c.highWaterMark

        var events = SocketOptions()
        events.lingerMs = c.lingerMs
        events.sendHighWaterMark = c.eventsSendHighWaterMark

        var jobs = SocketOptions()
        jobs.lingerMs = 0  // chunks left in pipes are recovered by leases, never worth waiting for
        jobs.immediate = true
        jobs.sendHighWaterMark = c.jobsSendHighWaterMark
        // ZMTP heartbeats: a stopped (SIGSTOP) or vanished node answers no PING, so its pipe is closed
        // after the timeout and PUSH stops handing it chunks; small kernel buffers, so a node that stops
        // reading fills its pipe after a few chunks and PUSH passes it by.
        jobs.heartbeatIntervalMs = c.jobsHeartbeatIntervalMs
        jobs.heartbeatTimeoutMs = c.jobsHeartbeatIntervalMs * 3
        jobs.kernelSendBufferBytes = 64 << 10

        var results = SocketOptions()
        results.lingerMs = c.lingerMs
        results.maxMessageSize = c.resultsMaxMessageBytes
        results.receiveHighWaterMark = c.highWaterMark

        var control = SocketOptions()
        control.lingerMs = c.lingerMs
        control.sendHighWaterMark = c.highWaterMark

        var feed = SocketOptions()
        feed.lingerMs = c.lingerMs
        feed.maxMessageSize = c.apiSocketMaxMessageBytes
        feed.receiveHighWaterMark = c.highWaterMark

        if let curve = c.curve {
            curve.apply(to: &feed, role: .node)  // a feeder writes market data: trusted like a node
            curve.apply(to: &api, role: .client)
            curve.apply(to: &events, role: .client)
            curve.apply(to: &jobs, role: .node)
            curve.apply(to: &results, role: .node)
            curve.apply(to: &control, role: .node)
        }
        return Sockets(
            api: try await loop.makeSocket(.router, options: api),
            events: try await loop.makeSocket(.pub, options: events),
            jobs: try await loop.makeSocket(.push, options: jobs),
            results: try await loop.makeSocket(.pull, options: results),
            control: try await loop.makeSocket(.pub, options: control),
            feed: withFeed && c.endpoints.feed != nil ? try await loop.makeSocket(.pull, options: feed) : nil
        )
    }

    func bind(_ e: ScanServiceConfiguration.Endpoints) async throws -> ScanServiceConfiguration.Endpoints {
        ScanServiceConfiguration.Endpoints(
            api: try await api.bind(e.api),
            events: try await events.bind(e.events),
            jobs: try await jobs.bind(e.jobs),
            results: try await results.bind(e.results),
            control: try await control.bind(e.control),
            feed: try await bindFeed(e.feed)
        )
    }

    private func bindFeed(_ endpoint: String?) async throws -> String? {
        guard let feed, let endpoint else { return nil }
        return try await feed.bind(endpoint)
    }
}

/// Chunks on the jobs PUSH, cancels on the control PUB.
struct SocketNodeTransport: NodeTransport {
    let jobs: ZMQSocket
    let control: ZMQSocket
    let logger: Logger

    func trySendChunk(_ frame: [UInt8]) async throws -> Bool {
        try await jobs.trySend(ZMQMessage([frame]))
    }

    func publishCancel(jobId: String) async {
        let frames = [Array(NodeMessage.cancelTopic.utf8), NodeMessage.cancel(CancelMessage(jobId: jobId)).encode()]
        do {
            _ = try await control.trySend(ZMQMessage(frames))
        } catch {
            logger.warning("could not publish a cancel", metadata: ["job": "\(jobId)", "error": "\(error)"])
        }
    }
}

/// Keeps events in call order: `publish` only enqueues; one task sends them on the PUB.
struct StreamEventPublisher: EventPublisher {
    let continuation: AsyncStream<EventDocument>.Continuation
    func publish(_ event: EventDocument) { continuation.yield(event) }
}
