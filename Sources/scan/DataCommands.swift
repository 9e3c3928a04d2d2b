import ArgumentParser
import Foundation
import MarketData
import PostgresStore
import ScanCore
import ScanOutput
import ScanProtocol

/// `scan data …`: fill the market-data store (DESIGN §4).
struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Import, sample and generate market data.",
        discussion: """
            Every subcommand uses the SQLite store given by --db, or the PostgreSQL store given by \
            --store postgres://USER[:PASS]@HOST[:PORT]/DB; without either, $MARKETSCAN_STORE, then \
            $MARKETSCAN_DB, else marketscan.sqlite in the current directory.
            """,
        subcommands: [
            ImportSymbolsCommand.self, ImportBarsCommand.self, SymbolsCommand.self, SampleCommand.self,
            GenerateCommand.self, InfoCommand.self, ExportCommand.self,
        ]
    )
}

/// The `--db`/`--store` options shared by the data commands.
struct StoreOption: ParsableArguments {
    @Option(name: .long, help: "The SQLite store (default: $MARKETSCAN_DB, else ./marketscan.sqlite).")
    var db: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The shared PostgreSQL store instead (default: $MARKETSCAN_STORE).",
            valueName: "postgres://USER[:PASS]@HOST[:PORT]/DB"
        )
    )
    var store: String?

    func validate() throws { _ = try location }

    /// The chosen store (an invalid URL throws, its password hidden).
    var location: StoreLocation { get throws { try StoreLocation.choose(db: db, store: store) } }

    /// The store as messages name it (`PATH`, or the URL without password).
    var path: String {
        switch try? location {
        case .sqlite(let path)?: path
        case .postgres(let url)?: url.description
        case nil: db ?? MarketDataStore.defaultPath
        }
    }
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
    let lines = report.warnings.prefix(10).map { w in w.file.map { "\($0) line \(w.line)" } ?? String(w.line) }
        .joined(separator: ", ")
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
        abstract: "Import symbols from CSV: symbol,name,market,sector,market_cap[,active], or the KRX listing.",
        discussion: """
            The KRX data portal's listing download (종목코드,종목명,시장구분,업종명,…,시가총액; CP949, \
            thousands separators) is read as is.
            """
    )

    @Argument(help: "The CSV file.") var file: String
    @Option(help: "The file's encoding: auto (UTF-8, else CP949), utf-8 or cp949.")
    var encoding: TextEncoding = .auto
    @OptionGroup var store: StoreOption

    func run() async throws {
        let (file, path, encoding, location) = (file, store.path, encoding, try store.location)
        do {
            let count = try await Blocking.run {
                try SymbolImporter(store: location.openMarketData(), encoding: encoding).importFile(path: file)
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
        abstract:
            "Import bars from a CSV file or a directory of them (MarketScan, FinanceDataReader, Yahoo, pykrx, KRX).",
        discussion: """
            Each file's layout is recognised by its header (--layout forces one): native \
            symbol,date|timestamp,open,high,low,close,volume; fdr Date,Open,High,Low,Close,Volume[,Change]; \
            yahoo Date,Open,High,Low,Close,Adj Close,Volume; pykrx 날짜,시가,고가,저가,종가,거래량[,등락률]; krx \
            the KRX data portal's 일자,종가,대비,등락률,시가,고가,저가,거래량,… (CP949, thousands separators). \
            Without a symbol column the symbol is the file name (005930.csv; 005930.KS.csv is 005930), \
            or --symbol for one file named otherwise (a KRX portal download data_0412_20221001.csv). \
            Dates: YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD.

            Everything is checked first; any bad row in any file imports nothing, and the bad files and \
            lines are listed. Bars already stored at the same symbol and time are replaced.
            """
    )

    @Argument(help: "A CSV file, or a directory whose .csv files are all imported.") var file: String
    @Option(help: "The stored timeframe of the files: 1d (dates) or 1m (timestamps).")
    var timeframe: Timeframe = .daily
    @Option(help: "The layout of every file (default: recognised by each header).")
    var layout: BarFileLayout?
    @Flag(help: "Use Adj Close (Yahoo) as the close and scale open, high and low by Adj Close / Close.")
    var adjusted = false
    @Option(help: "The time zone of 1m timestamps written without an offset, e.g. Asia/Seoul.")
    var tz: String?
    @Option(help: "The files' encoding: auto (UTF-8, else CP949), utf-8 or cp949.")
    var encoding: TextEncoding = .auto
    @Option(help: "The symbol of a single file whose rows carry none, instead of its file name (e.g. 005930).")
    var symbol: String?
    @Flag(help: "Add symbols the store does not know instead of refusing their rows.")
    var createSymbols = false
    @Flag(help: "Refuse rows whose high is below max(open, close) or low above min(open, close).")
    var strict = false
    @OptionGroup var store: StoreOption

    func validate() throws {
        guard timeframe == .daily || timeframe == .minute1 else {
            throw ValidationError("--timeframe must be 1d or 1m (other timeframes are resampled), not '\(timeframe)'")
        }
        if let symbol, symbol.isEmpty || symbol.contains(where: \.isWhitespace) {
            throw ValidationError("--symbol '\(symbol)' is not a symbol code (e.g. 005930)")
        }
        if let tz, TimeZone(identifier: tz) == nil {
            throw ValidationError(
                "--tz '\(tz)' is not a time zone (an IANA name such as Asia/Seoul or America/New_York)"
            )
        }
    }

    func run() async throws {
        let options = BarImporter.Options(
            timeframe: timeframe,
            createSymbols: createSymbols,
            strict: strict,
            layout: layout,
            adjusted: adjusted,
            timeZone: tz.flatMap(TimeZone.init(identifier:)),
            encoding: encoding,
            symbol: symbol
        )
        let (file, path, location) = (file, store.path, try store.location)
        do {
            let report = try await Blocking.run {
                let bar = taskProgress("import")
                defer { bar?.finish() }
                return try BarImporter(store: location.openMarketData(), options: options)
                    .importPath(file, progress: importProgress(bar))
            }
            reportWarnings(report)
            let created = report.createdSymbols > 0 ? " (\(report.createdSymbols) new symbols)" : ""
            let files = report.files == 1 ? "" : " from \(report.files) files"
            let layouts = report.layouts.map(\.rawValue).joined(separator: ", ")
            print(
                "imported \(NumberFormat.thousands(report.rows)) \(options.timeframe) bars of \(report.symbols) symbols\(created)"
                    + "\(files) (layout \(layouts)) into \(path)"
            )
        } catch {
            throw fail(error)
        }
    }
}

struct SymbolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "symbols",
        abstract: "List the store's symbols: name, market, sector, market cap and the daily bars stored.",
        discussion: "Filters combine; markets and sectors match case-insensitively, --search the code or the name."
    )

    @Option(help: "Only this market (repeatable).") var market: [String] = []
    @Option(help: "Only this sector (repeatable).") var sector: [String] = []
    @Option(help: "Only symbols whose code or name contains this text.") var search: String?
    @Option(help: "table or json (the LIST_SYMBOLS reply body).") var format: DocumentFormat = .table
    @OptionGroup var store: StoreOption

    func run() async throws {
        let query = SymbolQuery(markets: market, sectors: sector, search: search)
        do {
            let location = try store.location
            let listing = try await Blocking.run { try location.openMarketData() }.listSymbols(query)
            let reply = SymbolListReply(listing)
            switch format {
            case .table: print(SymbolTable.render(reply))
            case .json: print(String(decoding: try JSONCoding.encode(reply), as: UTF8.self))
            }
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
        let (path, location) = (store.path, try store.location)
        do {
            let report = try await Blocking.run {
                let bar = taskProgress("sample")
                defer { bar?.finish() }
                return try SampleData.load(into: location.openMarketData(), progress: importProgress(bar))
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
        let (path, location) = (store.path, try store.location)
        do {
            let (bars, seconds) = try await Blocking.run {
                let start = Date()
                let bar = taskProgress("generate")
                defer { bar?.finish() }
                let generator = try MarketGenerator(config)
                let bars = try generator.write(into: location.openMarketData()) { done, total in
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
        let (path, location) = (store.path, try store.location)
        do {
            let text = try await Blocking.run {
                let store = try location.openMarketData()
                let symbols = try store.allSymbols()
                var lines = [
                    "store: \(path)",
                    "symbols: \(NumberFormat.thousands(symbols.count)) (\(symbols.filter(\.active).count) active)",
                    "data version: \(try store.storeVersion())",
                ]
                for tf in [Timeframe.daily, .minute1] {
                    let count = try store.storedBarCount(timeframe: tf, symbol: nil)
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
