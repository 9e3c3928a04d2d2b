import Foundation
import TestSupport
import Testing

/// A throwaway PostgreSQL cluster (scripts/pg-scratch.sh) in a temporary directory on a free port,
/// started once for a suite by the ``ScratchServer/Trait`` and stopped (and its directory removed)
/// when the suite ends, whether its tests passed or not.
final class ScratchServer: Sendable {
    let directory: URL
    let url: String
    let port: Int

    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/pg-scratch.sh").path

    @TaskLocal static var current: ScratchServer?

    /// The suite's server; fails the test when the suite lacks the trait.
    static func running() throws -> ScratchServer {
        try #require(current, "the suite needs .scratchPostgres")
    }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString.prefix(8))")
        url = try Self.run(["start", directory.path, "0"])
        port =
            Int(
                try String(contentsOf: directory.appendingPathComponent("port"), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            ) ?? 0
    }

    /// A new empty database owned by `marketscan`; its URL.
    func createDatabase(_ name: String) throws -> String { try Self.run(["createdb", directory.path, name]) }

    /// Runs one statement in `database` as the superuser.
    func sql(_ database: String, _ statement: String) throws {
        try Self.run(["sql", directory.path, database, statement])
    }

    /// A fast restart (every connection is cut).
    func restart() throws { _ = try Self.run(["restart", directory.path]) }

    func stop() {
        _ = try? Self.run(["stop", directory.path])
        try? FileManager.default.removeItem(at: directory)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs the script; its stdout, trimmed. Throws with its stderr when it fails. Output goes
    /// through files, not pipes: the server it starts inherits descriptors and would hold a pipe open.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("pg-scratch-\(UUID().uuidString)")
        let outURL = base.appendingPathExtension("out")
        let errURL = base.appendingPathExtension("err")
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        // A SpawnedProcess, not Foundation's Process: the server the script starts outlives it (see
        // SpawnedProcess for why that matters), and it inherits none of the test process's descriptors.
        let child = try SpawnedProcess(
            executable: "/bin/bash",
            arguments: [Self.script] + arguments,
            stdout: outURL.path,
            stderr: errURL.path
        )
        guard let end = child.waitOrStop(seconds: 120) else {
            throw Failure(
                description: "pg-scratch.sh \(arguments.joined(separator: " ")) still running after 120 s: stopped"
            )
        }
        let output = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        guard end == .exited(0) else {
            let errors = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
            throw Failure(
                description: "pg-scratch.sh \(arguments.joined(separator: " ")) failed (\(end)): \(errors)"
            )
        }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts a server for the suite it is applied to and stops it afterwards.
    struct Trait: SuiteTrait, TestScoping {
        var isRecursive: Bool { false }

        func provideScope(
            for test: Test,
            testCase: Test.Case?,
            performing function: @Sendable () async throws -> Void
        ) async throws {
            let server = try ScratchServer()
            defer { server.stop() }
            try await ScratchServer.$current.withValue(server) { try await function() }
        }
    }
}

extension Trait where Self == ScratchServer.Trait {
    /// A scratch PostgreSQL server for the suite (see ``ScratchServer``).
    static var scratchPostgres: Self { Self() }
}
