import ArgumentParser
import FormulaEngine
import Foundation
import MarketData
import PostgresStore
import ScanClient
import ScanCore
import ScanOutput
import ScanProtocol

/// `scan run`: one scan, in this process (`--local`, the default) or through a service (`--endpoint`).
///
/// Exit status: 0 done; 64 bad arguments; 65 formula error (the located message on stderr, nothing
/// else printed); 1 the scan failed; 130 cancelled with Ctrl-C (the partial result is printed).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Scan a universe with a formula and print every bar where a signal fired.",
        discussion: """
            Output formats: table (for people; long results are cut), json (the result document of the \
            wire protocol, keys sorted), csv (header symbol,name,timestamp,signal,close,<formula columns>, \
            one row per match; with --explain the funnel goes to FILE.funnel.csv and FILE.near-misses.csv \
            beside --output FILE) and html (a self-contained report with charts; use --output FILE). \
            --study 1,5,20 adds what happened after each signal (forward returns against a baseline of every \
            bar); --explain adds the condition funnel of each signal. Exit status: 0 done, 64 bad arguments, 65 formula error, 1 scan failed, \
            130 cancelled (Ctrl-C; the partial result is printed).
            """
    )

    @OptionGroup var scan: FormulaOptions

    @Option(name: .long, help: "Bar size.")
    var timeframe: Timeframe = .daily

    @Option(name: .long, help: "First session date, YYYY-MM-DD (default: a year before --to).")
    var from: String?

    @Option(name: .long, help: "Last session date, YYYY-MM-DD (default: the newest stored session).")
    var to: String?

    @Option(name: .long, help: "range: every bar in the range; latest: only each symbol's last bar.")
    var mode: ScanMode = .range

    @Option(
        name: .long,
        help: "Event study: forward returns at these horizons in bars, comma-separated (e.g. 1,5,20; at most 16)."
    )
    var study: String?

    @Option(name: .long, help: "Where the study enters: at the signal bar's close, or the next bar's open.")
    var entry: StudyEntry?

    @Flag(name: .long, help: "The condition funnel: bars and symbols passing each clause of each signal.")
    var explain = false

    @Flag(name: .long, help: "Scan in this process on every core (the default).")
    var local = false

    @OptionGroup(title: "Through a scan-service (instead of --local)")
    var client: ClientOptions

    @Option(name: .long, help: "Output format.")
    var format: OutputFormat = .table

    @OptionGroup var output: OutputOption

    @Option(name: .long, help: "Database file (default: $MARKETSCAN_DB, else ./marketscan.sqlite).")
    var db: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --local: the shared PostgreSQL store instead of --db (default: $MARKETSCAN_STORE).",
            valueName: "postgres://USER[:PASS]@HOST[:PORT]/DB"
        )
    )
    var store: String?

    @Option(name: .long, help: "With --local: evaluation threads (default: every core).")
    var threads: Int?

    // MARK: Validation

    /// Everything the arguments say, checked.
    struct Parsed {
        var request: BatchScanRequest
        var from: CalendarDay?
        var to: CalendarDay?
        var runner: Runner

        /// The range `--from`/`--to` give, by ScanCore's rule; `newest` (what `newestIs` names in
        /// the message) stands in for a missing `--to`.
        func dateRange(newest: CalendarDay?, newestIs: String) throws -> DateRange {
            do {
                return try DateRange.resolving(from: from, to: to, newest: newest)
            } catch .invalidDateRange(let r) {
                throw ValidationError("--from \(r.from) is after \(newestIs) \(r.to); give --to")
            }
        }
    }

    /// Where the scan runs. Chosen in one place: ``parse()``.
    enum Runner {
        case local(StoreLocation)
        case service(ClientOptions)
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        _ = try parse()
    }

    func parse() throws -> Parsed {
        let formula = try scan.parsedFormula()
        let fromDay = try from.map { try Self.day($0, option: "--from") }
        let toDay = try to.map { try Self.day($0, option: "--to") }
        if let fromDay, let toDay, fromDay > toDay { throw ValidationError("--from \(fromDay) is after --to \(toDay)") }
        let parameters = try scan.parameters()
        let criteria = try scan.criteria()
        var spec: StudySpec?
        if let study {
            do {
                spec = try StudySpec(parsing: study, entry: entry ?? .close)
            } catch {
                throw ValidationError("--study '\(study)': \(error.description)")
            }
        } else if entry != nil {
            throw ValidationError("--entry goes with --study (the horizons to measure, e.g. --study 1,5,20)")
        }
        if explain, format == .csv, output.output == nil {
            throw ValidationError(
                "--explain with --format csv needs --output FILE: the matches go to FILE, the funnel to "
                    + "FILE's .funnel.csv and .near-misses.csv (a CSV file holds one table)"
            )
        }

        // --endpoint (or $MARKETSCAN_ENDPOINT without --local) runs the scan on a service.
        let runner: Runner
        if client.endpoint != nil {
            if local { throw ValidationError("give --local or --endpoint, not both") }
            if db != nil { throw ValidationError("--db goes with --local, not --endpoint") }
            if store != nil { throw ValidationError("--store goes with --local, not --endpoint") }
            runner = .service(client)
        } else if !local, db == nil, store == nil, client.environmentEndpoint != nil {
            runner = .service(client)
        } else {
            do {
                runner = .local(try StoreLocation.choose(db: db, store: store))
            } catch {
                throw ValidationError("\(error)")
            }
        }
        let request = BatchScanRequest(
            symbolCriteria: criteria,
            timeframe: timeframe,
            dateRange: nil,
            formula: formula,
            parameters: parameters,
            mode: mode,
            study: spec,
            explain: explain
        )
        return Parsed(request: request, from: fromDay, to: toDay, runner: runner)
    }

    static func databasePath(_ option: String?) -> String {
        option ?? MarketDataStore.defaultPath
    }

    static func day(_ text: String, option: String) throws -> CalendarDay {
        guard let day = CalendarDay(text) else {
            throw ValidationError("\(option) '\(text)': expected a date YYYY-MM-DD")
        }
        return day
    }

    static func number(_ text: String, option: String) throws -> Double {
        guard let x = Double(text.replacingOccurrences(of: "_", with: "")), x.isFinite else {
            throw ValidationError("\(option) '\(text)': expected a number")
        }
        return x
    }

    static func parameter(_ text: String) throws -> (String, ParameterValue) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw ValidationError("--param '\(text)': expected name=value")
        }
        let key = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
        let raw = String(text[text.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        switch raw.lowercased() {
        case "true": return (key, .bool(true))
        case "false": return (key, .bool(false))
        default:
            guard let x = Double(raw), x.isFinite else {
                throw ValidationError("--param '\(text)': the value must be a number or true/false")
            }
            return (key, .number(x))
        }
    }

    static func list(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
    }

    // MARK: Running

    func run() async throws {
        // Errors found while running are printed here (stderr only) with their exit status.
        do {
            try await runScan()
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            Self.printError("Error: \(error.message)")
            throw ExitCode(64)
        } catch {
            Self.printError("Error: \(error)")
            throw ExitCode.failure
        }
    }

    private func runScan() async throws {
        var parsed = try parse()
        parsed.request.formula.source = try await scan.source()
        // The formula is checked before anything is opened or read.
        let plan: FormulaPlan
        do {
            plan = try BatchScanUseCase.checkFormula(parsed.request)
        } catch let error as FormulaError {
            Self.printError(error.description)
            throw ExitCode(65)
        }

        switch parsed.runner {
        case .local(let location):
            try await runLocal(parsed, plan: plan, location: location)
        case .service(let client):
            // The service-mode run (RemoteRun.swift): RUN_SCAN, progress from the events socket,
            // Ctrl-C → CANCEL, then its ResultDocument through `emit` like the local run.
            try await runRemote(parsed, plan: plan, client: client)
        }
    }

    private func runLocal(_ parsed: Parsed, plan: FormulaPlan, location: StoreLocation) async throws {
        // Opening connects and migrates (and may wait on another writer): off the cooperative pool.
        let store: any MarketDataBackend
        let sessions: any ScanSessionRepository & JobRepository
        do {
            store = try await Blocking.run { try location.openMarketData() }
            sessions = try await Blocking.run { try location.openSessions() }
        } catch {
            Self.printError("Error: \(error)")
            throw ExitCode.failure
        }
        var request = parsed.request
        if parsed.from != nil || parsed.to != nil {
            let timeframe = request.timeframe
            let newest = parsed.to == nil ? try await Blocking.run { try store.latestDay(for: timeframe) } : nil
            request.dateRange = try parsed.dateRange(newest: newest, newestIs: "the newest stored session")
        }

        let engine = InProcessEngine(bars: store, threads: threads)
        let useCase = RunScanUseCase(
            scan: BatchScanUseCase(symbols: store, bars: store, engine: engine),
            sessions: sessions
        )
        let cancellation = CancellationToken()
        let interrupts = await Interrupts.cancelling { cancellation.cancel() }
        defer { interrupts.stop() }

        let bar = format == .table && ProgressBar.isAvailable ? ProgressBar() : nil
        let observer = ScanSessionObserver(progress: { _, p in bar?.update(p) })
        let session = try await useCase.execute(request, plan: plan, observer: observer, cancellation: cancellation)
        bar?.finish()

        guard let result = session.result, session.status != .failed else {
            Self.printError("scan failed: \(session.error ?? "unknown error")")
            throw ExitCode.failure
        }
        let matched = Array(Set(result.signals.matches.map(\.symbol)))
        let names = Dictionary(
            (try await store.symbols(matched)).map { ($0.symbol, $0.name) },
            uniquingKeysWith: { a, _ in a }
        )
        try await emit(
            ResultDocument(result, status: session.status),
            names: names,
            columns: plan.columnNames,
            request: request,
            bars: store
        )
        if session.status == .cancelled { throw ExitCode(130) }
    }

    /// Prints (or writes to `--output`) the result in `format`. The HTML report also charts the top
    /// symbols' prices, read from `bars` when given.
    func emit(
        _ doc: ResultDocument,
        names: [String: String],
        columns: [String]?,
        request: BatchScanRequest,
        bars: (any BarRepository)?
    ) async throws {
        var context = OutputContext(names: names, columns: columns)
        if format == .html {
            context.report = await Self.reportInputs(doc, names: names, columns: columns, request: request, bars: bars)
        }
        try await output.write(doc, as: format, context: context)
        if output.output != nil, format == .table || ProgressBar.isAvailable {
            Self.printError(ResultRenderer.summary(doc))
        }
    }

    /// The HTML report's inputs: the scan as asked and the closes of its top symbols.
    static func reportInputs(
        _ doc: ResultDocument,
        names: [String: String],
        columns: [String]?,
        request: BatchScanRequest,
        bars: (any BarRepository)?
    ) async -> ReportInputs {
        var inputs = ReportInputs(
            formula: request.formula,
            universe: ReportInputs.describe(request.symbolCriteria),
            timeframe: request.timeframe,
            dateRange: request.dateRange,
            mode: request.mode,
            names: names,
            columns: columns
        )
        let days = doc.signals.matches.compactMap { BarTimestamp(parsing: $0.timestamp)?.day }
        let span = days.min().flatMap { lo in days.max().map { DateRange(from: lo, to: $0) } }
        guard let bars, let range = request.dateRange ?? span else {
            inputs.pricesNote =
                "price charts need the bars: run with --local, or keep the market data at --db's default path"
            return inputs
        }
        let symbols = ReportInputs.chartedSymbols(doc)
        let timeframe = request.timeframe
        inputs.prices =
            (try? await Blocking.run {
                ReportInputs.loadPrices(symbols, bars: bars, timeframe: timeframe, range: range)
            }) ?? [:]
        return inputs
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}
