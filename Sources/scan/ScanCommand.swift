import ArgumentParser

/// `scan`: the command-line client and data tool (DESIGN §4).
@main
struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "MarketScan: scan a universe of stocks with an indicator formula.",
        subcommands: [
            DataCommand.self, RunCommand.self, SessionsCommand.self, WatchCommand.self, LiveCommand.self,
            FeedCommand.self, KeygenCommand.self,
        ]
    )
}
