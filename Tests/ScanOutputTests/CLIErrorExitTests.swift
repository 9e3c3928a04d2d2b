import FormulaEngine
import Foundation
import TestSupport
import Testing

/// Runs the built `scan` binary (next to the test bundle in `.build/debug/`).
struct ScanBinary {
    static var url: URL? {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("scan")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let candidate = cwd.appendingPathComponent(".build/debug/scan")
        return FileManager.default.isExecutableFile(atPath: candidate.path) ? candidate : nil
    }

    /// Runs `scan` with `arguments` (off the cooperative pool; see `runChild`) on a throwaway
    /// default database.
    static func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let url = try #require(url, "the scan binary is not built: run `swift build --product scan`")
        var env = ProcessInfo.processInfo.environment
        env["MARKETSCAN_DB"] =
            FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString).sqlite").path
        let r = try await runChild(url, arguments, environment: env)
        return (r.status, r.stdout, r.stderr)
    }
}

/// True once the real FormulaEngine (not its stub) is in: it rejects an unknown function.
let formulaEngineIsReal = (try? FormulaPlan.compile(source: "smaa(close, 5) > 1", name: "x")) == nil

@Suite("CLI error exits", .timeLimit(.minutes(1)))
struct CLIErrorExitTests {
    @Test(arguments: [
        (["run"], "a formula is needed"),
        (["run", "--formula", "close > 1", "--formula-file", "f.txt"], "not both"),
        (
            ["run", "--formula", "close > 1", "--timeframe", "2h"],
            "The value '2h' is invalid for '--timeframe <timeframe>'"
        ),
        (["run", "--formula", "close > 1", "--mode", "all"], "The value 'all' is invalid for '--mode <mode>'"),
        (["run", "--formula", "close > 1", "--format", "xml"], "The value 'xml' is invalid for '--format <format>'"),
        (["run", "--formula", "close > 1", "--from", "2022-13-01"], "--from '2022-13-01'"),
        (["run", "--formula", "close > 1", "--from", "2022-09-01", "--to", "2022-01-01"], "is after"),
        (["run", "--formula", "close > 1", "--param", "fast"], "--param 'fast'"),
        (["run", "--formula", "close > 1", "--param", "fast=abc"], "number or true/false"),
        (["run", "--formula", "close > 1", "--min-market-cap", "lots"], "--min-market-cap 'lots'"),
        (["run", "--formula", "close > 1", "--local", "--endpoint", "tcp://127.0.0.1:5555"], "not both"),
        (["run", "--formula", "close > 1", "--endpoint", "http://x"], "tcp://HOST:PORT"),
    ])
    func argumentErrorsExitNonZeroWithTheMessageOnStderrOnly(arguments: [String], message: String) async throws {
        let r = try await ScanBinary.run(arguments)
        #expect(r.status != 0)
        #expect(r.stderr.contains(message))
        #expect(r.stdout.isEmpty)
    }

    @Test(.enabled(if: formulaEngineIsReal, "needs the real FormulaEngine"))
    func formulaErrorsPrintTheLocatedMessageOnly() async throws {
        let r = try await ScanBinary.run(["run", "--formula", "smaa(close, 5) > 1", "--symbols", "005930"])
        #expect(r.status == 65)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("line 1, column 1:"))
        #expect(r.stderr.contains("^"))
    }
}
