import Foundation
import ScanCore
import ScanProtocol
import ScanService
import SessionStore
import Synchronization
import TestSupport
import Testing

/// Issue 15: a small job is split into one chunk per node (its per-chunk costs are most of its time);
/// a larger one, or an engine without the policy, into two per node as before.
@Suite(.serialized, .timeLimit(.minutes(2))) struct SmallJobChunkingTests {
    /// Chunks dispatched for a job of `symbols` symbols with one live node, and the job's stored chunk size.
    func dispatched(symbols: Int, smallJobSymbolsPerNode: Int) async throws -> (chunks: [Int], chunkSize: Int?) {
        let transport = RecordingTransport()
        let store = try SessionStore.inMemory()
        let engine = DistributedEngine(
            transport: transport,
            jobs: store,
            nodes: NodeRegistry(timeout: .seconds(5)),
            leaseTimeout: .seconds(60),
            maxAttempts: 2,
            smallJobSymbolsPerNode: smallJobSymbolsPerNode,
            logger: quietLogger
        )
        let dispatcher = Task { await engine.runDispatcher() }
        defer { dispatcher.cancel() }
        let j = job("job-\(symbols)-\(smallJobSymbolsPerNode)", symbols: symbols)
        let plan = try j.compilePlan()
        let run = Task { try await engine.processBatch(j, plan: plan, progress: { _ in }, cancellation: .init()) }
        let expected = symbols <= smallJobSymbolsPerNode ? 1 : 2
        try await eventually(60, "\(expected) chunks dispatched") { transport.sent.withLock { $0.count } == expected }
        let sent = transport.sent.withLock { $0 }
        for c in sent { #expect(await engine.accept(answer(c)) == .accepted) }
        let results = try await within(10, "the job's result") { try await run.value }
        #expect(results.map(\.symbol) == j.symbols)
        let chunkSize = try await store.job(id: j.id)?.chunkSize
        await engine.stop()
        return (sent.map(\.symbols.count), chunkSize)
    }

    @Test func aSmallJobGetsOneChunkPerNodeAndALargerOneTwo() async throws {
        let small = try await dispatched(symbols: 200, smallJobSymbolsPerNode: 256)
        #expect(small.chunks == [200])
        #expect(small.chunkSize == 200)
        let atTheBound = try await dispatched(symbols: 256, smallJobSymbolsPerNode: 256)
        #expect(atTheBound.chunks == [256])
        let larger = try await dispatched(symbols: 300, smallJobSymbolsPerNode: 256)
        #expect(larger.chunks == [150, 150])
        let without = try await dispatched(symbols: 200, smallJobSymbolsPerNode: 0)
        #expect(without.chunks == [100, 100])
    }
}
