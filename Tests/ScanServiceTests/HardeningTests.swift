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
        let store = LoadCountingBars(try TestMarket.store())
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
            let bigId = String(repeating: "x", count: 256 << 10)
            let ping: [[UInt8]] = [
                [], Array("MSCAN/1".utf8), Array("PING".utf8), Array("{\"request_id\": \"\(bigId)\"}".utf8),
            ]
            for _ in 0..<40 { try await flooder.send(ZMQMessage(ping)) }
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

/// The shared sample store, counting bar loads (to see evaluation under way).
final class LoadCountingBars: BarRepository {
    let inner: MarketDataStore
    let loads = Mutex(0)
    init(_ inner: MarketDataStore) { self.inner = inner }
    func dataVersion() throws -> Int64 { try inner.dataVersion() }
    func latestDay(for timeframe: Timeframe) throws -> CalendarDay? { try inner.latestDay(for: timeframe) }
    func loadBars(_ query: BarQuery) throws -> BarSeries {
        loads.withLock { $0 += 1 }
        return try inner.loadBars(query)
    }
}
