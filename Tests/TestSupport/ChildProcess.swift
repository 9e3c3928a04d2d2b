import Foundation

/// What a finished child process printed, and how it ended.
public struct ChildOutput: Sendable {
    /// The exit status (or the signal that ended it).
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// A child process that could not be started or did not end in time.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
}

/// Runs `executable` with `arguments` to its end and returns what it printed (a ``SpawnedProcess``).
///
/// The wait happens on a thread of its own, never on the cooperative pool: every suite of a test
/// process shares that pool (two threads on a 2-core machine), so a test blocked waiting for a child
/// there starves the other suites' waits and timers. Output goes to temporary files, so a child
/// filling one stream while the other is read cannot block. A child still running after `seconds` is
/// terminated, then killed, and the call throws (a liveness bound, not a timing).
public func runChild(
    _ executable: URL,
    _ arguments: [String],
    environment: [String: String]? = nil,
    seconds: Double = 300
) async throws -> ChildOutput {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ChildOutput, any Error>) in
        let thread = Thread {
            continuation.resume(
                with: Result { try runChildBlocking(executable, arguments, environment: environment, seconds: seconds) }
            )
        }
        thread.name = "runChild \(executable.lastPathComponent)"
        thread.start()
    }
}

private func runChildBlocking(
    _ executable: URL,
    _ arguments: [String],
    environment: [String: String]?,
    seconds: Double
) throws -> ChildOutput {
    let files = FileManager.default
    let directory = files.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
    try files.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? files.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("stdout")
    let errURL = directory.appendingPathComponent("stderr")
    let child = try SpawnedProcess(
        executable: executable.path,
        arguments: arguments,
        environment: environment,
        stdout: outURL.path,
        stderr: errURL.path
    )
    let end = child.waitOrStop(seconds: seconds)
    let stdout = String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self)
    let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
    guard let end else {
        throw ChildProcessError(
            description: "\(executable.lastPathComponent) \(arguments.joined(separator: " ")) still running after "
                + "\(seconds) s: stopped; stderr: \(stderr.suffix(2_000))"
        )
    }
    return ChildOutput(status: end.status, stdout: stdout, stderr: stderr)
}
