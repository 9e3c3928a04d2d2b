import ArgumentParser
import Foundation
import ScanClient
import ScanCore
import ScanOutput
import ScanProtocol

extension ConfirmMode: ExpressibleByArgument {}

/// `scan live start|stop|list|show|follow`: standing scans of a scan-service (protocol §11).
///
/// Exit status: 0 done; 64 bad arguments; 65 formula error; 1 the service answered an error or did
/// not answer in time.
struct LiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Standing scans: a latest-mode formula re-evaluated as bars arrive, with enter/exit events.",
        subcommands: [Start.self, Stop.self, List.self, Show.self, Follow.self]
    )

    // MARK: start

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a watch; prints its id and its first set.",
            discussion: """
                The watch's set is at every moment what `scan run --mode latest` over the stored bars \
                returns. confirm bar (default): evaluated on final bars only; tick: on forming bars too.
                """
        )

        @OptionGroup var scan: FormulaOptions

        @Option(name: .long, help: "Bar size: 1m or 1d (the stored timeframes the feed appends to).")
        var timeframe: Timeframe = .daily

        @Option(name: .long, help: "bar: evaluate final bars only (no repainting); tick: forming bars too.")
        var confirm: ConfirmMode = .bar

        @OptionGroup var client: ClientOptions

        @Option(name: .long, help: "Output format.")
        var format: DocumentFormat = .table

        func validate() throws {
            _ = try scan.parsedFormula()
            _ = try scan.criteria()
            _ = try scan.parameters()
            guard WatchRequest.liveTimeframes.contains(timeframe) else {
                throw ValidationError("--timeframe \(timeframe): a watch runs on 1m or 1d bars")
            }
        }

        func run() async throws {
            var formula = try scan.parsedFormula()
            formula.source = try await scan.source()
            let request = WatchRequest(
                symbolCriteria: try scan.criteria(),
                timeframe: timeframe,
                formula: formula,
                parameters: try scan.parameters(),
                confirm: confirm
            )
            try await SessionsCommand.withClient(client) { c in
                let watch: WatchDocument
                do {
                    watch = try await c.startWatch(request)
                } catch ScanClientError.service(let e) where e.code == .invalidFormula {
                    RunCommand.printError(e.message)
                    throw ExitCode(65)
                }
                SessionsCommand.write(format == .json ? try SessionsCommand.json(watch) : LiveTable.details(watch))
            }
        }
    }

    // MARK: stop, list, show

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a watch (its events end with 'stopped').")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The watch id.")
        var id: String

        func run() async throws {
            try await SessionsCommand.withClient(client) { c in
                let w = try await c.stopWatch(id)
                SessionsCommand.write("\(w.watchId) \(w.status) after \(w.seq) events, \(w.matchCount) in its last set")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the running watches.")

        @OptionGroup var client: ClientOptions

        @Option(name: .long, help: "Output format.")
        var format: DocumentFormat = .table

        func run() async throws {
            try await SessionsCommand.withClient(client) { c in
                let watches = try await c.listWatches()
                SessionsCommand.write(
                    format == .json
                        ? try SessionsCommand.json(WatchListReply(watches: watches)) : LiveTable.render(watches)
                )
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a watch and its current set.")

        @OptionGroup var client: ClientOptions

        @Argument(help: "The watch id.")
        var id: String

        @Option(name: .long, help: "Output format.")
        var format: DocumentFormat = .table

        func run() async throws {
            try await SessionsCommand.withClient(client) { c in
                let w = try await c.watch(id).watch
                SessionsCommand.write(format == .json ? try SessionsCommand.json(w) : LiveTable.details(w))
            }
        }
    }

    // MARK: follow

    struct Follow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a watch's entries and exits as they happen (with the current set on a terminal).",
            discussion: """
                One line per event: `+ SYMBOL SIGNAL BAR close X columns… [seq N]` for an entry, `-` for \
                an exit. On a terminal the current set is shown below them. Ends when the watch is \
                stopped, after --count events, or with Ctrl-C.
                """
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The watch id.")
        var id: String

        @OptionGroup var eventOptions: EventOptions

        func run() async throws {
            let c = try await ScanClient.connect(try client.configuration(events: eventOptions.events))
            let follow: LiveFollow
            do {
                follow = try await c.followWatch(id)
            } catch {
                await c.close()
                RunCommand.printError("Error: \(error)")
                throw ExitCode.failure
            }
            let terminal = isatty(1) == 1
            let interrupts = await Interrupts.trap { _ in Task { await follow.close() } }
            var seen = 0
            var failure: (any Error)?
            do {
                for try await update in follow.updates {
                    switch update {
                    case .state(let w):
                        if terminal {
                            WatchCommand.out(LiveTable.screen(w))
                        } else if seen == 0 {
                            WatchCommand.out(LiveTable.set(w.matches ?? []) + "\n")
                        }
                    case .event(let e, let w):
                        seen += 1
                        WatchCommand.out(terminal ? LiveTable.screen(w, last: e) : LiveTable.eventLine(e) + "\n")
                    }
                    if let count = eventOptions.count, seen >= count { break }
                }
            } catch {
                failure = error
            }
            interrupts.stop()
            await follow.close()
            await c.close()
            if let failure {
                RunCommand.printError("Error: \(failure)")
                throw ExitCode.failure
            }
        }
    }
}
