import ArgumentParser
import Foundation
import ScanClient
import ScanCore
import ScanOutput
import ScanProtocol

/// `scan sessions list|show|cancel|results`: the sessions of a scan-service.
///
/// Exit status: 0 done; 64 bad arguments; 1 the service answered an error (message on stderr) or
/// did not answer in time.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List, inspect, cancel sessions of a scan-service and read their results.",
        subcommands: [List.self, Show.self, Cancel.self, Results.self]
    )

    /// Runs `body` with a connected client; service errors and timeouts print on stderr and exit 1.
    static func withClient(_ options: ClientOptions, _ body: (ScanClient) async throws -> Void) async throws {
        let client = try await ScanClient.connect(try options.configuration())
        do {
            try await body(client)
            await client.close()
        } catch let error as ScanClientError {
            await client.close()
            RunCommand.printError("Error: \(error)")
            throw ExitCode.failure
        } catch {
            await client.close()
            throw error
        }
    }

    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    // MARK: list

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent sessions, newest first.")

        @OptionGroup var client: ClientOptions

        @Option(name: .long, help: "Only sessions with this status: pending, running, completed, failed, cancelled.")
        var status: String?

        @Option(name: .long, help: "At most this many sessions (1…1000).")
        var limit: Int = 50

        @Option(name: .long, help: "Output: table or json.")
        var format: String = "table"

        func validate() throws {
            if let status, ScanStatus(rawValue: status) == nil {
                throw ValidationError(
                    "--status '\(status)': expected one of \(ScanStatus.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
            guard format == "table" || format == "json" else {
                throw ValidationError("--format '\(format)': expected table or json")
            }
        }

        func run() async throws {
            try await SessionsCommand.withClient(client) { c in
                let sessions = try await c.listSessions(
                    status: status.flatMap(ScanStatus.init(rawValue:)),
                    limit: limit
                )
                if format == "json" {
                    SessionsCommand.write(try SessionsCommand.json(SessionListReply(sessions: sessions)))
                } else {
                    SessionsCommand.write(SessionTable.render(sessions))
                }
            }
        }
    }

    // MARK: show

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one session.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The session id.")
        var id: String

        @Option(name: .long, help: "Output: table or json.")
        var format: String = "table"

        func validate() throws {
            guard format == "table" || format == "json" else {
                throw ValidationError("--format '\(format)': expected table or json")
            }
        }

        func run() async throws {
            try await SessionsCommand.withClient(client) { c in
                let session = try await c.session(id)
                SessionsCommand.write(
                    format == "json" ? try SessionsCommand.json(session) : SessionTable.details(session)
                )
            }
        }
    }

    // MARK: cancel

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a session; it ends 'cancelled' with the partial result of the work that finished."
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The session id.")
        var id: String

        func run() async throws {
            try await SessionsCommand.withClient(client) { c in
                let session = try await c.cancel(id)
                SessionsCommand.write(
                    "\(session.sessionId) \(session.status) \(SessionTable.progressText(session.progress))"
                )
            }
        }
    }

    // MARK: results

    struct Results: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a finished session's result like `scan run`.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The session id.")
        var id: String

        @Option(name: .long, help: "Output: table, json or csv.")
        var format: String = "table"

        @Option(name: .long, help: "Skip this many matches.")
        var offset: Int = 0

        @Option(name: .long, help: "At most this many matches (default: all).")
        var limit: Int?

        @Option(name: .long, help: "Write the output to FILE instead of stdout.")
        var output: String?

        func validate() throws {
            guard OutputFormat(rawValue: format) != nil else {
                throw ValidationError("--format '\(format)': expected table, json or csv")
            }
            guard offset >= 0 else { throw ValidationError("--offset must not be negative") }
            if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        }

        func run() async throws {
            let format = OutputFormat(rawValue: self.format) ?? .table
            try await SessionsCommand.withClient(client) { c in
                let doc = try await c.result(id, offset: offset, limit: limit)
                let names = await RunCommand.localNames(of: doc)
                let text = try ResultRenderer.render(doc, as: format, context: OutputContext(names: names))
                if let output {
                    do {
                        try text.write(toFile: output, atomically: true, encoding: .utf8)
                    } catch {
                        throw ValidationError("--output '\(output)': cannot write it (\(error.localizedDescription))")
                    }
                } else {
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
            }
        }
    }
}

/// Session lists and details as text.
enum SessionTable {
    static func render(_ sessions: [SessionDocument]) -> String {
        if sessions.isEmpty { return "no sessions" }
        let header = ["SESSION", "STATUS", "PROGRESS", "MATCHES", "CREATED", "FORMULA"]
        let rows = sessions.map { s in
            [
                s.sessionId, s.status, progressText(s.progress), String(s.progress.matchesSoFar), s.createdAt,
                DisplayWidth.truncate(s.request.formula.name ?? "formula", to: 24),
            ]
        }
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map { DisplayWidth.of($0) }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.indices.map { i in DisplayWidth.pad(cells[i], to: widths[i]) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    static func progressText(_ p: ProgressDocument) -> String {
        p.total > 0 ? "\(p.completed)/\(p.total)" : "\(p.completed)/?"
    }

    static func details(_ s: SessionDocument) -> String {
        var lines = [
            "session   \(s.sessionId)",
            "status    \(s.status)",
            "progress  \(progressText(s.progress)) symbols, \(s.progress.matchesSoFar) matches",
            "formula   \(s.request.formula.name ?? "formula"): \(s.request.formula.source.replacingOccurrences(of: "\n", with: " ⏎ "))",
            "timeframe \(s.request.timeframe ?? "1d"), mode \(s.request.mode ?? "range")"
                + (s.request.dateRange.map { ", \($0.from) … \($0.to)" } ?? ""),
            "created   \(s.createdAt)",
        ]
        if let t = s.startedAt { lines.append("started   \(t)") }
        if let t = s.finishedAt { lines.append("finished  \(t)") }
        if let e = s.error { lines.append("error     \(e)") }
        return lines.joined(separator: "\n")
    }
}
