import EngineNode
import Foundation
import MarketData
import ScanCore
import ScanProtocol
import ScanService
import SessionStore
import Synchronization
import TestSupport
import Testing
import ZeroMQ

/// Defects found by the adversarial run of issue 16, each reproduced first.
@Suite(.serialized, .timeLimit(.minutes(2))) struct HardeningTests {
    /// Defect 5: a chunk cancelled while it runs is no longer reported as held once its running
    /// symbols are done (its unclaimed symbols are never run).
    @Test func aCancelledRunningChunkIsNotHeldForever() async throws {
        let store = LoadCountingBars(try await TestMarket.store())
        let symbols = try await store.inner.resolve(SymbolCriteria()).symbols.prefix(24).map(\.symbol)
        let completed = Mutex(0)
        let executor = ChunkExecutor(
            bars: store,
            cache: SeriesCache(maxBars: 100_000),
            threads: 2,
            maxQueued: 2,
            // 24 symbols on 2 threads take 6 s: the chunk is still running when it is dropped even when a
            // loaded machine polls late (at 50 ms it could finish first and complete, and the "next
            // chunk completes" wait below would see that completion instead).
            paceMsPerSymbol: 500,
            completion: { _, _ in completed.withLock { $0 += 1 } }
        )
        defer { executor.stop() }
        let chunk = ChunkMessage(
            jobId: "job-cancelled",
            chunkIndex: 0,
            attempt: 1,
            symbols: Array(symbols),
            timeframe: .daily,
            dateRange: DateRange(from: CalendarDay("2022-01-03")!, to: CalendarDay("2022-03-31")!),
            formula: Formula(name: "f", source: "close > open"),
            parameters: [:],
            mode: .range,
            lookback: 0
        )
        executor.submit(chunk)
        #expect(executor.held().map(\.chunkIndex) == [0])
        try await eventually(5, "both threads running the chunk") { store.loads.withLock { $0 } >= 2 }
        executor.drop(jobId: "job-cancelled")
        try await eventually(5, "the cancelled chunk no longer held") { executor.held().isEmpty }
        // Nothing else is left behind: a new chunk of another job runs to its end and is delivered.
        var next = chunk
        next.jobId = "job-next"
        next.symbols = Array(symbols.prefix(4))
        executor.submit(next)
        try await eventually(10, "the next chunk completes") { completed.withLock { $0 } == 1 }
        #expect(executor.held().isEmpty)
    }

    /// Defect 1: a client that sends many requests and never reads its replies costs only itself:
    /// another client's requests are still answered, while it floods and after it leaves.
    @Test func aClientThatNeverReadsDoesNotFreezeTheApi() async throws {
        let smallPipes: (inout ScanServiceConfiguration) -> Void = { $0.highWaterMark = 10 }
        try await withCluster(nodes: 0, configure: smallPipes) { cluster in
            let floodLoop = try ZMQLoop(context: try ZMQContext(), name: "flooder", receiveBufferCapacity: 1)
            var options = SocketOptions()
            options.lingerMs = 0
            options.receiveHighWaterMark = 1
            options.sendHighWaterMark = 0
            options.kernelReceiveBufferBytes = 4096
            let flooder = try await floodLoop.makeSocket(.dealer, options: options)
            try await flooder.connect(cluster.endpoints.api)
            // Replies the flooder never reads, megabytes of them: request ids at the cap (a longer one is
            // refused and not echoed, so its reply would be small).
            let bigId = String(repeating: "x", count: WireProtocol.maxRequestIdBytes)
            let ping: [[UInt8]] = [
                [], Array("MSCAN/1".utf8), Array("PING".utf8), Array("{\"request_id\": \"\(bigId)\"}".utf8),
            ]
            for _ in 0..<10_000 { try await flooder.send(ZMQMessage(ping)) }
            // The flood's last request leaves a trace other clients can see: a session.
            let last = runScanBody(wait: false, extra: #", "request_id": "flood-end""#)
                .replacingOccurrences(of: #""name": "f1""#, with: #""name": "flood-end""#)
            try await flooder.send(ZMQMessage([[], Array("MSCAN/1".utf8), Array("RUN_SCAN".utf8), Array(last.utf8)]))
            try await withClient(cluster.endpoints.api) { client in
                // Replies to the flooder pile up on its side; this client's requests still get through,
                // also once the service has read the whole flood.
                try await eventually(30, "the flood read to its end") {
                    let list = try await client.request("LIST_SESSIONS", "{}", timeout: 5).decode(SessionListReply.self)
                    return list.sessions.contains { $0.request.formula.name == "flood-end" }
                }
                await floodLoop.shutdown()
                let reply = try await client.request("PING", #"{"request_id": "after"}"#, timeout: 10)
                #expect(reply.requestId == .string("after"))
            }
        }
    }
}

extension HardeningTests {
    /// Issue 16, part 8: a `request_id` over the cap is refused by the service (named, not echoed, so no
    /// reply carries a copy of a large body) and the same connection is answered normally afterwards.
    @Test func anOversizedRequestIdIsRefusedWithoutBeingEchoed() async throws {
        try await withCluster(nodes: 0) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                let long = String(repeating: "x", count: WireProtocol.maxRequestIdBytes + 1)
                let refused = try await client.request("PING", "{\"request_id\": \"\(long)\"}")
                #expect(refused.error?.code == .badRequest)
                #expect(refused.error?.message.contains("request_id is \(long.utf8.count) bytes long") == true)
                #expect(refused.requestId == nil)
                let atCap = String(long.dropLast())
                let ping = try await client.request("PING", "{\"request_id\": \"\(atCap)\"}")
                #expect(ping.error == nil)
                #expect(ping.requestId == .string(atCap))
            }
        }
    }
}

extension HardeningTests {
    /// A raw node socket on its own loop (a black hole, an injector, a forger).
    final class RawNodeSocket: Sendable {
        let loop: ZMQLoop
        let socket: ZMQSocket
        init(_ type: SocketType, _ endpoint: String, name: String) async throws {
            loop = try ZMQLoop(context: try ZMQContext(), name: name)
            var options = SocketOptions()
            options.lingerMs = 0
            socket = try await loop.makeSocket(type, options: options)
            try await socket.connect(endpoint)
        }
        func push(_ m: NodeMessage) async throws { try await socket.send(ZMQMessage([m.encode()])) }
        func chunk() async throws -> ChunkMessage {
            let socket = socket
            let m = try await within(10, "a chunk") { try await socket.receive() }
            guard let m, case .chunk(let c) = try NodeMessage.decode(m.frames[0]) else {
                throw TimedOut(what: "a chunk")
            }
            return c
        }
        func close() async { await loop.shutdown() }
    }

    static func heartbeat(_ name: String, held: [ChunkMessage], lease: LeaseToken? = nil, done: Int) -> NodeMessage {
        .heartbeat(
            HeartbeatMessage(
                nodeName: name,
                incarnation: 7,
                threads: 2,
                chunksDone: 0,
                symbolsDone: done,
                inFlight: held.count,
                held: held.map { HeldChunk(jobId: $0.jobId, chunkIndex: $0.chunkIndex, lease: lease ?? $0.lease) }
            )
        )
    }

    /// Defect 2: results pushed by anyone but the chunk's holder are refused. An injector that knows
    /// everything but the lease (job id, chunk index, the very symbols) forges a result with a match
    /// for every symbol; a node that pulled a chunk answers it under another lease. The scan's result
    /// is still the true one.
    @Test func resultsWithoutTheChunksLeaseAreRefused() async throws {
        // Two chunks even for this small job (one chunk a node otherwise): the rogue pulls both, and a
        // lease of one must not answer for the other.
        let setup: (inout ScanServiceConfiguration) -> Void = {
            $0.chunkLeaseTimeoutMs = 1000
            $0.smallJobSymbolsPerNode = 0
        }
        try await withCluster(nodes: 0, configure: setup) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                let started = try await client.request("RUN_SCAN", runScanBody(wait: false)).decode(SessionReply.self)
                let hole = try await RawNodeSocket(.pull, cluster.endpoints.jobs, name: "rogue")
                let c = try await hole.chunk()
                let first = try await hole.chunk()
                await hole.close()
                let injector = try await RawNodeSocket(.push, cluster.endpoints.results, name: "injector")
                for (chunk, lease) in [(c, LeaseToken.random()), (c, first.lease), (first, c.lease)] {
                    let forged = chunk.symbols.map { symbol in
                        SymbolResult(
                            symbol: symbol,
                            matches: [
                                SignalMatch(
                                    symbol: symbol,
                                    timestamp: BarTimestamp(
                                        epochSeconds: 1_650_000_000,
                                        utcOffsetSeconds: 0,
                                        isIntraday: false
                                    ),
                                    signal: "f1",
                                    close: 1
                                )
                            ],
                            barsScanned: 1
                        )
                    }
                    try await injector.push(
                        .result(
                            ChunkResultMessage(
                                jobId: chunk.jobId,
                                chunkIndex: chunk.chunkIndex,
                                attempt: chunk.attempt,
                                lease: lease,
                                nodeName: "rogue",
                                results: forged
                            )
                        )
                    )
                }
                cluster.addNode(name: "honest")
                try await expectTrueResult(client, started.session.sessionId, started)
                await injector.close()
            }
        }
    }

    /// Defect 4: a black hole pulls a chunk and leaves; heartbeats keep naming it — from a forger that
    /// does not know the lease, and from one that does and even pretends to make progress. The first
    /// renew nothing, the second at most until the chunk's hard deadline; then the chunk runs elsewhere.
    @Test func heartbeatsRenewOnlyTheirOwnLeasesAndNeverPastTheDeadline() async throws {
        let setup: (inout ScanServiceConfiguration) -> Void = {
            $0.chunkLeaseTimeoutMs = 500
            $0.chunkDeadlineMs = 2000
        }
        try await withCluster(nodes: 0, configure: setup) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                let started = try await client.request("RUN_SCAN", runScanBody(wait: false)).decode(SessionReply.self)
                let hole = try await RawNodeSocket(.pull, cluster.endpoints.jobs, name: "black-hole")
                let c = try await hole.chunk()
                await hole.close()
                let forger = try await RawNodeSocket(.push, cluster.endpoints.results, name: "forger")
                let beats = Task {
                    var done = 0
                    while !Task.isCancelled {
                        done += 1
                        try? await forger.push(Self.heartbeat("black-hole", held: [c], done: done))
                        try? await forger.push(Self.heartbeat("stranger", held: [c], lease: .random(), done: done))
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
                cluster.addNode(name: "rescuer")
                try await expectTrueResult(client, started.session.sessionId, started)
                beats.cancel()
                await forger.close()
            }
        }
    }

    /// Defect 3: a node whose evaluation hangs while its sockets still answer (its heartbeats go on)
    /// does not make chunks fail while a healthy node could run them: the full, identical result.
    @Test func aNodeWhoseEvaluationHangsLosesNoSymbol() async throws {
        let hung = HangingBars(try await TestMarket.store())
        defer { hung.release() }
        let setup: (inout ScanServiceConfiguration) -> Void = { $0.chunkLeaseTimeoutMs = 1000 }
        try await withCluster(nodes: 0, configure: setup) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                cluster.addNode(name: "hung", bars: hung)
                try await eventually(10, "the hung node is live") {
                    try await client.request("PING", "{}").decode(PingReply.self).nodes.contains { $0.name == "hung" }
                }
                cluster.addNode(name: "healthy")
                try await eventually(10, "both nodes live") {
                    try await client.request("PING", "{}").decode(PingReply.self).nodes.count == 2
                }
                let started = try await client.request("RUN_SCAN", runScanBody(wait: false)).decode(SessionReply.self)
                try await expectTrueResult(client, started.session.sessionId, started)
                #expect(hung.hanging > 0, "the hung node took work")
            }
        }
    }
}

extension HardeningTests {
    /// Defect 6: with the session store failing (a full disk), a session that ends or is cancelled is
    /// not lost nor misreported: its true state is answered (`GET_SESSION`, `LIST_SESSIONS`, `PING`,
    /// the waiting `CANCEL`) and stored as soon as the store takes writes again. A new `RUN_SCAN` is
    /// answered `busy` meanwhile.
    @Test func aStoreFailureNeitherLosesNorMisreportsASession() async throws {
        let store = try SessionStore.inMemory()
        let disk = FullDiskSessions(store)
        try await withCluster(nodes: 0, sessions: store, sessionRepository: disk) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                let a = try await client.request("RUN_SCAN", runScanBody(wait: false)).decode(SessionReply.self)
                let b = try await client.request("RUN_SCAN", runScanBody(wait: false)).decode(SessionReply.self)
                let (idA, idB) = (a.session.sessionId, b.session.sessionId)
                try await eventually(10, "both stored running") {
                    let (sa, sb) = (try await store.session(id: idA), try await store.session(id: idB))
                    return sa?.status == .running && sb?.status == .running
                }
                disk.full.withLock { $0 = true }
                let refused = try await client.request("RUN_SCAN", runScanBody(wait: false))
                #expect(refused.error?.code == .busy)

                let cancelled = try await client.request("CANCEL", #"{"session_id": "\#(idB)"}"#)
                #expect(try cancelled.decode(SessionReply.self).session.status == "cancelled")
                cluster.addNode(name: "node-1")
                try await eventually(20, "session a completes") {
                    try await client.request("GET_SESSION", #"{"session_id": "\#(idA)"}"#).decode(SessionReply.self)
                        .session.status == "completed"
                }
                let list = try await client.request("LIST_SESSIONS", "{}").decode(SessionListReply.self)
                let statuses = Dictionary(uniqueKeysWithValues: list.sessions.map { ($0.sessionId, $0.status) })
                #expect(statuses[idA] == "completed" && statuses[idB] == "cancelled")
                #expect(try await client.request("PING", "{}").decode(PingReply.self).sessionsRunning == 0)
                #expect(try await store.session(id: idA)?.status == .running, "the store has not taken it yet")

                disk.full.withLock { $0 = false }
                try await eventually(20, "the true states stored") {
                    let (sa, sb) = (try await store.session(id: idA), try await store.session(id: idB))
                    return sa?.status == .completed && sb?.status == .cancelled
                }
                try await eventually(10, "the finished job's chunks dropped") { try await store.job(id: idA) == nil }
                try await expectTrueResult(client, idA, a)
            }
        }
    }
}

extension HardeningTests {
    /// Defect 7: made-up heartbeat names are bounded, never count for chunk sizing, and are shown with
    /// their control characters escaped; with CURVE a name stays with the key that first used it.
    @Test func heartbeatNamesAreBoundedEscapedAndProveNothing() {
        let nodes = NodeRegistry(timeout: .seconds(5), maxNodes: 256)
        for i in 0..<2_000 {
            nodes.heartbeat(
                HeartbeatMessage(nodeName: "fake-\(i)", incarnation: 1, threads: 64, chunksDone: 0, inFlight: 0)
            )
        }
        #expect(nodes.live().count == 256)
        #expect(nodes.workerCount() == 4, "heartbeats alone count for at most 4 nodes")
        nodes.proven("fake-7")
        #expect(nodes.workerCount() == 1, "once a node held a lease, only such nodes count")
        #expect(
            !nodes.heartbeat(
                HeartbeatMessage(
                    nodeName: String(repeating: "n", count: 129),
                    incarnation: 1,
                    threads: 1,
                    chunksDone: 0,
                    inFlight: 0
                )
            )
        )

        let named = NodeRegistry(timeout: .seconds(5))
        named.heartbeat(
            HeartbeatMessage(nodeName: "evil\u{1B}[2J\nnode", incarnation: 1, threads: 1, chunksDone: 0, inFlight: 0)
        )
        #expect(named.live().map(\.displayName) == [#"evil\u{1B}[2J\u{A}node"#])
        #expect(
            named.heartbeat(
                HeartbeatMessage(nodeName: "keyed", incarnation: 1, threads: 1, chunksDone: 0, inFlight: 0),
                sender: "KEY-A"
            )
        )
        #expect(
            !named.heartbeat(
                HeartbeatMessage(nodeName: "keyed", incarnation: 2, threads: 1, chunksDone: 0, inFlight: 0),
                sender: "KEY-B"
            )
        )
    }
}

/// The session store on a disk that fills up: while `full`, every save fails as SQLite's would.
final class FullDiskSessions: ScanSessionRepository {
    struct DiskFull: Error, CustomStringConvertible {
        var description: String { "database or disk is full (SQLITE_FULL)" }
    }
    let inner: SessionStore
    let full = Mutex(false)
    init(_ inner: SessionStore) { self.inner = inner }
    func save(_ session: ScanSession) async throws {
        if full.withLock({ $0 }) { throw DiskFull() }
        try await inner.save(session)
    }
    func session(id: String) async throws -> ScanSession? { try await inner.session(id: id) }
    func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession] {
        try await inner.list(status: status, limit: limit)
    }
    func prune(_ policy: RetentionPolicy, now: Date) async throws -> Int { try await inner.prune(policy, now: now) }
}

/// A bar store whose every load hangs until ``release()`` (an evaluation thread stuck on I/O).
final class HangingBars: BarRepository {
    let inner: MarketDataStore
    private let gate = Mutex(false)
    private let condition = NSCondition()
    private let count = Mutex(0)
    init(_ inner: MarketDataStore) { self.inner = inner }
    var hanging: Int { count.withLock { $0 } }
    func release() {
        condition.lock()
        gate.withLock { $0 = true }
        condition.broadcast()
        condition.unlock()
    }
    func dataVersion() throws -> Int64 { try inner.dataVersion() }
    func storeVersion() throws -> StoreVersion { try inner.storeVersion() }
    func latestDay(for timeframe: Timeframe) throws -> CalendarDay? { try inner.latestDay(for: timeframe) }
    func loadBars(_ query: BarQuery) throws -> BarSeries {
        count.withLock { $0 += 1 }
        condition.lock()
        while !gate.withLock({ $0 }) { condition.wait() }
        condition.unlock()
        return try inner.loadBars(query)
    }
}

/// The shared sample store, counting bar loads (to see evaluation under way).
final class LoadCountingBars: BarRepository {
    let inner: MarketDataStore
    let loads = Mutex(0)
    init(_ inner: MarketDataStore) { self.inner = inner }
    func dataVersion() throws -> Int64 { try inner.dataVersion() }
    func storeVersion() throws -> StoreVersion { try inner.storeVersion() }
    func latestDay(for timeframe: Timeframe) throws -> CalendarDay? { try inner.latestDay(for: timeframe) }
    func loadBars(_ query: BarQuery) throws -> BarSeries {
        loads.withLock { $0 += 1 }
        return try inner.loadBars(query)
    }
}
