import Foundation
import ScanProtocol
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Separate network hosts (deploy/netns-cluster.sh): a data host running PostgreSQL, service hosts,
/// node hosts and a client host, each a network namespace with its own address, joined by a bridge.
/// Every process runs on its host through `ip netns exec`; `stop()` (in a `defer`) kills them and
/// removes every namespace, link and the database, whatever happened.
final class NetnsCluster: @unchecked Sendable {
    let processes: Processes
    let run: URL
    let storeURL: String
    private var env: [String: String] = [:]

    static let script = Repo.root.appendingPathComponent("deploy/netns-cluster.sh").path
    static let msping = Repo.root.appendingPathComponent("deploy/msping.py").path

    /// Why the cluster tests cannot run here (`nil`: they can): they need root and `ip netns`.
    static let unavailable: String? = {
        guard getuid() == 0 else { return "the cluster tests need root (network namespaces)" }
        let ok = spawn(["/bin/sh", "-c", "command -v ip >/dev/null && ip netns list >/dev/null 2>&1"]) == 0
        return ok ? nil : "the cluster tests need iproute2's `ip netns` (scripts/setup.sh)"
    }()

    /// Runs `argv` to its end (a ``SpawnedProcess``, output discarded); its exit status (128 + signal
    /// when killed, 124 when still running after `seconds`: then stopped).
    static func spawn(_ argv: [String], seconds: Double = 60) -> Int32 {
        spawn(argv, stdout: "/dev/null", stderr: "/dev/null", seconds: seconds)
    }

    static func spawn(_ argv: [String], stdout: String, stderr: String, seconds: Double) -> Int32 {
        guard
            let child = try? SpawnedProcess(
                executable: argv[0],
                arguments: Array(argv.dropFirst()),
                stdout: stdout,
                stderr: stderr
            )
        else { return 127 }
        return child.waitOrStop(seconds: seconds)?.shellStatus ?? 124
    }

    init() async throws {
        processes = try Processes()
        run = processes.directory.appendingPathComponent("cluster")
        let up = try await Self.script(["up", run.path], logs: processes.directory)
        guard up.status == 0 else {
            _ = try? await Self.script(["down", run.path], logs: processes.directory)
            throw SetupError("netns-cluster.sh up failed (\(up.status)): \(up.stderr)")
        }
        for line in up.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { env[parts[0]] = parts[1] }
        }
        storeURL = env["STORE_URL"] ?? ""
    }

    /// A host's address (`svc`, `n1`, …).
    func address(_ host: String) -> String { env["ADDR_\(host.uppercased())"] ?? "?" }

    /// Starts a built executable (or a file path) on `host`.
    @discardableResult
    func start(_ name: String, on host: String, _ executable: String, _ arguments: [String]) throws -> Child {
        let path = executable.contains("/") ? executable : try Repo.executable(executable).path
        return try processes.start(name, Self.script, ["exec", run.path, host, path] + arguments)
    }

    /// Runs a built executable (or a file path) on `host` to its end.
    func run(
        _ name: String,
        on host: String,
        _ executable: String,
        _ arguments: [String],
        within seconds: Double = 90
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let path = executable.contains("/") ? executable : try Repo.executable(executable).path
        return try await processes.run(name, Self.script, ["exec", run.path, host, path] + arguments, within: seconds)
    }

    /// Runs `deploy/netns-cluster.sh COMMAND ARGS` (partition, heal, pg …).
    func control(_ arguments: [String]) async throws {
        let r = try await Self.script([arguments[0], run.path] + arguments.dropFirst(), logs: processes.directory)
        guard r.status == 0 else { throw SetupError("netns-cluster.sh \(arguments) failed: \(r.stderr)") }
    }

    /// Runs the harness script to its end on a thread of its own.
    static func script(_ arguments: [String], logs: URL) async throws -> (status: Int32, stdout: String, stderr: String)
    {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try scriptBlocking(arguments, logs: logs) }) }
            thread.start()
        }
    }

    /// Runs the harness script to its end, blocking (a ``SpawnedProcess``: the PostgreSQL server it
    /// starts outlives it and inherits none of the test process's descriptors). Bounded: `up` builds a
    /// database cluster, the slowest step; 124 after 5 minutes.
    static func scriptBlocking(
        _ arguments: [String],
        logs: URL
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let out = logs.appendingPathComponent("netns-\(UUID().uuidString.prefix(8)).out")
        let err = out.deletingPathExtension().appendingPathExtension("err")
        let status = spawn(["/bin/bash", script] + arguments, stdout: out.path, stderr: err.path, seconds: 300)
        let stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        var stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        if status == 124 {
            stderr += "\nnetns-cluster.sh \(arguments.joined(separator: " ")) still running after 5 minutes: killed"
        }
        return (status, stdout, stderr)
    }

    /// The service's api endpoint on `host`.
    func api(_ host: String = "svc") -> String { "tcp://\(address(host)):5555" }

    /// One request from the client host (deploy/msping.py); the reply body, `nil` on an error or no reply.
    func request(
        _ verb: String = "PING",
        _ body: String = "{}",
        service: String = "svc",
        curve: [String] = []
    ) async throws -> [String: Any]? {
        let r = try await run(
            "msping-\(UUID().uuidString.prefix(4))",
            on: "cli",
            "/usr/bin/env",
            ["python3", Self.msping, "--timeout", "2"] + (curve.isEmpty ? [] : ["--curve"] + curve) + [
                api(service), verb, body,
            ],
            within: 20
        )
        guard r.status == 0 else { return nil }
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
    }

    /// The nodes `PING` lists, by name.
    func nodes(service: String = "svc", curve: [String] = []) async throws -> [String: [String: Any]] {
        guard let ping = try await request(service: service, curve: curve),
            let nodes = ping["nodes"] as? [[String: Any]]
        else { return [:] }
        var out: [String: [String: Any]] = [:]
        for n in nodes { if let name = n["name"] as? String { out[name] = n } }
        return out
    }

    /// Starts `scan-service` on `host` against the cluster's PostgreSQL, bound to the host's address.
    @discardableResult
    func startService(on host: String = "svc", _ extra: [String] = [], curve: [String] = []) async throws -> Child {
        let child = try start(
            "service-\(host)-\(UUID().uuidString.prefix(4))",
            on: host,
            "scan-service",
            ["--store", storeURL, "--bind", address(host), "--lease-ms", "3000"] + extra
        )
        _ = try await eventually(30, "scan-service on \(host) to answer PING", interval: .milliseconds(200)) {
            guard child.isRunning else { throw SetupError("scan-service exited: \(child.stderr)") }
            return try await self.request(service: host, curve: curve) == nil ? nil : true
        }
        return child
    }

    /// Starts an engine node on `host` (its store: the cluster's PostgreSQL unless `store` says otherwise).
    @discardableResult
    func startNode(
        _ host: String,
        service: String = "svc",
        store: [String]? = nil,
        paceMs: Int = 0,
        extra: [String] = [],
        curve: [String] = []
    ) async throws -> Child {
        let child = try start(
            "node-\(host)-\(UUID().uuidString.prefix(4))",
            on: host,
            "engine-node",
            ["--service", "\(address(service)):5555", "--threads", "1", "--name", host, "--pace-ms", String(paceMs)]
                + (store ?? ["--store", storeURL]) + extra
        )
        _ = try await eventually(30, "node \(host) in PING", interval: .milliseconds(200)) {
            guard child.isRunning else { throw SetupError("engine-node on \(host) exited: \(child.stderr)") }
            return try await self.nodes(service: service, curve: curve)[host] == nil ? nil : true
        }
        return child
    }

    /// Loads the bundled sample into the cluster's PostgreSQL (from the client host).
    func loadSample() async throws {
        let r = try await run("load-sample", on: "cli", "scan", ["data", "sample", "--store", storeURL], within: 120)
        guard r.status == 0 else { throw SetupError("scan data sample --store failed: \(r.stderr)") }
    }

    /// `scan run … --format json` from the client host; the result.
    func scan(
        _ arguments: [String],
        within seconds: Double = 120
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await run(
            "scan-\(UUID().uuidString.prefix(6))",
            on: "cli",
            "scan",
            ["run", "--format", "json"] + arguments,
            within: seconds
        )
    }

    /// Kills every process, removes the hosts and the database (blocks until done).
    func stop() {
        processes.killAll()
        _ = try? Self.scriptBlocking(["down", run.path], logs: processes.directory)
        processes.removeDirectory()
    }
}
