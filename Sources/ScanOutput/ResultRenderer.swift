import Foundation
import ScanCore
import ScanProtocol

/// The output formats of `scan run` and `scan sessions results`.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Aligned columns for a person to read, with a summary line; long results are cut.
    case table
    /// The ``ResultDocument`` (DESIGN §4), one object, keys sorted.
    case json
    /// One row per match (see ``ResultRenderer/csv(_:context:)``).
    case csv
    /// A self-contained HTML report with charts (see ``HTMLReport``).
    case html
}

/// What a renderer needs beyond the result: symbol names, and the formula's columns in declaration order.
public struct OutputContext: Sendable {
    /// Display names by symbol (missing ones print empty).
    public var names: [String: String]
    /// Column names in the formula's order; `nil` uses every column that occurs, sorted.
    public var columns: [String]?
    /// Table rows shown before the table is cut.
    public var maxTableRows: Int
    /// What the HTML report shows beyond the result (the scan as asked, price histories).
    public var report: ReportInputs?

    public init(
        names: [String: String] = [:],
        columns: [String]? = nil,
        maxTableRows: Int = 50,
        report: ReportInputs? = nil
    ) {
        self.names = names
        self.columns = columns
        self.maxTableRows = maxTableRows
        self.report = report
    }

    func columns(of doc: ResultDocument) -> [String] {
        columns ?? Set(doc.signals.matches.flatMap { $0.values.keys }).sorted()
    }
}

/// Renders a ``ResultDocument`` as a table, JSON or CSV.
public enum ResultRenderer {
    /// The whole output of `format`, ending in a newline.
    public static func render(
        _ doc: ResultDocument,
        as format: OutputFormat,
        context: OutputContext = OutputContext()
    ) throws -> String {
        switch format {
        case .table: table(doc, context: context)
        case .json: try json(doc)
        case .csv: csv(doc, context: context)
        case .html:
            HTMLReport.render(
                doc,
                inputs: context.report
                    ?? ReportInputs(
                        formula: Formula(name: doc.jobId, source: ""),
                        universe: "",
                        timeframe: .daily,
                        dateRange: nil,
                        mode: .range,
                        names: context.names,
                        columns: context.columns
                    )
            )
        }
    }

    /// The JSON document with sorted keys, one line, then a newline.
    public static func json(_ doc: ResultDocument) throws -> String {
        String(decoding: try doc.jsonData(), as: UTF8.self) + "\n"
    }

    /// CSV (RFC 4180, `\n` line ends), one row per match in the result's order (the condition funnel
    /// goes to files of its own beside it: ``FunnelCSV``). With an event study
    /// each row ends with `forward_<h>` per horizon, `max_favorable`, `max_adverse` (empty: incomplete). Header:
    /// `symbol,name,timestamp,signal,close` followed by the formula's column names. `timestamp` is
    /// `YYYY-MM-DD` or ISO 8601 with offset; numbers are plain (`71000`, `63.25`); an undefined value is
    /// an empty field; a field holding a comma, quote or line break is quoted.
    public static func csv(_ doc: ResultDocument, context: OutputContext = OutputContext()) -> String {
        let columns = context.columns(of: doc)
        let horizons = doc.study?.horizons ?? []
        let forward = horizons.isEmpty ? [] : horizons.map { "forward_\($0)" } + ["max_favorable", "max_adverse"]
        var out = csvRow(["symbol", "name", "timestamp", "signal", "close"] + columns + forward)
        for m in doc.signals.matches {
            var fields = [
                m.symbol, context.names[m.symbol] ?? "", m.timestamp, m.signal, m.close.map(NumberFormat.plain) ?? "",
            ]
            for c in columns { fields.append((m.values[c] ?? nil).map(NumberFormat.plain) ?? "") }
            if !horizons.isEmpty {
                let f = m.forward
                for k in horizons.indices {
                    fields.append(
                        (f.flatMap { k < $0.returns.count ? $0.returns[k] : nil }).map(NumberFormat.plain) ?? ""
                    )
                }
                fields.append((f?.maxFavorable).map(NumberFormat.plain) ?? "")
                fields.append((f?.maxAdverse).map(NumberFormat.plain) ?? "")
            }
            out += csvRow(fields)
        }
        return out
    }

    /// One CSV record: the fields quoted where needed, joined by commas, then `\n`.
    static func csvRow(_ fields: [String]) -> String {
        fields.map(csvField).joined(separator: ",") + "\n"
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The trader's table: SYMBOL, NAME, DATE, SIGNAL, CLOSE and the formula's columns, aligned
    /// (East Asian wide characters count double), at most `context.maxTableRows` rows with a note on
    /// how to see all, the per-symbol errors, then the summary line.
    public static func table(_ doc: ResultDocument, context: OutputContext = OutputContext()) -> String {
        let columns = context.columns(of: doc)
        let header = ["SYMBOL", "NAME", "DATE", "SIGNAL", "CLOSE"] + columns.map { $0.uppercased() }
        let rightAligned = [false, false, false, false, true] + columns.map { _ in true }
        let shown = doc.signals.matches.prefix(max(0, context.maxTableRows))
        let rows: [[String]] = shown.map { m in
            [
                m.symbol, DisplayWidth.truncate(context.names[m.symbol] ?? "", to: 24), m.timestamp, m.signal,
                m.close.map { NumberFormat.grouped($0) } ?? "-",
            ] + columns.map { c in (m.values[c] ?? nil).map { NumberFormat.grouped($0) } ?? "-" }
        }
        var out = ""
        if !rows.isEmpty {
            var widths = header.map { DisplayWidth.of($0) }
            for row in rows { for (i, f) in row.enumerated() { widths[i] = max(widths[i], DisplayWidth.of(f)) } }
            func line(_ fields: [String]) -> String {
                var parts: [String] = []
                for (i, f) in fields.enumerated() {
                    let last = i == fields.count - 1
                    parts.append(
                        last && !rightAligned[i] ? f : DisplayWidth.pad(f, to: widths[i], rightAligned: rightAligned[i])
                    )
                }
                return parts.joined(separator: "  ")
            }
            out += line(header) + "\n"
            out += widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ") + "\n"
            for row in rows { out += line(row) + "\n" }
            let hidden = doc.signals.matches.count - rows.count
            if hidden > 0 {
                out +=
                    "… \(hidden) more \(hidden == 1 ? "match" : "matches") not shown; "
                    + "to see all: --format csv --output FILE (or --format json)\n"
            }
            out += "\n"
        } else {
            out += "No signals fired.\n\n"
        }
        if let study = doc.study { out += AnalysisText.study(study) }
        if let funnel = doc.funnel { out += AnalysisText.funnel(funnel) }
        if !doc.errors.isEmpty {
            let maxErrors = 10
            out += "Errors:\n"
            for e in doc.errors.prefix(maxErrors) { out += "  \(e.symbol): \(e.message)\n" }
            if doc.errors.count > maxErrors { out += "  … \(doc.errors.count - maxErrors) more\n" }
            out += "\n"
        }
        out += summary(doc) + "\n"
        return out
    }

    /// `90 symbols scanned · 12 with matches · 34 matches · 0 errors · 41 ms`, with a note when the
    /// scan was cancelled or failed.
    public static func summary(_ doc: ResultDocument) -> String {
        let s = doc.signals
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        var text = [
            "\(plural(s.totalSymbols, "symbol")) scanned", "\(s.symbolsWithMatches) with matches",
            plural(s.totalMatches, "match").replacingOccurrences(of: "matchs", with: "matches"),
            plural(doc.errorsCount, "error"), "\(NumberFormat.grouped(doc.processingTimeMs.rounded())) ms",
        ].joined(separator: " · ")
        if doc.status == "cancelled" { text += " — CANCELLED: partial result" }
        if doc.status == "failed" { text += " — FAILED" }
        return text
    }
}
