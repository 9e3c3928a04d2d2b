import Foundation
import ScanProtocol
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The product across separate network hosts (deploy/netns-cluster.sh): PostgreSQL on a data host,
/// the service on its own host bound to its address, nodes on two or three node hosts, clients on a
/// client host. Each test builds its own hosts and removes them, whatever happens.
@Suite(
    "Cluster on separate network hosts",
    .serialized,
    .enabled(if: NetnsCluster.unavailable == nil, "\(NetnsCluster.unavailable ?? "")"),
    .timeLimit(.minutes(3))
)
struct ClusterTests {
    static let f1 = EndToEndTests.f1
    static let range = ["--from", "2016-01-01", "--to", "2022-09-19"]
    static let scanArguments = ["--formula", f1, "--name", "f1"] + range

    /// Starts the hosts, loads the sample into PostgreSQL and computes the reference: `scan run
    /// --local --store` from the client host.
    static func prepared() async throws -> (NetnsCluster, ResultDocument) {
        let cluster = try await NetnsCluster()
        do {
            try await cluster.loadSample()
            let local = try await cluster.scan(["--local", "--store", cluster.storeURL] + scanArguments)
            guard local.status == 0 else { throw SetupError("scan run --local --store failed: \(local.stderr)") }
            return (cluster, try ResultDocument.decode(Data(local.stdout.utf8)))
        } catch {
            cluster.stop()
            throw error
        }
    }

    static func remote(
        _ cluster: NetnsCluster,
        service: String = "svc",
        _ extra: [String] = []
    ) async throws
        -> ResultDocument
    {
        let r = try await cluster.scan(["--endpoint", cluster.api(service)] + extra + scanArguments)
        guard r.status == 0 else { throw SetupError("scan run --endpoint failed (\(r.status)): \(r.stderr)") }
        return try ResultDocument.decode(Data(r.stdout.utf8))
    }

    @Test("three node hosts give the result of scan run --local; PING shows each node's store and data version")
    func sameResultAcrossHosts() async throws {
        let (cluster, reference) = try await Self.prepared()
        defer { cluster.stop() }
        try await cluster.startService()
        for host in ["n1", "n2", "n3"] { try await cluster.startNode(host) }
        EndToEndTests.expectSameResult(try await Self.remote(cluster), reference)
        let nodes = try await cluster.nodes()
        #expect(Set(nodes.keys) == ["n1", "n2", "n3"])
        let versions = Set(nodes.values.compactMap { $0["data_version"] as? String })
        #expect(versions.count == 1, "every node on the same PostgreSQL reports one version: \(versions)")
        #expect(
            nodes.values.allSatisfy { ($0["store"] as? String)?.contains(":***@\(cluster.address("data"))") == true }
        )
    }

    @Test("a node host partitioned mid-scan: its chunks come back through leases, the result is identical, it rejoins")
    func partitionedNode() async throws {
        let (cluster, reference) = try await Self.prepared()
        defer { cluster.stop() }
        try await cluster.startService()
        try await cluster.startNode("n1", paceMs: 60)
        try await cluster.startNode("n2", paceMs: 60)
        let scan = try cluster.start(
            "scan-partitioned",
            on: "cli",
            "scan",
            ["run", "--format", "json", "--endpoint", cluster.api()] + Self.scanArguments
        )
        // Cut n1 off once it holds work.
        _ = try await eventually(60, "n1 to hold a chunk", interval: .milliseconds(100)) {
            let n1 = try await cluster.nodes()["n1"]
            return (n1?["chunks_done"] as? Int ?? 0) >= 1 || scan.isRunning == false ? true : nil
        }
        try await cluster.control(["partition", "n1"])
        #expect(try await scan.exitStatus(within: 90) == 0, "\(scan.stderr)")
        EndToEndTests.expectSameResult(try ResultDocument.decode(Data(scan.stdout.utf8)), reference)
        _ = try await eventually(30, "the service to drop the partitioned n1", interval: .milliseconds(300)) {
            try await cluster.nodes()["n1"] == nil ? true : nil
        }
        try await cluster.control(["heal", "n1"])
        _ = try await eventually(60, "n1 to rejoin after the partition healed", interval: .milliseconds(300)) {
            try await cluster.nodes()["n1"] == nil ? nil : true
        }
    }

    @Test("PostgreSQL restarted mid-scan: the scan completes with the same result or fails with a message")
    func databaseRestart() async throws {
        let (cluster, reference) = try await Self.prepared()
        defer { cluster.stop() }
        try await cluster.startService()
        try await cluster.startNode("n1", paceMs: 40)
        try await cluster.startNode("n2", paceMs: 40)
        // The reference run (`scan run --local --store`) keeps its own session in the shared store.
        let before = try await cluster.request("LIST_SESSIONS", "{}")?["sessions"] as? [[String: Any]] ?? []
        let scan = try cluster.start(
            "scan-db-restart",
            on: "cli",
            "scan",
            ["run", "--format", "json", "--endpoint", cluster.api()] + Self.scanArguments
        )
        _ = try await eventually(60, "the scan to be under way", interval: .milliseconds(100)) {
            let nodes = try await cluster.nodes()
            return nodes.values.contains { ($0["chunks_done"] as? Int ?? 0) >= 1 } || !scan.isRunning ? true : nil
        }
        try await cluster.control(["pg", "restart"])
        let status = try await scan.exitStatus(within: 120)
        if status == 0 {
            EndToEndTests.expectSameResult(try ResultDocument.decode(Data(scan.stdout.utf8)), reference)
        } else {
            #expect(status == 1 && scan.stderr.contains("fail"), "a failed scan says so: \(scan.stderr)")
        }
        // The store holds the session whole: ended, with its result or its error.
        let list = try await cluster.request("LIST_SESSIONS", "{}")
        let sessions = list?["sessions"] as? [[String: Any]] ?? []
        #expect(sessions.count == before.count + 1)
        #expect(sessions.allSatisfy { ["completed", "failed"].contains($0["status"] as? String ?? "") })
    }

    @Test(
        "a node with a stale SQLite copy is refused as stale and the result is right; alone, the scan fails naming versions"
    )
    func staleNode() async throws {
        let (cluster, reference) = try await Self.prepared()
        defer { cluster.stop() }
        let copy = cluster.processes.directory.appendingPathComponent("stale.sqlite").path
        let made = try await cluster.run("stale-copy", on: "n3", "scan", ["data", "sample", "--db", copy])
        try #require(made.status == 0, "\(made.stderr)")
        try await cluster.startService()
        try await cluster.startNode("n3", store: ["--db", copy])
        try await cluster.startNode("n1")
        EndToEndTests.expectSameResult(try await Self.remote(cluster), reference)
        // A node's version is read on its own thread and reported from the next heartbeat: wait for both.
        try await eventually(30, "both nodes' data versions in PING", interval: .milliseconds(200)) {
            let nodes = try await cluster.nodes()
            return ["n1", "n3"].allSatisfy { nodes[$0]?["data_version"] is String }
        }
        let nodes = try await cluster.nodes()
        #expect(nodes["n3"]?["chunks_done"] as? Int == 0, "the stale node computed nothing")
        #expect(nodes["n3"]?["store"] as? String == "sqlite:\(copy)")
        #expect(nodes["n3"]?["data_version"] as? String != nodes["n1"]?["data_version"] as? String)

        // Only the stale node left: no node agrees within a lease (3 s), the session fails.
        cluster.processes.killAll(named: "node-n1")
        _ = try await eventually(30, "n1 gone from PING", interval: .milliseconds(300)) {
            try await cluster.nodes()["n1"] == nil ? true : nil
        }
        let r = try await cluster.scan(["--endpoint", cluster.api()] + Self.scanArguments)
        #expect(r.status == 1)
        #expect(r.stderr.contains("no engine node holds the data"), "\(r.stderr)")
        #expect(r.stderr.contains("n3 has"), "\(r.stderr)")
    }

    @Test("CURVE on every socket across hosts: the same result")
    func curveAcrossHosts() async throws {
        let (cluster, reference) = try await Self.prepared()
        defer { cluster.stop() }
        let keys = cluster.processes.directory.appendingPathComponent("keys")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        for name in ["service", "n1", "n2", "client"] {
            let r = try await cluster.run(
                "keygen-\(name)",
                on: "cli",
                "scan",
                ["keygen", keys.appendingPathComponent(name).path]
            )
            try #require(r.status == 0, "\(r.stderr)")
        }
        func key(_ name: String, secret: Bool = false) -> String {
            keys.appendingPathComponent(name + (secret ? ".key_secret" : ".key")).path
        }
        let clientCurve = [key("client", secret: true), key("service")]
        try await cluster.startService(
            [
                "--curve-certificate", key("service", secret: true), "--curve-allow-node", key("n1"),
                "--curve-allow-node", key("n2"), "--curve-allow-client", key("client"),
            ],
            curve: clientCurve
        )
        for n in ["n1", "n2"] {
            try await cluster.startNode(
                n,
                extra: ["--curve-certificate", key(n, secret: true), "--curve-server", key("service")],
                curve: clientCurve
            )
        }
        let doc = try await Self.remote(
            cluster,
            ["--curve-certificate", key("client", secret: true), "--curve-server", key("service")]
        )
        EndToEndTests.expectSameResult(doc, reference)
        #expect(try await cluster.request() == nil, "a client without the keys gets no answer")
    }

    @Test("the service killed and started on another host against the same PostgreSQL resumes the session")
    func serviceMovesHost() async throws {
        let (cluster, reference) = try await Self.prepared()
        defer { cluster.stop() }
        let first = try await cluster.startService()
        try await cluster.startNode("n1", paceMs: 60)
        try await cluster.startNode("n2", paceMs: 60)
        let body = """
            {"formula": {"name": "f1", "source": "\(Self.f1)"}, "timeframe": "1d",
             "date_range": {"from": "2016-01-01", "to": "2022-09-19"}}
            """
        let started = try #require(try await cluster.request("RUN_SCAN", body), "RUN_SCAN answered")
        let id = try #require((started["session"] as? [String: Any])?["session_id"] as? String)
        _ = try await eventually(60, "the session to be part done", interval: .milliseconds(100)) {
            let s =
                try await cluster.request("GET_SESSION", "{\"session_id\": \"\(id)\"}")?["session"] as? [String: Any]
            return ((s?["progress"] as? [String: Any])?["completed"] as? Int ?? 0) > 0 ? true : nil
        }
        first.kill()
        // The nodes follow the service to its new host (a new address, as after a fail-over).
        cluster.processes.killAll(named: "node-")
        try await cluster.startService(on: "svc2")
        try await cluster.startNode("n1", service: "svc2")
        try await cluster.startNode("n2", service: "svc2")
        let ended = try await eventually(90, "the resumed session to complete", interval: .milliseconds(300)) {
            let s =
                try await cluster.request("GET_SESSION", "{\"session_id\": \"\(id)\"}", service: "svc2")?["session"]
                as? [String: Any]
            return (s?["status"] as? String).flatMap { ["completed", "failed", "cancelled"].contains($0) ? $0 : nil }
        }
        #expect(ended == "completed")
        let r = try await cluster.run(
            "results",
            on: "cli",
            "scan",
            ["sessions", "results", id, "--endpoint", cluster.api("svc2"), "--format", "json"]
        )
        try #require(r.status == 0, "\(r.stderr)")
        EndToEndTests.expectSameResult(try ResultDocument.decode(Data(r.stdout.utf8)), reference)
    }
}
