import EngineNode
import Foundation
import MetricsEndpoint
import ScanCore
import ScanProtocol
import ScanService
import SessionStore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `GET path` over a plain TCP connection to 127.0.0.1:`port`; the whole response (head and body).
func httpGet(port: Int, path: String = "/metrics", method: String = "GET") throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TimedOut(what: "socket") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw TimedOut(what: "connect to metrics port \(port)") }
    let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { break }
        response.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: response, as: UTF8.self)
}

/// The value of the sample line `series value` in a Prometheus text exposition.
func sample(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

@Suite(.serialized, .timeLimit(.minutes(2))) struct MetricsTests {
    @Test func aScrapeShowsScansChunksRequestsAndNodes() async throws {
        let store = try await TestMarket.store()
        // A store on a file: it checkpoints after each final state, and the service counts those.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let sessions = try SessionStore(path: dir.appendingPathComponent("sessions.sqlite").path)
        let (serviceRegistry, serviceFactory) = MetricsEndpoint.prometheusFactory()
        let (nodeRegistry, nodeFactory) = MetricsEndpoint.prometheusFactory()
        let serviceEndpoint = try MetricsEndpoint(host: "127.0.0.1", port: 0, registry: serviceRegistry)
        defer { serviceEndpoint.stop() }
        let nodeEndpoint = try MetricsEndpoint(host: "127.0.0.1", port: 0, registry: nodeRegistry)
        defer { nodeEndpoint.stop() }
        #expect(serviceEndpoint.port > 0 && serviceEndpoint.port != nodeEndpoint.port)

        let service = ScanService(
            configuration: ScanServiceConfiguration(endpoints: .ephemeral(), lingerMs: 0),
            symbols: store,
            bars: store,
            sessions: sessions,
            jobs: sessions,
            logger: quietLogger,
            metrics: serviceFactory
        )
        let serviceTask = Task { try await service.run() }
        let endpoints = try await within(30, "service bound") { try await service.boundEndpoints() }
        let node = EngineNode(
            configuration: EngineNodeConfiguration(
                jobsEndpoint: endpoints.jobs,
                resultsEndpoint: endpoints.results,
                controlEndpoint: endpoints.control,
                threads: 2,
                name: "metrics-node",
                heartbeatIntervalMs: 100,
                lingerMs: 0
            ),
            bars: store,
            logger: quietLogger,
            metrics: nodeFactory
        )
        let nodeTask = Task { try await node.run() }
        defer {
            node.shutdown()
            service.shutdown()
        }

        let servicePort = serviceEndpoint.port
        let nodePort = nodeEndpoint.port
        // Before any scan: the labelled series are there at 0.
        let before = try await Blocking.run { try httpGet(port: servicePort) }
        #expect(before.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(before.contains("Content-Type: text/plain; version=0.0.4"))
        #expect(sample(before, #"marketscan_scans_total{outcome="completed"}"#) == 0)
        #expect(sample(before, #"marketscan_store_checkpoints_total{outcome="completed"}"#) == 0)
        #expect(sample(before, #"marketscan_store_checkpoints_total{outcome="failed"}"#) == 0)

        try await withClient(endpoints.api) { client in
            try await eventually(10, "the node is live") {
                let ping = try await client.request("PING", "{}").decode(PingReply.self)
                return ping.nodes.count == 1
            }
            let reply = try await client.request("RUN_SCAN", runScanBody(wait: true))
            #expect(try reply.decode(SessionReply.self).session.status == "completed")
            let bad = try await client.request("GET_SESSION", #"{"session_id": 5}"#)
            #expect(bad.error?.code == .badRequest)
            _ = try await client.request("FLY", "{}")
        }

        // The live-node gauge is sampled with the lease checks (every 250 ms here); the store checkpoints
        // after the session's final state, off the reply's path.
        let text = try await eventually(10, "the live node and the checkpoint counted") { () -> String? in
            let text = try await Blocking.run { try httpGet(port: servicePort) }
            let checkpoints = sample(text, #"marketscan_store_checkpoints_total{outcome="completed"}"#) ?? 0
            return sample(text, "marketscan_live_nodes") == 1 && checkpoints >= 1 ? text : nil
        }
        #expect(sample(text, #"marketscan_store_checkpoints_total{outcome="failed"}"#) == 0)
        #expect(sample(text, #"marketscan_scans_total{outcome="completed"}"#) == 1)
        #expect(sample(text, #"marketscan_scans_total{outcome="failed"}"#) == 0)
        #expect(sample(text, "marketscan_scan_duration_seconds_count") == 1)
        let dispatched = try #require(sample(text, "marketscan_chunks_dispatched_total"))
        #expect(dispatched >= 1)
        #expect(sample(text, "marketscan_chunks_redispatched_total") == 0)
        #expect(sample(text, "marketscan_chunks_failed_total") == 0)
        #expect(sample(text, "marketscan_lease_expiries_total") == 0)
        #expect(sample(text, "marketscan_queue_depth") == 0)
        #expect(sample(text, #"marketscan_requests_total{verb="RUN_SCAN",code="ok"}"#) == 1)
        #expect(sample(text, #"marketscan_requests_total{verb="GET_SESSION",code="bad_request"}"#) == 1)
        #expect(sample(text, #"marketscan_requests_total{verb="invalid",code="bad_request"}"#) == 1)
        #expect((sample(text, #"marketscan_requests_total{verb="PING",code="ok"}"#) ?? 0) >= 1)

        let nodeText = try await Blocking.run { try httpGet(port: nodePort) }
        #expect(sample(nodeText, "marketscan_node_chunks_completed_total") == dispatched)
        #expect(sample(nodeText, #"marketscan_node_symbols_total{outcome="ok"}"#) == 48)
        #expect(sample(nodeText, "marketscan_node_chunk_duration_seconds_count") == dispatched)
        #expect(sample(nodeText, "marketscan_node_chunks_in_flight") == 0)
        // A first scan: every symbol's series loaded, none from the cache, and kept.
        #expect(sample(nodeText, #"marketscan_node_series_cache_lookups_total{outcome="miss"}"#) == 48)
        #expect(sample(nodeText, #"marketscan_node_series_cache_lookups_total{outcome="hit"}"#) == 0)
        #expect((sample(nodeText, "marketscan_node_series_cache_bytes") ?? 0) > 0)

        // Only GET/HEAD /metrics.
        let notFound = try await Blocking.run { try httpGet(port: servicePort, path: "/") }
        #expect(notFound.hasPrefix("HTTP/1.1 404"))
        let post = try await Blocking.run { try httpGet(port: servicePort, method: "POST") }
        #expect(post.hasPrefix("HTTP/1.1 405"))

        node.shutdown()
        service.shutdown()
        _ = try await within(10, "node stopped") { try await nodeTask.value }
        _ = try await within(10, "service stopped") { try await serviceTask.value }
    }

    @Test func badAddressesAreRefusedWithTheirReason() throws {
        #expect(throws: MetricsEndpointError.self) { try MetricsEndpoint.parse("9464") }
        #expect(throws: MetricsEndpointError.self) { try MetricsEndpoint.parse("host:99999") }
        #expect(try MetricsEndpoint.parse("[::1]:9464") == ("::1", 9464))
        let (registry, _) = MetricsEndpoint.prometheusFactory()
        let taken = try MetricsEndpoint(host: "127.0.0.1", port: 0, registry: registry)
        defer { taken.stop() }
        #expect(throws: MetricsEndpointError.self) {
            try MetricsEndpoint(host: "127.0.0.1", port: taken.port, registry: registry)
        }
    }
}
