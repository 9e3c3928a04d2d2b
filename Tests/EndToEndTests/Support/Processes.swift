import Foundation

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// Where the built executables and the protocol files are (from this file's path:
/// `<repo>/Tests/EndToEndTests/Support/Processes.swift`).
enum Repo {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `.build/debug` (or `$MARKETSCAN_E2E_BIN`): `swift build` before `swift test`.
    static var bin: URL {
        if let env = ProcessInfo.processInfo.environment["MARKETSCAN_E2E_BIN"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return root.appendingPathComponent(".build/debug")
    }

    static func executable(_ name: String) throws -> URL {
        let url = bin.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw SetupError("\(url.path) is missing: run `swift build` before the end-to-end tests")
        }
        return url
    }
}

struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A child process with its stdout and stderr in files (a ``SpawnedProcess``). `kill` and `stop` never
/// block for long.
final class Child: Sendable {
    let name: String
    let process: SpawnedProcess
    let stdoutURL: URL
    let stderrURL: URL

    init(
        _ name: String,
        executable: URL,
        arguments: [String],
        directory: URL,
        environment: [String: String] = [:]
    ) throws {
        self.name = name
        stdoutURL = directory.appendingPathComponent("\(name).out")
        stderrURL = directory.appendingPathComponent("\(name).err")
        var env = ProcessInfo.processInfo.environment
        env["MARKETSCAN_DB"] = nil
        for (k, v) in environment { env[k] = v }
        process = try SpawnedProcess(
            executable: executable.path,
            arguments: arguments,
            environment: env,
            directory: directory.path,
            stdout: stdoutURL.path,
            stderr: stderrURL.path
        )
    }

    var pid: Int32 { process.pid }
    var isRunning: Bool { process.isRunning }

    func signal(_ sig: Int32) { process.signal(sig) }

    /// SIGKILL, then reaps it (bounded).
    func kill() { process.kill() }

    /// Waits for the exit (bounded); its status (the exit code, or the signal that ended it).
    func exitStatus(within seconds: Double) async throws -> Int32 {
        let p = process
        return try await eventually(seconds, "\(name) to exit") { p.ended?.status }
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
}

/// Every process a test starts; `killAll()` (in a `defer`) stops them whatever happened.
final class Processes: @unchecked Sendable {
    private let lock = NSLock()
    private var children: [Child] = []
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "marketscan-e2e-\(UUID().uuidString.prefix(8))"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Starts one of the built executables (`scan`, `scan-service`, `engine-node`) or, for a name
    /// with a slash, that file (`/usr/bin/env` to find python3).
    @discardableResult
    func start(
        _ name: String,
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:]
    ) throws -> Child {
        let url = executable.contains("/") ? URL(fileURLWithPath: executable) : try Repo.executable(executable)
        let child = try Child(
            name,
            executable: url,
            arguments: arguments,
            directory: directory,
            environment: environment
        )
        lock.lock()
        children.append(child)
        lock.unlock()
        return child
    }

    /// Runs a tool to its end (bounded) and returns its exit status, stdout and stderr.
    func run(
        _ name: String,
        _ executable: String,
        _ arguments: [String],
        within seconds: Double = 60
    ) async throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let child = try start(name, executable, arguments)
        let status: Int32
        do {
            status = try await child.exitStatus(within: seconds)
        } catch {
            child.kill()
            throw error
        }
        return (status, child.stdout, child.stderr)
    }

    /// Kills the children whose name starts with `prefix`.
    func killAll(named prefix: String) {
        lock.lock()
        let some = children.filter { $0.name.hasPrefix(prefix) }
        lock.unlock()
        for c in some { c.kill() }
    }

    func killAll() {
        lock.lock()
        let all = children
        lock.unlock()
        for c in all { c.kill() }
    }

    /// Logs of every process (for failure messages).
    var logs: String {
        lock.lock()
        let all = children
        lock.unlock()
        return all.map { "--- \($0.name) stderr:\n\($0.stderr.suffix(3000))" }.joined(separator: "\n")
    }

    func removeDirectory() { try? FileManager.default.removeItem(at: directory) }
}

/// Ports on 127.0.0.1.
enum Ports {
    /// A base port with `count` consecutive ports free right now, below the kernel's ephemeral range:
    /// a port in that range can be taken by any outgoing connection (a node's, a client's) between this
    /// check and the service's bind, which then fails with "address in use".
    static func freeBase(count: Int = 6) throws -> Int {
        let ephemeralStart = ephemeralRange.lowerBound
        let candidates = ephemeralStart - count > 10_000 ? 10_000...(ephemeralStart - count) : 61_000...(65_535 - count)
        for _ in 0..<200 {
            let base = Int.random(in: candidates)
            if (base..<(base + count)).allSatisfy(isFree) { return base }
        }
        throw SetupError("no \(count) consecutive free ports found on 127.0.0.1")
    }

    /// The kernel's ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`; Linux's default when
    /// it cannot be read).
    static let ephemeralRange: ClosedRange<Int> = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { return 32_768...60_999 }
        return bounds[0]...bounds[1]
    }()

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}
