import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
public enum ProcessEnd: Sendable, Equatable {
    /// It exited with this code.
    case exited(Int32)
    /// A signal ended it.
    case signalled(Int32)
    /// Something else reaped it (`waitpid` answered `ECHILD`): how it ended is not known.
    case lost

    /// The exit code, or the number of the signal that ended it (Foundation's `terminationStatus`).
    public var status: Int32 {
        switch self {
        case .exited(let code): code
        case .signalled(let signal): signal
        case .lost: -1
        }
    }

    /// As a shell reports it: the exit code, 128 + the signal's number, 127 when not known.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let code): code
        case .signalled(let signal): 128 + signal
        case .lost: 127
        }
    }
}

/// A child process started with `posix_spawn`, whose end is learnt from `waitpid`.
///
/// Why not Foundation's `Process`: on Linux it learns that a child ended when the child's end of a
/// socket pair closes. A process spawned on another thread in the moment between that pair's
/// creation and its parent-side close inherits the child's end (posix_spawn keeps every descriptor
/// not marked close-on-exec) — and a long-lived one, a PostgreSQL server a script starts, a service
/// another test runs, keeps the "child" open after it has exited: `isRunning` stays `true`, the
/// termination handler never runs and `waitUntilExit` never returns. Here the child keeps only its
/// standard streams (every other descriptor is closed in it, `posix_spawn_file_actions_addclosefrom_np`),
/// so it holds nothing of the test process's — sockets, databases, other children's pipes — and
/// its end is the kernel's answer to `waitpid`, whatever it passed on.
///
/// Thread-safe. Standard input is `/dev/null`; standard output and error go to files (a pipe
/// would block a child that fills it while nobody reads).
public final class SpawnedProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t
    /// Its end once reaped; `nil` while it runs.
    private let end = Mutex<ProcessEnd?>(nil)

    /// Starts `executable` (a path, not searched in `PATH`) with `arguments`, in `directory` (the
    /// current one when `nil`), with `environment` (this process's when `nil`), its standard output and
    /// error written to the files `stdout` and `stderr` (created or truncated).
    public init(
        executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        directory: String? = nil,
        stdout: String,
        stderr: String
    ) throws {
        var actions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else {
            throw ChildProcessError(
                description: "posix_spawn_file_actions_init failed: \(String(cString: strerror(errno)))"
            )
        }
        defer { posix_spawn_file_actions_destroy(&actions) }
        let write = O_WRONLY | O_CREAT | O_TRUNC
        var result = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if result == 0 { result = posix_spawn_file_actions_addopen(&actions, 1, stdout, write, 0o644) }
        if result == 0 { result = posix_spawn_file_actions_addopen(&actions, 2, stderr, write, 0o644) }
        if result == 0, let directory { result = try Self.addChdir(&actions, directory) }
        if result == 0 { result = try Self.addCloseFrom(&actions, 3) }
        guard result == 0 else {
            throw ChildProcessError(
                description: "cannot prepare the start of \(executable): \(String(cString: strerror(result)))"
            )
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        let envp = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for e in envp { free(e) } }
        var pid: pid_t = 0
        let spawned = argv.withUnsafeBufferPointer { args in
            envp.withUnsafeBufferPointer { env in
                posix_spawn(
                    &pid,
                    executable,
                    &actions,
                    nil,
                    UnsafeMutablePointer(mutating: args.baseAddress!),
                    UnsafeMutablePointer(mutating: env.baseAddress!)
                )
            }
        }
        guard spawned == 0 else {
            throw ChildProcessError(description: "could not start \(executable): \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
    }

    /// Its end, or `nil` while it runs (reaps it when it has ended; never blocks).
    public var ended: ProcessEnd? {
        end.withLock { end in
            if end == nil {
                var raw: Int32 = 0
                var reaped: pid_t
                repeat { reaped = waitpid(pid, &raw, WNOHANG) } while reaped == -1 && errno == EINTR
                if reaped == pid {
                    end = raw & 0x7f == 0 ? .exited((raw >> 8) & 0xff) : .signalled(raw & 0x7f)
                } else if reaped == -1 {
                    end = .lost
                }
            }
            return end
        }
    }

    /// Whether it still runs.
    public var isRunning: Bool { ended == nil }

    /// Sends `signal` unless it has already been reaped (its pid could be another process's by then).
    public func signal(_ signal: Int32) {
        end.withLock { end in
            if end == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// Blocks until it ends or `seconds` pass; its end, `nil` when it still runs. For a thread of its
    /// own, not the cooperative pool.
    public func wait(seconds: Double) -> ProcessEnd? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            if let ended { return ended }
            if ContinuousClock.now >= deadline { return nil }
            usleep(5_000)  // polls the condition; waitpid has no timeout
        }
    }

    /// Blocks until it ends, at most `seconds`; when it is still running then, SIGTERM, 5 s more, then
    /// ``kill()``. Its end, or `nil` when it had to be stopped (a liveness bound, not a timing).
    public func waitOrStop(seconds: Double) -> ProcessEnd? {
        if let end = wait(seconds: seconds) { return end }
        signal(SIGTERM)
        if wait(seconds: 5) == nil { kill() }
        return nil
    }

    /// SIGKILL, then waits (at most 5 s) to reap it.
    public func kill() {
        signal(SIGKILL)
        _ = wait(seconds: 5)
    }

    // MARK: glibc's extensions (not in Swift's Glibc module: looked up by name)

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias Chdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>)
        -> Int32

    private static func symbol<T>(_ name: String, as: T.Type) throws -> T {
        guard let address = dlsym(nil, name) else {  // nil: RTLD_DEFAULT
            throw ChildProcessError(description: "\(name) is missing: the tests need glibc 2.34 or later")
        }
        return unsafeBitCast(address, to: T.self)
    }

    private static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ fd: Int32) throws -> Int32 {
        let closeFrom = try symbol("posix_spawn_file_actions_addclosefrom_np", as: CloseFrom.self)
        return closeFrom(&actions, fd)
    }

    private static func addChdir(_ actions: inout posix_spawn_file_actions_t, _ path: String) throws -> Int32 {
        let chdir = try symbol("posix_spawn_file_actions_addchdir_np", as: Chdir.self)
        return path.withCString { chdir(&actions, $0) }
    }
}
