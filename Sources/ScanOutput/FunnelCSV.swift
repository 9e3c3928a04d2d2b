import ScanCore
import ScanProtocol

/// A file a CSV output consists of besides the matches: the condition funnel, its near misses.
public struct CompanionFile: Sendable, Hashable {
    /// Where it goes: beside the matches' file (see ``FunnelCSV/companionPath(of:kind:)``).
    public var path: String
    /// The whole CSV text, ending in a newline.
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

/// The condition funnel in CSV (`scan run --explain --format csv --output FILE`).
///
/// A CSV file holds one table, so the funnel is not mixed into the matches' rows: beside `FILE`
/// (`matches.csv`) go `matches.funnel.csv`, one row per clause of each signal, and
/// `matches.near-misses.csv`, one row per near miss (only a header outside `latest` mode). Both use
/// the matches' conventions (RFC 4180, `\n` line ends, plain numbers, an undefined value empty), and
/// their numbers are the JSON result's `funnel` field for field.
public enum FunnelCSV {
    /// The funnel's header: `clause_index` counts from 0 in the order written, like JSON's near misses.
    public static let funnelHeader = [
        "signal", "clause_index", "clause", "bars", "symbols", "surviving_bars", "surviving_symbols", "conjunction",
    ]
    /// The near misses' header; `left` and `right` are a comparison clause's operands on that bar.
    public static let nearMissHeader = [
        "symbol", "name", "timestamp", "signal", "clause_index", "clause", "left", "right",
    ]

    /// One row per clause of each signal, signals in the formula's order, clauses in the order written.
    public static func funnel(_ f: FunnelReport) -> String {
        var rows = [funnelHeader]
        for s in f.signals {
            for (k, c) in s.clauses.enumerated() {
                rows.append([
                    s.signal, String(k), c.clause, String(c.bars), String(c.symbols), String(c.survivingBars),
                    String(c.survivingSymbols), s.conjunction ? "true" : "false",
                ])
            }
        }
        return lines(rows)
    }

    /// One row per near miss, in the result's order (signal, then symbol); `names` gives the symbols' names.
    public static func nearMisses(_ f: FunnelReport, names: [String: String] = [:]) -> String {
        var rows = [nearMissHeader]
        for m in f.nearMisses {
            rows.append([
                m.symbol, names[m.symbol] ?? "", m.timestamp, m.signal, String(m.clauseIndex), m.clause,
                m.left.map(NumberFormat.plain) ?? "", m.right.map(NumberFormat.plain) ?? "",
            ])
        }
        return lines(rows)
    }

    /// The files beside `output` that a CSV output of `doc` needs: none without a funnel, else the
    /// funnel and the near misses.
    public static func companions(
        _ doc: ResultDocument,
        output: String,
        context: OutputContext = OutputContext()
    ) -> [CompanionFile] {
        guard let f = doc.funnel else { return [] }
        return [
            CompanionFile(path: companionPath(of: output, kind: "funnel"), text: funnel(f)),
            CompanionFile(
                path: companionPath(of: output, kind: "near-misses"),
                text: nearMisses(f, names: context.names)
            ),
        ]
    }

    /// `matches.csv` → `matches.<kind>.csv`; a path not ending in `.csv` gets `.<kind>.csv` appended.
    public static func companionPath(of output: String, kind: String) -> String {
        let base = output.lowercased().hasSuffix(".csv") ? String(output.dropLast(4)) : output
        return "\(base).\(kind).csv"
    }

    private static func lines(_ rows: [[String]]) -> String {
        rows.map(ResultRenderer.csvRow).joined()
    }
}
