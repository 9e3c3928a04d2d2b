import Foundation
import ScanCore
import ScanProtocol
import ScanService
import SessionStore
import Synchronization
import TestSupport
import Testing
import ZeroMQ

/// Records chunk frames instead of sending them.
final class RecordingTransport: NodeTransport {
    let sent = Mutex<[ChunkMessage]>([])
    let cancels = Mutex<[String]>([])

    func trySendChunk(_ frame: [UInt8]) async throws -> Bool {
        guard case .chunk(let c) = try NodeMessage.decode(frame) else { return false }
        sent.withLock { $0.append(c) }
        return true
    }

    func publishCancel(jobId: String) async { cancels.withLock { $0.append(jobId) } }
}

func job(_ id: String, symbols: Int) -> ProcessingJob {
    ProcessingJob(
        id: id,
        symbols: (0..<symbols).map { "S\($0)" },
        timeframe: .daily,
        dateRange: DateRange(from: CalendarDay("2022-01-03")!, to: CalendarDay("2022-03-31")!),
        formula: Formula(name: "f", source: "close > open")
    )
}

func answer(_ c: ChunkMessage, node: String = "fake", note: String? = nil) -> ChunkResultMessage {
    ChunkResultMessage(
        jobId: c.jobId,
        chunkIndex: c.chunkIndex,
        attempt: c.attempt,
        lease: c.lease,
        nodeName: node,
        results: c.symbols.map { SymbolResult(symbol: $0, error: note, barsScanned: 1) }
    )
}

@Suite(.serialized, .timeLimit(.minutes(2))) struct ReliabilityTests {
    /// The engine with a fake transport: dispatch, dedupe, leases and attempts without sockets.
    @Test func engineAcceptsOnceRedispatchesExpiredLeasesAndFailsAfterMaxAttempts() async throws {
        let transport = RecordingTransport()
        let store = try SessionStore.inMemory()
        let nodes = NodeRegistry(timeout: .seconds(5))
        let engine = DistributedEngine(
            transport: transport,
            jobs: store,
            nodes: nodes,
            leaseTimeout: .seconds(60),
            maxAttempts: 2,
            chunksPerNode: 4,
            logger: quietLogger
        )
        let dispatcher = Task { await engine.runDispatcher() }
        defer { dispatcher.cancel() }
        // No live node counts as one, 4 chunks each → chunks of 8 (the minimum): 3 chunks.
        let j = job("job-1", symbols: 20)
        let plan = try j.compilePlan()
        let run = Task {
            try await engine.processBatch(j, plan: plan, progress: { _ in }, cancellation: CancellationToken())
        }

        // Liveness deadlines, not speed: the dispatcher runs on the cooperative pool that every suite of the
        // process shares, and blocking work elsewhere in a full run has held it for more than 10 s.
        try await eventually(60, "3 chunks dispatched") { transport.sent.withLock { $0.count } == 3 }
        let first = transport.sent.withLock { $0 }
        #expect(first.map(\.chunkIndex) == [0, 1, 2])
        #expect(first.allSatisfy { $0.attempt == 1 })
        #expect(first.flatMap(\.symbols) == j.symbols)
        #expect(Set(first.map(\.lease)).count == 3 && !first.contains { $0.lease == .none })

        #expect(await engine.accept(answer(first[0])) == .accepted)
        #expect(await engine.accept(answer(first[0], note: "late duplicate")) == .duplicate)
        #expect(
            await engine.accept(
                ChunkResultMessage(
                    jobId: "job-1",
                    chunkIndex: 1,
                    attempt: 1,
                    lease: first[1].lease,
                    nodeName: "x",
                    results: []
                )
            )
                == .malformed("results do not match the chunk's 8 symbols")
        )
        // Without the chunk's lease (a blind injector, or another node's lease) nothing is accepted.
        var forged = answer(first[1])
        forged.lease = .random()
        #expect(await engine.accept(forged) == .unknownLease)
        forged.lease = first[2].lease
        #expect(await engine.accept(forged) == .unknownLease)
        #expect(
            await engine.accept(
                answer(
                    ChunkMessage(
                        jobId: "other",
                        chunkIndex: 0,
                        attempt: 1,
                        symbols: [],
                        timeframe: .daily,
                        dateRange: j.dateRange,
                        formula: j.formula,
                        parameters: [:],
                        mode: .range,
                        lookback: 0
                    )
                )
            ) == .unknownJob
        )
        #expect(try await store.chunkResults(jobId: "job-1").keys.sorted() == [0])

        // Leases of chunks 1 and 2 expire: both are dispatched again as attempt 2 (no node said it
        // held them, so the expiry does not count as an attempt).
        #expect(await engine.expireLeases(now: .now + .seconds(61)) == 2)
        try await eventually(60, "re-dispatch") { transport.sent.withLock { $0.count } == 5 }
        let again = transport.sent.withLock { Array($0[3...]) }
        #expect(Set(again.map(\.chunkIndex)) == [1, 2])
        #expect(again.allSatisfy { $0.attempt == 2 })
        let c1 = again.first { $0.chunkIndex == 1 }!
        var c2 = again.first { $0.chunkIndex == 2 }!

        // Node n1 says it holds both and keeps working, renewing only chunk 1: chunk 2's expiries now
        // count (its holder was alive and working), and it fails after the second.
        func beat(_ held: [ChunkMessage], at t: ContinuousClock.Instant, done: Int, node: String = "n1") async {
            let hb = HeartbeatMessage(
                nodeName: node,
                incarnation: 1,
                threads: 1,
                chunksDone: 0,
                symbolsDone: done,
                inFlight: held.count,
                held: held.map { HeldChunk(jobId: $0.jobId, chunkIndex: $0.chunkIndex, lease: $0.lease) }
            )
            nodes.heartbeat(hb, at: t)
            await engine.extendLeases(from: hb, now: t)
        }
        let t = ContinuousClock.now + .seconds(100)
        await beat([c1, c2], at: t, done: 1)
        // Another node naming the same leases renews nothing, and cannot answer for n1.
        await beat([c1, c2], at: t + .seconds(57), done: 1, node: "intruder")
        #expect(await engine.accept(answer(c2, node: "intruder")) == .notTheHolder)
        await beat([c1], at: t + .seconds(58), done: 2)
        #expect(await engine.expireLeases(now: t + .seconds(61)) == 1)
        try await eventually(60, "chunk 2 dispatched a third time") { transport.sent.withLock { $0.count } == 6 }
        c2 = transport.sent.withLock { $0[5] }
        #expect(c2.chunkIndex == 2 && c2.attempt == 3)
        await beat([c1, c2], at: t + .seconds(62), done: 3)
        await beat([c1], at: t + .seconds(120), done: 4)
        #expect(await engine.expireLeases(now: t + .seconds(123)) == 1)
        #expect(await engine.accept(answer(c1, node: "n1")) == .accepted)

        let results = try await within(10, "job result") { try await run.value }
        #expect(results.map(\.symbol) == j.symbols)
        let failed = results.filter { $0.error?.contains("after 2 attempts") == true }.map(\.symbol)
        #expect(failed == first[2].symbols)
        #expect(try await store.chunkResults(jobId: "job-1").keys.sorted() == [0, 1, 2])
        await engine.stop()
    }

    /// Protocol §6: a progress event means a chunk finished — none for a job cancelled before dispatch.
    @Test func engineReportsNoProgressForAJobCancelledBeforeItsFirstChunk() async throws {
        let store = try SessionStore.inMemory()
        let engine = DistributedEngine(
            transport: RecordingTransport(),
            jobs: store,
            nodes: NodeRegistry(timeout: .seconds(5)),
            leaseTimeout: .seconds(60),
            maxAttempts: 2,
            logger: quietLogger
        )
        let token = CancellationToken()
        token.cancel()
        let reports = Mutex<[ScanProgress]>([])
        let early = job("job-early", symbols: 20)
        let results = try await engine.processBatch(
            early,
            plan: try early.compilePlan(),
            progress: { p in reports.withLock { $0.append(p) } },
            cancellation: token
        )
        #expect(results.isEmpty)
        #expect(reports.withLock { $0 }.isEmpty)
        await engine.stop()
    }

    @Test func engineResumesOnlyMissingChunksAndCancelReturnsThePartialResult() async throws {
        let transport = RecordingTransport()
        let store = try SessionStore.inMemory()
        let j = job("job-2", symbols: 24)
        try await store.saveJob(j, chunkSize: 8)
        try await store.saveChunkResult(
            jobId: "job-2",
            chunkIndex: 1,
            results: Array(j.symbols[8..<16]).map { SymbolResult(symbol: $0, error: "from before the restart") }
        )
        let engine = DistributedEngine(
            transport: transport,
            jobs: store,
            nodes: NodeRegistry(timeout: .seconds(5)),
            leaseTimeout: .seconds(60),
            maxAttempts: 3,
            logger: quietLogger
        )
        let dispatcher = Task { await engine.runDispatcher() }
        defer { dispatcher.cancel() }
        let token = CancellationToken()
        let progress = Mutex<[ScanProgress]>([])
        let plan = try j.compilePlan()
        let run = Task {
            try await engine.processBatch(
                j,
                plan: plan,
                progress: { p in progress.withLock { $0.append(p) } },
                cancellation: token
            )
        }
        try await eventually(60, "2 missing chunks dispatched") { transport.sent.withLock { $0.count } == 2 }
        #expect(transport.sent.withLock { $0.map(\.chunkIndex) } == [0, 2])
        #expect(progress.withLock { $0.first?.completed } == 8)
        #expect(await engine.accept(answer(transport.sent.withLock { $0[0] })) == .accepted)
        token.cancel()
        let results = try await within(10, "cancelled job") { try await run.value }
        #expect(results.map(\.symbol) == Array(j.symbols[0..<16]))
        try await eventually(60, "cancel published") { transport.cancels.withLock { $0 } == ["job-2"] }
        #expect(await engine.accept(answer(transport.sent.withLock { $0[1] })) == .unknownJob)
        await engine.stop()
    }

    /// A node that takes chunks and vanishes: its chunks are dispatched again after the lease.
    @Test func chunksOfAVanishedNodeAreRedispatchedAfterTheLease() async throws {
        let setup: (inout ScanServiceConfiguration) -> Void = { $0.chunkLeaseTimeoutMs = 300 }
        try await withCluster(nodes: 0, configure: setup) { cluster in
            // The black hole: a PULL that reads chunks and never answers.
            let holeLoop = try ZMQLoop(context: try ZMQContext(), name: "black-hole")
            var options = SocketOptions()
            options.lingerMs = 0
            let hole = try await holeLoop.makeSocket(.pull, options: options)
            try await hole.connect(cluster.endpoints.jobs)
            try await withClient(cluster.endpoints.api) { client in
                let started = try await client.request("RUN_SCAN", runScanBody(wait: false)).decode(SessionReply.self)
                let taken = try await within(10, "black hole got a chunk") { try await hole.receive() }
                #expect(taken != nil)
                await holeLoop.shutdown()  // the node dies holding chunks
                cluster.addNode(name: "rescuer")
                let id = started.session.sessionId
                let reply = try await client.request("GET_SESSION", #"{"session_id": "\#(id)"}"#)
                #expect(reply.isOK)
                try await expectTrueResult(client, id, started, within: 20)
            }
        }
    }

    /// Stop the service mid-scan, start a new one on the same store: it resumes the session and runs
    /// only the chunks that were not persisted.
    @Test func aRestartedServiceResumesFromPersistedChunks() async throws {
        let sessions = try SessionStore.inMemory()
        var sessionId = ""
        // Two chunks even for this small job (48 symbols would be one chunk a node), so one is stored
        // and the other must still run.
        let twoChunks: (inout ScanServiceConfiguration) -> Void = { $0.smallJobSymbolsPerNode = 0 }
        // First service: no nodes, so the session stays running with nothing finished.
        try await withCluster(nodes: 0, sessions: sessions, configure: twoChunks) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                let started = try await client.request("RUN_SCAN", runScanBody(wait: false)).decode(SessionReply.self)
                let sid = started.session.sessionId
                sessionId = sid
                try await eventually(10, "job persisted") { try await sessions.job(id: sid) != nil }
            }
        }
        let id = sessionId
        #expect(try await sessions.session(id: id)?.status == .running)
        // A chunk finished before the "crash": its stored results must survive, not be recomputed.
        let saved = try #require(try await sessions.job(id: id))
        let chunk0 = saved.job.chunks(size: saved.chunkSize)[0].symbols
        try await sessions.saveChunkResult(
            jobId: id,
            chunkIndex: 0,
            results: chunk0.map { SymbolResult(symbol: $0, error: "persisted before restart") }
        )

        try await withCluster(nodes: 2, sessions: sessions, configure: twoChunks) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                try await eventually(20, "resumed session completes") {
                    try await client.request("GET_SESSION", #"{"session_id": "\#(id)"}"#).decode(SessionReply.self)
                        .session.status == "completed"
                }
                let result = try await client.request("GET_RESULT", #"{"session_id": "\#(id)"}"#).decode(
                    ResultReply.self
                )
                #expect(result.result.signals.totalSymbols == 48)
                #expect(Set(result.result.errors.map(\.symbol)) == Set(chunk0))
                #expect(result.result.errors.allSatisfy { $0.message == "persisted before restart" })
            }
        }
    }
}
