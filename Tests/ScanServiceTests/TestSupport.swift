import EngineNode
import Foundation
import Logging
import MarketData
import ScanCore
import ScanProtocol
import ScanService
import SessionStore
import Synchronization
import TestSupport
import Testing
import ZeroMQ

/// The bundled sample (48 KRX symbols, daily bars 2015–2022) in one in-memory store shared by tests,
/// loaded once off the cooperative pool (a load holding a pool thread, and tests blocked on a lock
/// waiting for it, stalled every test in the process, so waits with a deadline timed out).
enum TestMarket {
    private static let loading = Task {
        try await Blocking.run { () throws -> MarketDataStore in
            let store = try MarketDataStore.inMemory()
            _ = try SampleData.load(into: store)
            return store
        }
    }

    static func store() async throws -> MarketDataStore { try await loading.value }
}

let quietLogger: Logger = {
    var l = Logger(label: "test")
    l.logLevel = .critical
    return l
}()

let f1 = "crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)"

/// A scan-service and its nodes running in this process on 127.0.0.1 with ephemeral ports.
final class Cluster: Sendable {
    let service: ScanService
    let serviceTask: Task<Void, any Error>
    let endpoints: ScanServiceConfiguration.Endpoints
    let nodes: Mutex<[(EngineNode, Task<Void, any Error>)]>
    let store: MarketDataStore
    let sessions: SessionStore

    init(
        service: ScanService,
        serviceTask: Task<Void, any Error>,
        endpoints: ScanServiceConfiguration.Endpoints,
        store: MarketDataStore,
        sessions: SessionStore
    ) {
        self.service = service
        self.serviceTask = serviceTask
        self.endpoints = endpoints
        self.store = store
        self.sessions = sessions
        self.nodes = Mutex([])
    }

    static func start(
        nodes: Int,
        sessions: SessionStore? = nil,
        sessionRepository: (any ScanSessionRepository)? = nil,
        configure: (inout ScanServiceConfiguration) -> Void = { _ in }
    ) async throws -> Cluster {
        let store = try await TestMarket.store()
        let sessionStore = try sessions ?? SessionStore.inMemory()
        var config = ScanServiceConfiguration(endpoints: .ephemeral(), lingerMs: 0, nodeTimeoutMs: 5000)
        configure(&config)
        let service = ScanService(
            configuration: config,
            symbols: store,
            bars: store,
            sessions: sessionRepository ?? sessionStore,
            jobs: sessionStore,
            logger: quietLogger
        )
        let task = Task { try await service.run() }
        let endpoints: ScanServiceConfiguration.Endpoints
        do {
            // A setup deadline, not a bound under test: binding waits for the cooperative pool, which the
            // whole test process shares (all targets run at once; 2 cores loaded by other work took > 10 s).
            endpoints = try await within(30, "service bound") { try await service.boundEndpoints() }
        } catch {
            service.shutdown()
            task.cancel()
            throw error
        }
        let cluster = Cluster(
            service: service,
            serviceTask: task,
            endpoints: endpoints,
            store: store,
            sessions: sessionStore
        )
        for i in 0..<nodes { cluster.addNode(name: "node-\(i + 1)") }
        return cluster
    }

    @discardableResult
    func addNode(
        name: String,
        threads: Int = 2,
        curve: CurveClientSecurity? = nil,
        bars: (any BarRepository)? = nil
    ) -> EngineNode {
        let config = EngineNodeConfiguration(
            jobsEndpoint: endpoints.jobs,
            resultsEndpoint: endpoints.results,
            controlEndpoint: endpoints.control,
            threads: threads,
            name: name,
            heartbeatIntervalMs: 100,
            lingerMs: 0,
            curve: curve
        )
        let node = EngineNode(configuration: config, bars: bars ?? store, logger: quietLogger)
        let task = Task { try await node.run() }
        nodes.withLock { $0.append((node, task)) }
        return node
    }

    /// Stops one node and waits for it.
    func stopNode(_ node: EngineNode) async {
        let entry = nodes.withLock { list -> (EngineNode, Task<Void, any Error>)? in
            guard let i = list.firstIndex(where: { $0.0 === node }) else { return nil }
            return list.remove(at: i)
        }
        guard let (n, t) = entry else { return }
        n.shutdown()
        _ = try? await within(10, "node stopped") { try await t.value }
    }

    /// Stops the service only (nodes keep running).
    func stopService() async {
        service.shutdown()
        _ = try? await within(10, "service stopped") { try await self.serviceTask.value }
    }

    func stop() async {
        for (n, _) in nodes.withLock({ $0 }) { await stopNode(n) }
        await stopService()
    }
}

/// Runs `body` with a cluster that is stopped afterwards, even when `body` throws.
func withCluster(
    nodes: Int,
    sessions: SessionStore? = nil,
    sessionRepository: (any ScanSessionRepository)? = nil,
    configure: (inout ScanServiceConfiguration) -> Void = { _ in },
    _ body: (Cluster) async throws -> Void
) async throws {
    let cluster = try await Cluster.start(
        nodes: nodes,
        sessions: sessions,
        sessionRepository: sessionRepository,
        configure: configure
    )
    do {
        try await body(cluster)
    } catch {
        await cluster.stop()
        throw error
    }
    await cluster.stop()
}

/// A raw DEALER client speaking the wire protocol.
final class RawClient: Sendable {
    let loop: ZMQLoop
    let socket: ZMQSocket

    init(endpoint: String) async throws {
        loop = try ZMQLoop(context: try ZMQContext(), name: "test-client")
        var options = SocketOptions()
        options.lingerMs = 0
        socket = try await loop.makeSocket(.dealer, options: options)
        try await socket.connect(endpoint)
    }

    func sendRaw(_ frames: [[UInt8]]) async throws {
        try await socket.send(ZMQMessage(frames))
    }

    func receiveReply(timeout: Double = 15) async throws -> Reply {
        let socket = self.socket
        let message = try await within(timeout, "reply") { try await socket.receive() }
        guard let message else { throw TimedOut(what: "socket closed") }
        return try ReplyCodec.decode(message.frames)
    }

    /// Sends `"" | MSCAN/1 | VERB | BODY` and waits for the reply.
    func request(_ verb: String, _ body: String, timeout: Double = 15) async throws -> Reply {
        try await sendRaw([[], Array("MSCAN/1".utf8), Array(verb.utf8), Array(body.utf8)])
        return try await receiveReply(timeout: timeout)
    }

    func close() async { await loop.shutdown() }
}

func withClient(_ endpoint: String, _ body: (RawClient) async throws -> Void) async throws {
    let client = try await RawClient(endpoint: endpoint)
    do {
        try await body(client)
    } catch {
        await client.close()
        throw error
    }
    await client.close()
}

func runScanBody(symbols: [String]? = nil, formula: String = f1, wait: Bool, extra: String = "") -> String {
    let criteria =
        symbols.map { "\"criteria\": {\"symbols\": [\($0.map { "\"\($0)\"" }.joined(separator: ","))]}," } ?? ""
    return """
        {"formula": {"name": "f1", "source": "\(formula)"}, \(criteria)
         "timeframe": "1d", "date_range": {"from": "2021-01-04", "to": "2022-09-19"}, "mode": "range",
         "wait": \(wait)\(extra)}
        """
}

/// The same scan run in this process (what `scan run --local` computes).
func localResult(_ request: BatchScanRequest) async throws -> BatchScanResult {
    let store = try await TestMarket.store()
    return try await BatchScanUseCase(symbols: store, bars: store, engine: InProcessEngine(bars: store, threads: 2))
        .execute(request)
}

/// The session's result equals the in-process scan's, with no symbol in error.
func expectTrueResult(_ client: RawClient, _ id: String, _ started: SessionReply, within: Double = 30) async throws {
    try await eventually(within, "session completes") {
        try await client.request("GET_SESSION", #"{"session_id": "\#(id)"}"#).decode(SessionReply.self)
            .session.status == "completed"
    }
    let result = try await client.request("GET_RESULT", #"{"session_id": "\#(id)"}"#).decode(ResultReply.self)
    let local = ResultDocument(
        try await localResult(try started.session.request.validated()),
        sessionId: id,
        status: .completed
    )
    #expect(result.result.signals == local.signals)
    #expect(result.result.errorsCount == 0)
}
