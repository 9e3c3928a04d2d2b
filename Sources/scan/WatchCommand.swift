import ArgumentParser
import Foundation
import ScanClient
import ScanOutput

/// `scan watch`: a live view of a scan-service — every running scan's progress bar and the live
/// engine nodes — redrawn four times a second until Ctrl-C. When stdout is not a terminal it prints
/// one line per event instead (`--count N` stops after N events).
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch every running scan's progress and the live engine nodes of a scan-service."
    )

    @OptionGroup var client: ClientOptions

    @Option(name: .long, help: "The service's events endpoint (default: the --endpoint port + 1).")
    var events: String?

    @Option(name: .long, help: "Stop after this many events (scripts; mostly with piped output).")
    var count: Int?

    func validate() throws {
        if let events, !events.hasPrefix("tcp://") {
            throw ValidationError("--events '\(events)': expected tcp://HOST:PORT")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        let c = try await ScanClient.connect(try await client.configuration(events: events))
        let live = isatty(1) == 1
        let watch: ServiceWatch
        do {
            watch = try await c.watchService(refreshInterval: live ? .milliseconds(250) : nil)
        } catch {
            await c.close()
            RunCommand.printError("Error: \(error)")
            throw ExitCode.failure
        }
        let interrupts = await Interrupts.trap { _ in watch.finish() }
        if live { Self.out(WatchScreen.hideCursor) }
        var seen = 0
        for await update in watch.updates {
            switch update {
            case .event(let e):
                seen += 1
                if !live { Self.out(WatchScreen.eventLine(e) + "\n") }
            case .state(let s):
                Self.out(
                    WatchScreen.frame(
                        sessions: s.sessions,
                        endpoint: c.configuration.endpoint,
                        ping: s.ping,
                        pingError: s.pingError
                    )
                )
            }
            if let count, seen >= count { break }
        }
        if live { Self.out(WatchScreen.showCursor) }
        interrupts.stop()
        await watch.close()
        await c.close()
    }

    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
