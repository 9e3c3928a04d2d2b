import Foundation
import ScanProtocol

/// Sessions as text: the `scan sessions list` table and the `scan sessions show` details.
public enum SessionTable {
    /// One line per session, newest first as given, columns aligned to their display width.
    public static func render(_ sessions: [SessionDocument]) -> String {
        if sessions.isEmpty { return "no sessions" }
        let header = ["SESSION", "STATUS", "PROGRESS", "MATCHES", "CREATED", "FORMULA"]
        let rows = sessions.map { s in
            [
                s.sessionId, s.status, progressText(s.progress), String(s.progress.matchesSoFar), s.createdAt,
                DisplayWidth.truncate(s.request.formula.name ?? "formula", to: 24),
            ]
        }
        return DisplayWidth.table(header, rows)
    }

    /// `completed/total` symbols (`completed/?` before the total is known).
    public static func progressText(_ p: ProgressDocument) -> String {
        p.total > 0 ? "\(p.completed)/\(p.total)" : "\(p.completed)/?"
    }

    /// One session, a field per line.
    public static func details(_ s: SessionDocument) -> String {
        let source = s.request.formula.source.replacingOccurrences(of: "\n", with: " ⏎ ")
        var lines = [
            "session   \(s.sessionId)",
            "status    \(s.status)",
            "progress  \(progressText(s.progress)) symbols, \(s.progress.matchesSoFar) matches",
            "formula   \(s.request.formula.name ?? "formula"): \(source)",
            "timeframe \(s.request.timeframe ?? "1d"), mode \(s.request.mode ?? "range")"
                + (s.request.dateRange.map { ", \($0.from) … \($0.to)" } ?? ""),
            "created   \(s.createdAt)",
        ]
        if let t = s.startedAt { lines.append("started   \(t)") }
        if let t = s.finishedAt { lines.append("finished  \(t)") }
        if let e = s.error { lines.append("error     \(e)") }
        return lines.joined(separator: "\n")
    }
}
