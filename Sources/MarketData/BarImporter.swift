import FormulaEngine
import ScanCore

/// Imports bars from a CSV file (`symbol,date|timestamp,open,high,low,close,volume`), all or nothing.
///
/// The header is matched case-insensitively, in any order; extra columns are ignored. Daily files
/// (`1d`) carry `YYYY-MM-DD` dates; minute files (`1m`) carry ISO 8601 timestamps with the exchange's
/// offset (`2025-06-09T09:30:00-04:00`). Every row is checked — a missing column or value, a number or
/// date that does not parse, a price ≤ 0, high < low, volume < 0, an unknown symbol (unless
/// ``Options/createSymbols``), a (symbol, time) seen before in the file — and a file with any bad row
/// imports nothing: ``ImportFailure`` names the first bad lines. A high below max(open, close) or a low
/// above min(open, close) — rounding of adjusted prices in real vendor data — is imported unchanged
/// and reported as a warning (an error with ``Options/strict``): prices are never altered.
///
/// The whole file is checked before anything is written, then written in one transaction that
/// replaces stored bars at the same (symbol, time).
public struct BarImporter {
    /// How to import.
    public struct Options: Sendable {
        /// `1d` or `1m` (the stored timeframes).
        public var timeframe: Timeframe
        /// Add symbols the store does not know (bare: no name, market, sector or market cap).
        public var createSymbols: Bool
        /// Treat OHLC inconsistencies (high below max(open, close), low above min(open, close)) as errors.
        public var strict: Bool

        public init(timeframe: Timeframe = .daily, createSymbols: Bool = false, strict: Bool = false) {
            self.timeframe = timeframe
            self.createSymbols = createSymbols
            self.strict = strict
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
    }

    public let store: any MarketDataBackend
    public let options: Options

    public init(store: any MarketDataBackend, options: Options = Options()) {
        self.store = store
        self.options = options
    }

    private struct Accumulator {
        var times: [Int64] = []
        var offsets: [Int32] = []
        var open: [Double] = [], high: [Double] = [], low: [Double] = [], close: [Double] = [], volume: [Double] = []
        var lines: [Int32] = []
    }

    /// Checks and imports the file at `path`. Throws ``ImportFailure`` for bad rows,
    /// ``MarketDataError`` for an unreadable file or a store failure.
    public func importFile(path: String, progress: ImportProgressHandler? = nil) throws -> Report {
        let tf = options.timeframe
        guard tf == .daily || tf == .minute1 else {
            throw MarketDataError(.invalidInput, "bars can be imported as 1d or 1m, not \(tf) (it is resampled)")
        }
        let reader = try CSVReader(path: path)
        guard try reader.next() else {
            throw ImportFailure(
                file: path,
                problems: [.init(line: 1, message: "empty file: no header")],
                problemCount: 1
            )
        }
        let headerLine = reader.line
        var columnIndex: [String: Int] = [:]
        for i in 0..<reader.fieldCount {
            let name = reader.string(i).lowercased()
            if columnIndex[name] == nil { columnIndex[name] = i }
        }
        let timeName =
            tf.isIntraday
            ? (columnIndex["timestamp"] != nil ? "timestamp" : "date")
            : (columnIndex["date"] != nil ? "date" : "timestamp")
        let names = ["symbol", timeName, "open", "high", "low", "close", "volume"]
        let missing = names.filter { columnIndex[$0] == nil }
        if !missing.isEmpty {
            let label = missing.map { $0 == timeName ? "date or timestamp" : $0 }.joined(separator: ", ")
            throw ImportFailure(
                file: path,
                problems: [.init(line: headerLine, message: "header lacks column \(label)")],
                problemCount: 1
            )
        }
        let idx = names.map { columnIndex[$0]! }
        let needed = (idx.max() ?? 0) + 1

        let known = Set(try store.allSymbols().map(\.symbol))
        var problems: [ImportIssue] = []
        var problemCount = 0
        var warnings: [ImportIssue] = []
        var warningCount = 0
        func problem(_ line: Int, _ message: String) {
            problemCount += 1
            problems.append(ImportIssue(line: line, message: message))
            if problems.count > 4 * ImportFailure.listLimit {  // keep the earliest lines only
                problems.sort { $0.line < $1.line }
                problems.removeLast(problems.count - ImportFailure.listLimit)
            }
        }

        var accumulators: [Accumulator] = []
        var slot: [String: Int] = [:]
        var order: [String] = []
        var lastSymbol = ""
        var lastSlot = -1
        var rows = 0
        var lastReport: Int64 = 0
        let fieldNames = ["open", "high", "low", "close", "volume"]
        var values = [Double](repeating: 0, count: 5)

        rowLoop: while try reader.next() {
            let line = reader.line
            if let p = progress, reader.bytesRead - lastReport >= 1 << 20 {
                lastReport = reader.bytesRead
                try p(.reading, reader.bytesRead, reader.totalBytes)
            }
            if let m = reader.malformation {
                problem(line, m)
                continue
            }
            if reader.fieldCount < needed {
                let absent = names.enumerated().first { idx[$0.offset] >= reader.fieldCount }?.element ?? "volume"
                problem(line, "missing column '\(absent)' (\(reader.fieldCount) fields, header has \(needed)+)")
                continue
            }
            for (k, name) in names.enumerated() where reader.isBlank(idx[k]) {
                problem(line, "missing value for '\(name)'")
                continue rowLoop
            }
            let symbol = reader.string(idx[0])
            let timeText = reader.string(idx[1])
            guard let stamp = BarTimestamp(parsing: timeText), stamp.isIntraday == tf.isIntraday else {
                problem(
                    line,
                    tf.isIntraday
                        ? "\(timeName) '\(timeText)' is not a timestamp with offset (YYYY-MM-DDTHH:MM:SS±HH:MM)"
                        : "\(timeName) '\(timeText)' is not a date (YYYY-MM-DD)"
                )
                continue
            }
            for k in 0..<5 {
                guard let v = reader.double(idx[k + 2]) else {
                    problem(line, "\(fieldNames[k]) '\(reader.string(idx[k + 2]))' is not a number")
                    continue rowLoop
                }
                values[k] = v
            }
            let (o, h, l, c, v) = (values[0], values[1], values[2], values[3], values[4])
            if let k = (0..<4).first(where: { values[$0] <= 0 }) {
                problem(line, "\(fieldNames[k]) must be greater than 0 (is \(NumberText.format(values[k])))")
                continue
            }
            if h < l {
                problem(line, "high \(NumberText.format(h)) is below low \(NumberText.format(l))")
                continue
            }
            if v < 0 {
                problem(line, "volume must not be negative (is \(NumberText.format(v)))")
                continue
            }
            if !options.createSymbols && !known.contains(symbol) {
                problem(line, "unknown symbol '\(symbol)' (import it with import-symbols, or use --create-symbols)")
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
                    problem(line, inconsistency + " (--strict)")
                    continue
                }
                warningCount += 1
                if warnings.count < ImportFailure.listLimit {
                    warnings.append(ImportIssue(line: line, message: inconsistency))
                }
            }
            if symbol != lastSymbol || lastSlot < 0 {
                if let s = slot[symbol] {
                    lastSlot = s
                } else {
                    lastSlot = accumulators.count
                    slot[symbol] = lastSlot
                    order.append(symbol)
                    accumulators.append(Accumulator())
                }
                lastSymbol = symbol
            }
            accumulators[lastSlot].times.append(stamp.epochSeconds)
            if tf.isIntraday { accumulators[lastSlot].offsets.append(stamp.utcOffsetSeconds) }
            accumulators[lastSlot].open.append(o)
            accumulators[lastSlot].high.append(h)
            accumulators[lastSlot].low.append(l)
            accumulators[lastSlot].close.append(c)
            accumulators[lastSlot].volume.append(v)
            accumulators[lastSlot].lines.append(Int32(clamping: line))
            rows += 1
        }
        try progress?(.reading, reader.totalBytes, reader.totalBytes)

        // Sort each symbol's bars by time and look for duplicates.
        var series: [BarSeries] = []
        series.reserveCapacity(order.count)
        for (s, symbol) in order.enumerated() {
            let a = accumulators[s]
            var perm = Array(a.times.indices)
            let sorted = zip(a.times, a.times.dropFirst()).allSatisfy { $0 < $1 }
            if !sorted {
                perm.sort { a.times[$0] != a.times[$1] ? a.times[$0] < a.times[$1] : a.lines[$0] < a.lines[$1] }
            }
            var dupFree = true
            for k in 1..<max(perm.count, 1) where a.times[perm[k]] == a.times[perm[k - 1]] {
                dupFree = false
                let stamp = BarTimestamp(
                    epochSeconds: a.times[perm[k]],
                    utcOffsetSeconds: tf.isIntraday ? a.offsets[perm[k]] : 0,
                    isIntraday: tf.isIntraday
                )
                problem(
                    Int(a.lines[perm[k]]),
                    "duplicate bar for \(symbol) at \(stamp) (first on line \(a.lines[perm[k - 1]]))"
                )
            }
            guard dupFree, problemCount == 0 else { continue }
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
        if problemCount > 0 {
            problems.sort { $0.line < $1.line }
            throw ImportFailure(
                file: path,
                problems: Array(problems.prefix(ImportFailure.listLimit)),
                problemCount: problemCount
            )
        }
        accumulators = []
        let created = options.createSymbols ? order.filter { !known.contains($0) }.count : 0
        try store.writeBars(series, createSymbols: options.createSymbols) { done, total in
            try progress?(.writing, Int64(done), Int64(total))
        }
        return Report(
            rows: rows,
            symbols: series.count,
            createdSymbols: created,
            warningCount: warningCount,
            warnings: warnings
        )
    }
}
