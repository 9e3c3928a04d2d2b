import Foundation
import TestSupport

/// Market-data stores made once per test run and copied for each test.
actor Fixtures {
    static let shared = Fixtures()
    private var made: [String: URL] = [:]
    private let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("marketscan-e2e-fixtures-\(ProcessInfo.processInfo.processIdentifier)")

    /// The bundled real sample (`scan data sample`).
    func sample() async throws -> URL {
        try await make("sample", ["data", "sample"])
    }

    /// Synthetic daily data big enough that a scan is still running when a test interrupts it.
    func large() async throws -> URL {
        try await make("large", ["data", "generate", "--symbols", "1200", "--days", "1500", "--seed", "7"])
    }

    private func make(_ name: String, _ arguments: [String]) async throws -> URL {
        if let url = made[name] { return url }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("\(name).sqlite")
        let procs = try Processes()
        defer {
            procs.killAll()
            procs.removeDirectory()
        }
        let r = try await procs.run("make-\(name)", "scan", arguments + ["--db", url.path], within: 120)
        guard r.status == 0 else { throw SetupError("scan \(arguments.joined(separator: " ")) failed: \(r.stderr)") }
        made[name] = url
        return url
    }

    /// A private copy of a fixture store in `directory`.
    static func copy(_ fixture: URL, to directory: URL) throws -> URL {
        let target = directory.appendingPathComponent("store.sqlite")
        for suffix in ["", "-wal"] {
            let source = URL(fileURLWithPath: fixture.path + suffix)
            if FileManager.default.fileExists(atPath: source.path) {
                try FileManager.default.copyItem(at: source, to: URL(fileURLWithPath: target.path + suffix))
            }
        }
        return target
    }
}

/// A scan-service and engine nodes on 127.0.0.1 with their own store copy and free ports. Every
/// process belongs to `processes`; the test kills them all in a `defer`.
final class Cluster: @unchecked Sendable {
    let processes: Processes
    let base: Int
    let db: String
    var serviceArguments: [String] = []
    private(set) var service: Child?
    private(set) var nodes: [String: Child] = [:]

    init(store fixture: URL) throws {
        processes = try Processes()
        base = try Ports.freeBase()
        db = try Fixtures.copy(fixture, to: processes.directory).path
    }

    var api: String { "tcp://127.0.0.1:\(base)" }
    var events: String { "tcp://127.0.0.1:\(base + 1)" }

    /// Starts (or restarts) the service and waits until it answers PING.
    @discardableResult
    func startService(_ extra: [String] = [], client: RawClient) async throws -> Child {
        serviceArguments = extra
        let child = try processes.start(
            "scan-service-\(UUID().uuidString.prefix(4))",
            "scan-service",
            ["--db", db, "--port-base", String(base)] + extra
        )
        service = child
        _ = try await eventually(20, "scan-service to answer PING", interval: .milliseconds(100)) {
            guard child.isRunning else { throw SetupError("scan-service exited: \(child.stderr)") }
            return try? await client.request("PING", within: 0.5)
        }
        return child
    }

    /// Starts a node and waits until PING lists it.
    @discardableResult
    /// Starts an engine node. `paceMs` > 0 makes it a slow node (a pause after each symbol), so a
    /// test can catch a scan mid-way whatever the machine's speed.
    func startNode(_ name: String, threads: Int = 4, paceMs: Int = 0, client: RawClient) async throws -> Child {
        let child = try processes.start(
            name,
            "engine-node",
            [
                "--service", "127.0.0.1:\(base)", "--db", db, "--threads", String(threads), "--name", name,
                "--pace-ms", String(paceMs),
            ]
        )
        nodes[name] = child
        _ = try await eventually(20, "node \(name) in PING", interval: .milliseconds(50)) {
            guard child.isRunning else { throw SetupError("engine-node \(name) exited: \(child.stderr)") }
            return try await client.nodes()[name]
        }
        return child
    }

    /// Runs `scan` to its end.
    func scan(
        _ arguments: [String],
        within seconds: Double = 60
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await processes.run("scan-\(UUID().uuidString.prefix(6))", "scan", arguments, within: seconds)
    }

    /// The `--local` result of the same scan on the same store (the reference).
    func localResult(_ arguments: [String]) async throws -> Data {
        let r = try await scan(["run", "--local", "--db", db, "--format", "json"] + arguments)
        guard r.status == 0 else { throw SetupError("scan run --local failed (\(r.status)): \(r.stderr)") }
        return Data(r.stdout.utf8)
    }

    func stop() {
        processes.killAll()
        processes.removeDirectory()
    }
}
