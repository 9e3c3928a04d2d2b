import ArgumentParser
import Foundation
import MarketData
import ScanCore
import ScanOutput

/// `scan data …`: fill the market-data store (DESIGN §4).
struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Import, sample and generate market data.",
        discussion: """
            Every subcommand writes to the SQLite store given by --db; without it, $MARKETSCAN_DB, \
            else marketscan.sqlite in the current directory.
            """,
        subcommands: [
            ImportSymbolsCommand.self, ImportBarsCommand.self, SampleCommand.self, GenerateCommand.self,
            InfoCommand.self,
            ExportCommand.self,
        ]
    )
}

/// The `--db` option shared by the data commands.
struct StoreOption: ParsableArguments {
    @Option(name: .long, help: "The SQLite store (default: $MARKETSCAN_DB, else ./marketscan.sqlite).")
    var db: String?

    var path: String { db ?? MarketDataStore.defaultPath }
}

/// Prints an error to stderr and exits non-zero, for errors a person should read.
func fail(_ error: any Error) -> ExitCode {
    let text = (error as? ImportFailure)?.description ?? (error as? MarketDataError)?.message ?? "\(error)"
    FileHandle.standardError.write(Data("error: \(text)\n".utf8))
    return ExitCode.failure
}

private func warn(_ text: String) {
    FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
}

/// Reports an import's OHLC warnings on stderr.
private func reportWarnings(_ report: BarImporter.Report) {
    guard report.warningCount > 0 else { return }
    let lines = report.warnings.prefix(10).map { String($0.line) }.joined(separator: ", ")
    warn(
        "\(NumberFormat.thousands(report.warningCount)) row\(report.warningCount == 1 ? "" : "s") imported unchanged with high below "
            + "max(open, close) or low above min(open, close) (first lines: \(lines)); --strict refuses them"
    )
}

/// A progress handler drawing a terminal bar for an import.
private func importProgress(_ bar: ProgressBar?) -> ImportProgressHandler {
    { phase, done, total in bar?.update(done, of: total, note: phase.rawValue) }
}

/// A labelled bar on stderr when it is a terminal, else `nil`.
func taskProgress(_ label: String) -> ProgressBar? {
    ProgressBar.isAvailable ? ProgressBar(label: label) : nil
}

struct ImportSymbolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-symbols",
        abstract: "Import symbols from CSV: symbol,name,market,sector,market_cap[,active]."
    )

    @Argument(help: "The CSV file.") var file: String
    @OptionGroup var store: StoreOption

    func run() async throws {
        let (file, path) = (file, store.path)
        do {
            let count = try await Blocking.run {
                try SymbolImporter(store: MarketDataStore.open(path: path)).importFile(path: file)
            }
            print("imported \(NumberFormat.thousands(count)) symbols into \(path)")
        } catch {
            throw fail(error)
        }
    }
}

struct ImportBarsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-bars",
        abstract: "Import bars from CSV: symbol,date|timestamp,open,high,low,close,volume.",
        discussion: """
            The whole file is checked first; any bad row imports nothing and the bad lines are listed. \
            Bars already stored at the same symbol and time are replaced.
            """
    )

    @Argument(help: "The CSV file.") var file: String
    @Option(help: "The stored timeframe of the file: 1d (dates) or 1m (timestamps with offset).")
    var timeframe: Timeframe = .daily
    @Flag(help: "Add symbols the store does not know instead of refusing their rows.")
    var createSymbols = false
    @Flag(help: "Refuse rows whose high is below max(open, close) or low above min(open, close).")
    var strict = false
    @OptionGroup var store: StoreOption

    func validate() throws {
        guard timeframe == .daily || timeframe == .minute1 else {
            throw ValidationError("--timeframe must be 1d or 1m (other timeframes are resampled), not '\(timeframe)'")
        }
    }

    func run() async throws {
        let options = BarImporter.Options(
            timeframe: timeframe,
            createSymbols: createSymbols,
            strict: strict
        )
        let (file, path) = (file, store.path)
        do {
            let report = try await Blocking.run {
                let bar = taskProgress("import")
                defer { bar?.finish() }
                return try BarImporter(store: MarketDataStore.open(path: path), options: options)
                    .importFile(path: file, progress: importProgress(bar))
            }
            reportWarnings(report)
            let created = report.createdSymbols > 0 ? " (\(report.createdSymbols) new symbols)" : ""
            print(
                "imported \(NumberFormat.thousands(report.rows)) \(options.timeframe) bars of \(report.symbols) symbols\(created) into \(path)"
            )
        } catch {
            throw fail(error)
        }
    }
}

struct SampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Load the bundled real sample (48 KRX symbols, daily bars 2015-01-02 to 2022-09-19)."
    )

    @OptionGroup var store: StoreOption

    func run() async throws {
        let path = store.path
        do {
            let report = try await Blocking.run {
                let bar = taskProgress("sample")
                defer { bar?.finish() }
                return try SampleData.load(into: MarketDataStore.open(path: path), progress: importProgress(bar))
            }
            reportWarnings(report.bars)
            print(
                "loaded the sample: \(report.symbols) symbols, \(NumberFormat.thousands(report.bars.rows)) daily bars into \(path)"
            )
        } catch {
            throw fail(error)
        }
    }
}

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate synthetic bars for scale tests (deterministic for a seed).",
        discussion: """
            Symbols are 900000, 900001, … spread over KOSPI/KOSDAQ, twelve sectors and market caps. Daily \
            bars are the last D weekdays up to 2024-12-31; 1m bars cover 09:00-15:29 (+09:00) of those days.
            """
    )

    @Option(help: "Number of symbols.") var symbols: Int
    @Option(help: "Number of trading days.") var days: Int
    @Option(help: "1d or 1m.") var timeframe: Timeframe = .daily
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @OptionGroup var store: StoreOption

    func validate() throws {
        guard symbols > 0, days > 0 else { throw ValidationError("--symbols and --days must be positive") }
        guard timeframe == .daily || timeframe == .minute1 else {
            throw ValidationError("--timeframe must be 1d or 1m, not '\(timeframe)'")
        }
    }

    func run() async throws {
        let config = MarketGenerator.Config(
            symbols: symbols,
            days: days,
            timeframe: timeframe,
            seed: seed
        )
        let path = store.path
        do {
            let (bars, seconds) = try await Blocking.run {
                let start = Date()
                let bar = taskProgress("generate")
                defer { bar?.finish() }
                let generator = try MarketGenerator(config)
                let bars = try generator.write(into: MarketDataStore.open(path: path)) { done, total in
                    bar?.update(Int64(done), of: Int64(total), note: "symbols")
                }
                return (bars, Date().timeIntervalSince(start))
            }
            let secs = (seconds * 10).rounded() / 10
            print(
                "generated \(NumberFormat.thousands(bars)) \(config.timeframe) bars of \(config.symbols) symbols (seed \(config.seed)) into \(path) in \(secs) s"
            )
        } catch {
            throw fail(error)
        }
    }
}

struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show what the store holds (timing the bulk load is Benchmarks/'s LoadBench)."
    )

    @OptionGroup var store: StoreOption

    func run() async throws {
        let path = store.path
        do {
            let text = try await Blocking.run {
                let store = try MarketDataStore.open(path: path)
                let symbols = try store.allSymbols()
                var lines = [
                    "store: \(path)",
                    "symbols: \(NumberFormat.thousands(symbols.count)) (\(symbols.filter(\.active).count) active)",
                    "data version: \(try store.dataVersion())",
                ]
                for tf in [Timeframe.daily, .minute1] {
                    let count = try store.storedBarCount(timeframe: tf)
                    let latest = try store.latestDay(for: tf).map { ", latest \($0)" } ?? ""
                    lines.append("\(tf) bars: \(NumberFormat.thousands(count))\(latest)")
                }
                return lines.joined(separator: "\n")
            }
            print(text)
        } catch {
            throw fail(error)
        }
    }
}
