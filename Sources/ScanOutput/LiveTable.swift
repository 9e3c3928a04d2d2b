import Foundation
import ScanProtocol

/// Live watches as text: `scan live list`, `scan live show`, and the lines and table of `scan live follow`.
public enum LiveTable {
    /// One line per watch.
    public static func render(_ watches: [WatchDocument]) -> String {
        if watches.isEmpty { return "no watches" }
        let header = ["WATCH", "TF", "CONFIRM", "SYMBOLS", "MATCHES", "SEQ", "CREATED", "FORMULA"]
        let rows = watches.map { w in
            [
                w.watchId, w.request.timeframe ?? "1d", w.request.confirm ?? "bar", String(w.symbols),
                String(w.matchCount), String(w.seq), w.createdAt,
                DisplayWidth.truncate(w.request.formula.name ?? "formula", to: 24),
            ]
        }
        return DisplayWidth.table(header, rows)
    }

    /// A watch and its current set.
    public static func details(_ w: WatchDocument) -> String {
        let source = w.request.formula.source.replacingOccurrences(of: "\n", with: " ⏎ ")
        var lines = [
            "watch     \(w.watchId) (\(w.status))",
            "formula   \(w.request.formula.name ?? "formula"): \(source)",
            "timeframe \(w.request.timeframe ?? "1d"), confirm \(w.request.confirm ?? "bar"), \(w.symbols) symbols",
            "created   \(w.createdAt)",
            "seq       \(w.seq) (bars applied \(w.barsApplied))",
        ]
        for e in w.errors { lines.append("error     \(e.symbol): \(e.message)") }
        lines.append("")
        lines.append(set(w.matches ?? []))
        return lines.joined(separator: "\n")
    }

    /// The set as a table: symbol, signal, bar time, close, then the formula's columns.
    public static func set(_ entries: [WatchEntryDocument]) -> String {
        if entries.isEmpty { return "no symbol matches" }
        let columns = Array(Set(entries.flatMap(\.values.keys))).sorted()
        let header = ["SYMBOL", "SIGNAL", "BAR", "CLOSE"] + columns.map { $0.uppercased() }
        let rows = entries.map { e in
            [e.symbol, e.signal, e.timestamp + (e.forming ? " (forming)" : ""), grouped(e.close)]
                + columns.map { grouped(e.values[$0] ?? nil) }
        }
        return DisplayWidth.table(header, rows)
    }

    /// One line per event: `+ INDA above 2025-06-17T10:02:00-04:00 close 56.01 rsi14=61.2 [seq 7]`.
    public static func eventLine(_ e: LiveEventDocument) -> String {
        guard let symbol = e.symbol, let signal = e.signal else {
            return "watch \(e.watchId) \(e.event) [seq \(e.seq)]"
        }
        let mark = e.event == "enter" ? "+" : "-"
        let values = (e.values ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\(number($0.value))" }
        return
            ([
                mark, symbol, signal, (e.timestamp ?? "") + (e.forming == true ? " (forming)" : ""), "close",
                number(e.close),
            ] + values + ["[seq \(e.seq)]"]).joined(separator: " ")
    }

    static func grouped(_ x: Double?) -> String { x.map { NumberFormat.grouped($0) } ?? "-" }

    static func number(_ x: Double?) -> String {
        guard let x else { return "-" }
        return NumberFormat.plain(x)
    }
}

extension LiveTable {
    /// The terminal screen of `scan live follow`: the watch, the last event, the set (redrawn whole).
    public static func screen(_ w: WatchDocument, last: LiveEventDocument? = nil) -> String {
        var lines = [
            "\u{1B}[H\u{1B}[2J" + "watch \(w.watchId)  \(w.request.formula.name ?? "formula")  "
                + "\(w.request.timeframe ?? "1d") confirm \(w.request.confirm ?? "bar")  seq \(w.seq)  "
                + "\(w.matchCount) of \(w.symbols) symbols"
        ]
        if let last { lines.append(eventLine(last)) }
        lines.append("")
        lines.append(set(w.matches ?? []))
        return lines.joined(separator: "\n") + "\n"
    }
}
