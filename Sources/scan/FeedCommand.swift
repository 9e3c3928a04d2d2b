import ArgumentParser
import Foundation
import ScanClient
import ScanCore
import ScanOutput

/// `scan feed replay FILE`: a bar CSV played to a scan-service's bar feed as if it arrived live.
struct FeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "Push bars to a scan-service's bar feed (live scans).",
        subcommands: [Replay.self]
    )

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a bar CSV (symbol,date|timestamp,open,high,low,close,volume) as a live feed.",
            discussion: """
                Bars are sent in time order, one message per bar time, every bar final. --speed 60 plays a \
                minute of bars per second; a gap between bars counts at most five bars (a night is not \
                waited out); --speed 0 sends everything at once, in messages of up to 10,000 bars (history). The service refuses what \
                it cannot take (unknown symbol, a bar not after the stored ones, …): see `scan watch` or \
                PING; this command does not wait for it.
                """
        )

        @Argument(help: "The CSV file.")
        var file: String

        @Option(name: .long, help: "Bar size of the file: 1m or 1d.")
        var timeframe: Timeframe = .minute1

        @Option(name: .long, help: "Times real time (0: no pauses).")
        var speed: Double = 60

        @Option(name: .long, help: "Only bars from this session date, YYYY-MM-DD.")
        var from: String?

        @Option(name: .long, help: "Only bars up to this session date, YYYY-MM-DD.")
        var to: String?

        @OptionGroup var client: ClientOptions

        @Option(name: .long, help: "The service's feed endpoint (default: the --endpoint port + 5).")
        var feed: String?

        @Flag(name: .long, help: "Print nothing but errors.")
        var quiet = false

        func validate() throws {
            guard WatchRequest.liveTimeframes.contains(timeframe) else {
                throw ValidationError("--timeframe \(timeframe): the feed takes 1m or 1d bars")
            }
            guard speed >= 0, speed.isFinite else { throw ValidationError("--speed must be 0 or more") }
            if let feed, !feed.hasPrefix("tcp://") {
                throw ValidationError("--feed '\(feed)': expected tcp://HOST:PORT")
            }
            _ = try days()
        }

        func days() throws -> DateRange? {
            let a = try from.map { try RunCommand.day($0, option: "--from") }
            let b = try to.map { try RunCommand.day($0, option: "--to") }
            guard a != nil || b != nil else { return nil }
            // An open end: a day no bar file reaches.
            let range = DateRange(
                from: a ?? CalendarDay(epochSeconds: -62_135_596_800),
                to: b ?? CalendarDay(epochSeconds: 253_402_214_400)
            )
            guard range.from <= range.to else { throw ValidationError("--from is after --to") }
            return range
        }

        func run() async throws {
            let path = file
            let tf = timeframe
            let range = try days()
            let replay: FeedReplay
            do {
                replay = try await Blocking.run { try FeedReplay(path: path, timeframe: tf, days: range) }
            } catch {
                RunCommand.printError("Error: \(error)")
                throw ExitCode(65)
            }
            guard let endpoint = feed ?? BarFeeder.feedEndpoint(forAPI: client.resolvedEndpoint) else {
                throw ValidationError("cannot derive the feed endpoint from \(client.resolvedEndpoint); give --feed")
            }
            let curve = try await client.configuration().curve
            let feeder = try await BarFeeder.connect(endpoint: endpoint, curve: curve)
            let quiet = self.quiet
            let total = replay.count
            if !quiet {
                RunCommand.printError("replaying \(total) bars in \(replay.batches.count) batches to \(endpoint)")
            }
            do {
                try await replay.play(to: feeder, speed: speed) { sent, batch in
                    guard !quiet, let first = batch.first else { return }
                    RunCommand.printError("\(first.timestamp)  \(batch.count) bars  (\(sent)/\(total))")
                }
            } catch {
                await feeder.close()
                RunCommand.printError("Error: \(error)")
                throw ExitCode.failure
            }
            await feeder.close()
        }
    }
}
