import ArgumentParser
import Foundation
import ScanClient
import ScanOutput

/// `scan watch`: a live view of a scan-service — every running scan's progress bar, the live
/// engine nodes, the live watches and the bar feed — redrawn four times a second until Ctrl-C. When stdout is not a terminal it prints
/// one line per event instead (`--count N` stops after N events).
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch every running scan's progress, the live engine nodes and the live watches of a scan-service."
    )

    @OptionGroup var client: ClientOptions

    @OptionGroup var follow: EventOptions

    func run() async throws {
        let c = try await ScanClient.connect(try await client.configuration(events: follow.events))
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
                        pingError: s.pingError,
                        watches: s.watches
                    )
                )
            }
            if let count = follow.count, seen >= count { break }
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
