import ScanCore
import ScanProtocol
import ScanService
import SessionStore
import Synchronization
import TestSupport
import Testing

/// A node faster than the dispatcher: the chunk's result reaches the engine while the dispatcher is
/// still waiting for the jobs socket to take the frame (over TCP a small chunk can be evaluated and
/// answered within that hop).
private final class AnsweringTransport: NodeTransport {
    let engine = Mutex<DistributedEngine?>(nil)
    let acceptances = Mutex<[DistributedEngine.Acceptance]>([])

    func trySendChunk(_ frame: [UInt8]) async throws -> Bool {
        guard case .chunk(let c) = try NodeMessage.decode(frame), let engine = engine.withLock({ $0 }) else {
            return false
        }
        let acceptance = await engine.accept(answer(c))
        acceptances.withLock { $0.append(acceptance) }
        return true
    }

    func publishCancel(jobId: String) async {}
}

@Suite(.timeLimit(.minutes(1))) struct DispatchRaceTests {
    @Test func aResultArrivingBeforeTheSendReturnsIsAccepted() async throws {
        let transport = AnsweringTransport()
        let engine = DistributedEngine(
            transport: transport,
            jobs: try SessionStore.inMemory(),
            nodes: NodeRegistry(timeout: .seconds(5)),
            leaseTimeout: .seconds(600),
            maxAttempts: 2,
            chunksPerNode: 4,
            logger: quietLogger
        )
        transport.engine.withLock { $0 = engine }
        let dispatcher = Task { await engine.runDispatcher() }
        defer { dispatcher.cancel() }
        let j = job("job-race", symbols: 20)
        // Every chunk is answered inside its send; the job completes without waiting for a lease to
        // expire (600 s: the time limit would end the test first).
        let results = try await engine.processBatch(
            j,
            plan: try j.compilePlan(),
            progress: { _ in },
            cancellation: CancellationToken()
        )
        #expect(results.map(\.symbol) == j.symbols)
        #expect(transport.acceptances.withLock { $0 } == [.accepted, .accepted, .accepted])
    }
}
