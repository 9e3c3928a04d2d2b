import FormulaEngine
import Foundation
import ScanCore

/// Imports bars from CSV files, all or nothing: one file, several, or a directory of them.
///
/// Each file's layout (``BarFileLayout``: MarketScan's own `symbol,date|timestamp,open,high,low,close,volume`,
/// FinanceDataReader, Yahoo Finance, pykrx, the KRX data portal) is recognised by its header, or named by
/// ``Options/layout``; its encoding is UTF-8 or CP949 (``TextEncoding``). Daily files (`1d`) carry dates
/// (`YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`); minute files (`1m`) carry timestamps with the exchange's
/// offset (`2025-06-09T09:30:00-04:00`), or local times read in ``Options/timeZone``. Every row of every
/// file is checked — a missing column or value, a number or date that does not parse, a price ≤ 0,
/// high < low, volume < 0, an unknown symbol (unless ``Options/createSymbols``), a (symbol, time) seen
/// before — and any bad row imports nothing: ``ImportFailure`` names the first bad files and lines. A
/// high below max(open, close) or a low above min(open, close) — rounding of adjusted prices in real
/// vendor data — is imported unchanged and reported as a warning (an error with ``Options/strict``).
/// With ``Options/adjusted`` a Yahoo file's `Adj Close` becomes the close, and open, high and low are
/// scaled by the same factor (`Adj Close / Close`); prices are otherwise never altered.
///
/// Everything is checked before anything is written, then written in one transaction that replaces
/// stored bars at the same (symbol, time).
public struct BarImporter {
    /// How to import.
    public struct Options: Sendable {
        /// `1d` or `1m` (the stored timeframes).
        public var timeframe: Timeframe
        /// Add symbols the store does not know (bare: no name, market, sector or market cap).
        public var createSymbols: Bool
        /// Treat OHLC inconsistencies (high below max(open, close), low above min(open, close)) as errors.
        public var strict: Bool
        /// The layout of every file; `nil` recognises each file's by its header.
        public var layout: BarFileLayout?
        /// Use the `Adj Close` column (Yahoo): close = Adj Close, open/high/low × Adj Close / Close.
        public var adjusted: Bool
        /// The zone of intraday timestamps written without a UTC offset (`--tz Asia/Seoul`).
        public var timeZone: TimeZone?
        /// The files' text encoding.
        public var encoding: TextEncoding
        /// The symbol of a single file whose rows carry none (a KRX portal download `data_0412_….csv`,
        /// a Yahoo `Samsung.csv`): it replaces the one the file name would give. Refused for a
        /// directory and for a file with a symbol column.
        public var symbol: String?

        public init(
            timeframe: Timeframe = .daily,
            createSymbols: Bool = false,
            strict: Bool = false,
            layout: BarFileLayout? = nil,
            adjusted: Bool = false,
            timeZone: TimeZone? = nil,
            encoding: TextEncoding = .auto,
            symbol: String? = nil
        ) {
            self.timeframe = timeframe
            self.createSymbols = createSymbols
            self.strict = strict
            self.layout = layout
            self.adjusted = adjusted
            self.timeZone = timeZone
            self.encoding = encoding
            self.symbol = symbol
        }
    }

    /// What an import did.
    public struct Report: Sendable {
        public var rows: Int
        public var symbols: Int
        /// Symbols added because of ``Options/createSymbols``.
        public var createdSymbols: Int
        /// Rows imported despite high below max(open, close) or low above min(open, close).
        public var warningCount: Int
        /// The first ``ImportFailure/listLimit`` of those rows.
        public var warnings: [ImportIssue]
        /// How many files were read.
        public var files: Int = 1
        /// The layouts of those files, each once, in the order first met.
        public var layouts: [BarFileLayout] = []
    }

    public let store: any MarketDataBackend
    public let options: Options

    public init(store: any MarketDataBackend, options: Options = Options()) {
        self.store = store
        self.options = options
    }

    /// The files an import of `path` reads: the file itself, or a directory's `*.csv` files (not
    /// hidden ones, not in subdirectories) sorted by name. Throws when a directory has none.
    public static func files(at path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MarketDataError(.io, "cannot open '\(path)': no such file or directory")
        }
        guard isDirectory.boolValue else { return [path] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw MarketDataError(.io, "cannot read the directory '\(path)': \(error.localizedDescription)")
        }
        let base = path.hasSuffix("/") ? path : path + "/"
        let csv = names.filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".csv") }.sorted().map { base + $0 }
            .filter { p in
                var dir: ObjCBool = false
                return FileManager.default.fileExists(atPath: p, isDirectory: &dir) && !dir.boolValue
            }
        guard !csv.isEmpty else { throw MarketDataError(.invalidInput, "the directory '\(path)' holds no .csv file") }
        return csv
    }

    /// Checks and imports the file or directory of files at `path` (see ``files(at:)``).
    public func importPath(_ path: String, progress: ImportProgressHandler? = nil) throws -> Report {
        let files = try Self.files(at: path)
        if let symbol = options.symbol, files != [path] {
            throw MarketDataError(
                .invalidInput,
                "--symbol \(symbol) names the symbol of one file, but '\(path)' is a directory "
                    + "(its files are named by their file names: rename them, e.g. \(symbol).csv)"
            )
        }
        return try importFiles(files, describedAs: path, progress: progress)
    }

    /// Checks and imports the file at `path`. Throws ``ImportFailure`` for bad rows,
    /// ``MarketDataError`` for an unreadable file or a store failure.
    public func importFile(path: String, progress: ImportProgressHandler? = nil) throws -> Report {
        try importFiles([path], describedAs: path, progress: progress)
    }

    private struct Accumulator {
        var times: [Int64] = []
        var offsets: [Int32] = []
        var open: [Double] = [], high: [Double] = [], low: [Double] = [], close: [Double] = [], volume: [Double] = []
        var lines: [Int32] = []
        var files: [Int32] = []

        mutating func append(
            _ stamp: BarTimestamp,
            _ intraday: Bool,
            _ o: Double,
            _ h: Double,
            _ l: Double,
            _ c: Double,
            _ v: Double,
            line: Int,
            file: Int
        ) {
            times.append(stamp.epochSeconds)
            if intraday { offsets.append(stamp.utcOffsetSeconds) }
            open.append(o)
            high.append(h)
            low.append(l)
            close.append(c)
            volume.append(v)
            lines.append(Int32(clamping: line))
            files.append(Int32(clamping: file))
        }
    }

    /// The problems and warnings found so far, by file and line.
    private struct Findings {
        /// The files' names in messages: `nil` for a single-file import (the failure names it).
        var names: [String?]
        var problems: [ImportIssue] = []
        var problemCount = 0
        var warnings: [ImportIssue] = []
        var warningCount = 0

        mutating func problem(_ file: Int, _ line: Int, _ message: String) {
            problemCount += 1
            problems.append(ImportIssue(file: names[file], line: line, message: message))
            if problems.count > 4 * ImportFailure.listLimit {  // keep the earliest only
                sortProblems()
                problems.removeLast(problems.count - ImportFailure.listLimit)
            }
        }

        mutating func warning(_ file: Int, _ line: Int, _ message: String) {
            warningCount += 1
            if warnings.count < ImportFailure.listLimit {
                warnings.append(ImportIssue(file: names[file], line: line, message: message))
            }
        }

        mutating func sortProblems() {
            let order = Dictionary(names.enumerated().map { ($0.element ?? "", $0.offset) }) { a, _ in a }
            problems.sort { a, b in
                let (fa, fb) = (order[a.file ?? ""] ?? 0, order[b.file ?? ""] ?? 0)
                return fa != fb ? fa < fb : a.line < b.line
            }
        }
    }

    /// Everything read so far: each symbol's bars, in the order the symbols were first met.
    private struct Collected {
        var accumulators: [Accumulator] = []
        var slot: [String: Int] = [:]
        var order: [String] = []
        var rows = 0
        var layouts: [BarFileLayout] = []

        mutating func slot(for symbol: String) -> Int {
            if let s = slot[symbol] { return s }
            let s = accumulators.count
            slot[symbol] = s
            order.append(symbol)
            accumulators.append(Accumulator())
            return s
        }
    }

    /// Checks every file, then writes them all in one transaction (or nothing).
    private func importFiles(
        _ paths: [String],
        describedAs description: String,
        progress: ImportProgressHandler?
    ) throws -> Report {
        let tf = options.timeframe
        guard tf == .daily || tf == .minute1 else {
            throw MarketDataError(.invalidInput, "bars can be imported as 1d or 1m, not \(tf) (it is resampled)")
        }
        let known = Set(try store.allSymbols().map(\.symbol))
        var findings = Findings(names: paths == [description] ? [nil] : paths)
        var collected = Collected()
        // Reading progress counts bytes over all files.
        let sizes = paths.map { p in (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int64) ?? 0 }
        let totalBytes = max(sizes.reduce(0, +), 1)
        var doneBytes: Int64 = 0
        for (f, path) in paths.enumerated() {
            try readFile(path, index: f, known: known, into: &collected, findings: &findings) { read, _ in
                try progress?(.reading, doneBytes + read, totalBytes)
            }
            doneBytes += sizes[f]
        }
        try progress?(.reading, totalBytes, totalBytes)

        // Sort each symbol's bars by time and look for duplicates.
        var series: [BarSeries] = []
        series.reserveCapacity(collected.order.count)
        for (s, symbol) in collected.order.enumerated() {
            let a = collected.accumulators[s]
            var perm = Array(a.times.indices)
            let sorted = zip(a.times, a.times.dropFirst()).allSatisfy { $0 < $1 }
            if !sorted {
                perm.sort { x, y in
                    if a.times[x] != a.times[y] { return a.times[x] < a.times[y] }
                    return a.files[x] != a.files[y] ? a.files[x] < a.files[y] : a.lines[x] < a.lines[y]
                }
            }
            var dupFree = true
            for k in 1..<max(perm.count, 1) where a.times[perm[k]] == a.times[perm[k - 1]] {
                dupFree = false
                let stamp = BarTimestamp(
                    epochSeconds: a.times[perm[k]],
                    utcOffsetSeconds: tf.isIntraday ? a.offsets[perm[k]] : 0,
                    isIntraday: tf.isIntraday
                )
                let (first, firstFile) = (a.lines[perm[k - 1]], Int(a.files[perm[k - 1]]))
                let where_ =
                    firstFile == Int(a.files[perm[k]]) ? "line \(first)" : "\(paths[firstFile]) line \(first)"
                findings.problem(
                    Int(a.files[perm[k]]),
                    Int(a.lines[perm[k]]),
                    "duplicate bar for \(symbol) at \(stamp) (first on \(where_))"
                )
            }
            guard dupFree, findings.problemCount == 0 else { continue }
            func pick<T>(_ x: [T]) -> [T] { sorted || x.isEmpty ? x : perm.map { x[$0] } }
            series.append(
                BarSeries(
                    symbol: symbol,
                    timeframe: tf,
                    times: pick(a.times),
                    utcOffsets: pick(a.offsets),
                    columns: PriceColumns(
                        open: pick(a.open),
                        high: pick(a.high),
                        low: pick(a.low),
                        close: pick(a.close),
                        volume: pick(a.volume)
                    )
                )
            )
        }
        if findings.problemCount > 0 {
            findings.sortProblems()
            throw ImportFailure(
                file: description,
                problems: Array(findings.problems.prefix(ImportFailure.listLimit)),
                problemCount: findings.problemCount
            )
        }
        let order = collected.order
        let rows = collected.rows
        let layouts = collected.layouts
        collected = Collected()
        let created = options.createSymbols ? order.filter { !known.contains($0) }.count : 0
        try store.writeBars(series, createSymbols: options.createSymbols) { done, total in
            try progress?(.writing, Int64(done), Int64(total))
        }
        return Report(
            rows: rows,
            symbols: series.count,
            createdSymbols: created,
            warningCount: findings.warningCount,
            warnings: findings.warnings,
            files: paths.count,
            layouts: layouts
        )
    }

    /// The column of each field of a bar in one file.
    private struct FileColumns {
        /// `nil` when the symbol is the file's name.
        var symbol: Int?
        var time: Int
        var prices: [Int]  // open, high, low, close, volume
        var adjustedClose: Int?
        var timeName: String
        var needed: Int
    }

    /// Finds the layout and the columns of a file from its header; `nil` after reporting a problem.
    private func columns(
        header: [String],
        line: Int,
        file: Int,
        findings: inout Findings
    ) -> (BarFileLayout, FileColumns)? {
        guard let layout = options.layout ?? BarFileLayout.detect(header: header) else {
            findings.problem(
                file,
                line,
                "header '\(header.joined(separator: ","))' is in none of the layouts "
                    + "native (symbol,date,open,high,low,close,volume), fdr (Date,Open,High,Low,Close,Volume), "
                    + "yahoo (Date,Open,High,Low,Close,Adj Close,Volume), pykrx (날짜,시가,고가,저가,종가,거래량), "
                    + "krx (일자,종가,대비,등락률,시가,고가,저가,거래량,…); --layout names one"
            )
            return nil
        }
        var index: [String: Int] = [:]
        for (i, name) in header.enumerated() where index[name.lowercased()] == nil { index[name.lowercased()] = i }
        let c = layout.columns
        func find(_ names: [String]) -> Int? { names.lazy.compactMap { index[$0] }.first }
        // Native files: a minute import prefers `timestamp`, a daily one `date`.
        let timeNames = options.timeframe.isIntraday ? c.time.reversed() : c.time
        var missing: [String] = []
        let symbol = find(c.symbol)
        if symbol == nil && !layout.symbolFromFileName { missing.append(c.symbol[0]) }
        let time = find(timeNames)
        if time == nil { missing.append(c.time.count > 1 ? c.time.joined(separator: " or ") : c.time[0]) }
        var prices: [Int] = []
        for names in [c.open, c.high, c.low, c.close, c.volume] {
            if let i = find(names) { prices.append(i) } else { missing.append(names[0]) }
        }
        var adjusted: Int?
        if options.adjusted {
            adjusted = find(c.adjustedClose)
            if adjusted == nil {
                findings.problem(
                    file,
                    line,
                    "--adjusted needs an 'Adj Close' column (the yahoo layout); this \(layout) header has none"
                )
                return nil
            }
        }
        guard missing.isEmpty, let time else {
            let which = layout == .native ? "" : " (layout \(layout))"
            findings.problem(file, line, "header lacks column \(missing.joined(separator: ", "))\(which)")
            return nil
        }
        let all = prices + [time] + [symbol, adjusted].compactMap { $0 }
        let timeName = header[time]
        return (
            layout,
            FileColumns(
                symbol: symbol,
                time: time,
                prices: prices,
                adjustedClose: adjusted,
                timeName: timeName,
                needed: (all.max() ?? 0) + 1
            )
        )
    }

    /// Reads and checks one file into `collected`.
    private func readFile(
        _ path: String,
        index f: Int,
        known: Set<String>,
        into collected: inout Collected,
        findings: inout Findings,
        progress: (Int64, Int64) throws -> Void
    ) throws {
        let tf = options.timeframe
        let reader = try CSVReader(path: path, encoding: options.encoding)
        guard try reader.next() else {
            findings.problem(f, 1, "empty file: no header")
            return
        }
        let headerLine = reader.line
        let header = (0..<reader.fieldCount).map { reader.string($0) }
        guard let (layout, cols) = columns(header: header, line: headerLine, file: f, findings: &findings) else {
            return
        }
        if !collected.layouts.contains(layout) { collected.layouts.append(layout) }
        var fileSymbol: String?
        if let s = cols.symbol, let given = options.symbol {
            findings.problem(
                f,
                headerLine,
                "--symbol \(given) is for a file whose rows carry no symbol, but this one has the column "
                    + "'\(header[s])' (drop --symbol)"
            )
            return
        }
        if cols.symbol == nil {
            let symbol = options.symbol ?? BarFileLayout.symbol(fromFileName: path)
            if !options.createSymbols && !known.contains(symbol) {
                let origin =
                    options.symbol == nil
                    ? "from the file name; name it with --symbol CODE, import it with import-symbols, "
                    : "from --symbol; import it with import-symbols, "
                findings.problem(f, headerLine, "unknown symbol '\(symbol)' (\(origin)or use --create-symbols)")
                return
            }
            fileSymbol = symbol
        }
        var parser = TimeParser(intraday: tf.isIntraday, timeZone: options.timeZone)
        let fieldNames = ["open", "high", "low", "close", "volume"]
        var values = [Double](repeating: 0, count: 5)
        var lastSymbol = ""
        var lastSlot = -1
        var lastReport: Int64 = 0
        let grouped = layout.groupedNumbers
        func number(_ i: Int) -> Double? { grouped ? reader.groupedDouble(i) : reader.double(i) }

        rowLoop: while try reader.next() {
            let line = reader.line
            if reader.bytesRead - lastReport >= 1 << 20 {
                lastReport = reader.bytesRead
                try progress(reader.bytesRead, reader.totalBytes)
            }
            if let m = reader.malformation {
                findings.problem(f, line, m)
                continue
            }
            if reader.fieldCount < cols.needed {
                let absent =
                    ([cols.symbol, cols.time] + cols.prices + [cols.adjustedClose]).compactMap { $0 }
                    .first { $0 >= reader.fieldCount }.map { header[$0] } ?? "?"
                findings.problem(
                    f,
                    line,
                    "missing column '\(absent)' (\(reader.fieldCount) fields, header has \(cols.needed)+)"
                )
                continue
            }
            if let s = cols.symbol, reader.isBlank(s) {
                findings.problem(f, line, "missing value for '\(header[s])'")
                continue
            }
            for i in [cols.time] + cols.prices where reader.isBlank(i) {
                findings.problem(f, line, "missing value for '\(header[i])'")
                continue rowLoop
            }
            let symbol = fileSymbol ?? reader.string(cols.symbol ?? 0)
            let timeText = reader.string(cols.time)
            guard let stamp = parser.parse(timeText) else {
                findings.problem(f, line, "\(cols.timeName) '\(timeText)' is not \(parser.expected)")
                continue
            }
            for k in 0..<5 {
                guard let v = number(cols.prices[k]) else {
                    findings.problem(f, line, "\(fieldNames[k]) '\(reader.string(cols.prices[k]))' is not a number")
                    continue rowLoop
                }
                values[k] = v
            }
            if let k = (0..<4).first(where: { values[$0] <= 0 }) {
                findings.problem(
                    f,
                    line,
                    "\(fieldNames[k]) must be greater than 0 (is \(NumberText.format(values[k])))"
                )
                continue
            }
            if let a = cols.adjustedClose {
                guard let adj = number(a), adj > 0 else {
                    findings.problem(f, line, "\(header[a]) '\(reader.string(a))' is not a number greater than 0")
                    continue
                }
                let factor = adj / values[3]
                for k in 0..<3 { values[k] *= factor }
                values[3] = adj
            }
            let (o, h, l, c, v) = (values[0], values[1], values[2], values[3], values[4])
            if h < l {
                findings.problem(f, line, "high \(NumberText.format(h)) is below low \(NumberText.format(l))")
                continue
            }
            if v < 0 {
                findings.problem(f, line, "volume must not be negative (is \(NumberText.format(v)))")
                continue
            }
            if fileSymbol == nil && !options.createSymbols && !known.contains(symbol) {
                findings.problem(
                    f,
                    line,
                    "unknown symbol '\(symbol)' (import it with import-symbols, or use --create-symbols)"
                )
                continue
            }
            var inconsistency: String?
            if h < max(o, c) {
                inconsistency = "high \(NumberText.format(h)) is below max(open, close) \(NumberText.format(max(o, c)))"
            } else if l > min(o, c) {
                inconsistency = "low \(NumberText.format(l)) is above min(open, close) \(NumberText.format(min(o, c)))"
            }
            if let inconsistency {
                if options.strict {
                    findings.problem(f, line, inconsistency + " (--strict)")
                    continue
                }
                findings.warning(f, line, inconsistency)
            }
            if symbol != lastSymbol || lastSlot < 0 {
                lastSlot = collected.slot(for: symbol)
                lastSymbol = symbol
            }
            collected.accumulators[lastSlot].append(stamp, tf.isIntraday, o, h, l, c, v, line: line, file: f)
            collected.rows += 1
        }
    }
}
