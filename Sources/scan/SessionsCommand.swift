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
        let client = try await ScanClient.connect(try await options.configuration())
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

        @Option(name: .long, help: "Only sessions with this status.")
        var status: ScanStatus?

        @Option(name: .long, help: "At most this many sessions (1…1000).")
        var limit: Int = 50

        @Option(name: .long, help: "Output format.")
        var format: DocumentFormat = .table

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
        }

        func run() async throws {
            try await SessionsCommand.withClient(client) { c in
                let sessions = try await c.listSessions(status: status, limit: limit)
                if format == .json {
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

        @Option(name: .long, help: "Output format.")
        var format: DocumentFormat = .table

        func run() async throws {
            try await SessionsCommand.withClient(client) { c in
                let session = try await c.session(id)
                SessionsCommand.write(
                    format == .json ? try SessionsCommand.json(session) : SessionTable.details(session)
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

        @Option(name: .long, help: "Output format.")
        var format: OutputFormat = .table

        @Option(name: .long, help: "Skip this many matches.")
        var offset: Int = 0

        @Option(name: .long, help: "At most this many matches (default: all).")
        var limit: Int?

        @OptionGroup var output: OutputOption

        func validate() throws {
            guard offset >= 0 else { throw ValidationError("--offset must not be negative") }
            if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        }

        func run() async throws {
            try await SessionsCommand.withClient(client) { c in
                let doc = try await c.result(id, offset: offset, limit: limit)
                let names = await RunCommand.serviceNames(of: doc, from: c)
                try await output.write(doc, as: format, context: OutputContext(names: names))
            }
        }
    }
}
