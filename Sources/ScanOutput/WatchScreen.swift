import Foundation
import ScanProtocol

/// The `scan watch` view: a full-screen text frame of a service's live nodes and running scans, or
/// one line per event when the output is not a terminal.
public enum WatchScreen {
    /// One frame: cursor home, every line cleared to its end, the rest of the screen cleared.
    /// - Parameters:
    ///   - sessions: the scans to show, in order.
    ///   - endpoint: the service's request endpoint (the title).
    ///   - ping: the last `PING` reply, `nil` before the first.
    ///   - pingError: why the last `PING` failed, if it did.
    ///   - watches: the service's live watches (shown with the bar feed's counters).
    public static func frame(
        sessions: [SessionDocument],
        endpoint: String,
        ping: PingReply?,
        pingError: String?,
        watches: [WatchDocument] = []
    ) -> String {
        var lines: [String] = []
        if let ping {
            let up = Int(ping.uptimeS)
            lines.append(
                "MarketScan \(endpoint) · up \(up / 3600)h\(up / 60 % 60)m\(up % 60)s · "
                    + "\(ping.sessionsRunning) running · \(ping.nodes.count) node(s)"
            )
        } else {
            lines.append("MarketScan \(endpoint) · waiting for the service…")
        }
        if let pingError { lines.append("  ! \(pingError)") }
        lines.append("")
        lines.append("NODES")
        if let nodes = ping?.nodes, !nodes.isEmpty {
            for n in nodes {
                lines.append(
                    "  \(n.name)  \(n.threads) threads  \(n.chunksDone) chunks done  seen \(n.lastSeenMsAgo) ms ago"
                )
            }
        } else {
            lines.append("  (none)")
        }
        lines.append("")
        lines.append("SCANS")
        if sessions.isEmpty { lines.append("  (none running)") }
        for s in sessions {
            let p = s.progress
            let name = s.request.formula.name ?? ""
            lines.append(
                "  \(s.sessionId.prefix(8))  \(bar(p, width: 30))  \(p.completed)/\(p.total)  "
                    + "\(p.matchesSoFar) matches  \(s.status)"
                    + (name.isEmpty ? "" : "  \(name)") + (s.error.map { "  \($0)" } ?? "")
            )
        }
        if let feed = ping?.feed {
            lines.append("")
            let refused = feed.refused.filter { $0.value > 0 }.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append(
                "WATCHES · feed: \(feed.barsFinal) final, \(feed.barsForming) forming bars"
                    + (refused.isEmpty ? "" : " · refused: \(refused)")
            )
            if watches.isEmpty { lines.append("  (none)") }
            for w in watches {
                lines.append(
                    "  \(w.watchId.prefix(8))  \(w.request.timeframe ?? "1d") \(w.request.confirm ?? "bar")  "
                        + "\(w.matchCount)/\(w.symbols) matching  seq \(w.seq)  \(w.request.formula.name ?? "")"
                )
            }
        }
        lines.append("")
        lines.append("Ctrl-C to quit")
        return "\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\u{1B}[J"
    }

    /// `2025-06-09T13:30:00.123Z scan.<id>.progress seq=3 running 120/500 matches=7`.
    public static func eventLine(_ e: EventDocument) -> String {
        var line = "\(e.time) \(e.topic) seq=\(e.seq) \(e.status) \(e.completed)/\(e.total) matches=\(e.matchesSoFar)"
        if let error = e.error { line += " error=\(error.replacingOccurrences(of: "\n", with: " "))" }
        return line
    }

    /// A progress bar of `width` cells.
    public static func bar(_ p: ProgressDocument, width: Int) -> String {
        let fraction = p.total > 0 ? min(1, Double(p.completed) / Double(p.total)) : 0
        let filled = Int((fraction * Double(width)).rounded(.down))
        return String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
    }

    /// Hides the cursor (before the first frame).
    public static let hideCursor = "\u{1B}[?25l"
    /// Shows the cursor again and ends the last frame's line.
    public static let showCursor = "\u{1B}[?25h\n"
}
