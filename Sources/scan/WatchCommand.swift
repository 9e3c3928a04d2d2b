import ArgumentParser
import Foundation
import ScanClient
import ScanCore
import ScanProtocol

/// `scan watch`: a live view of a scan-service — every running scan's progress bar and the live
/// engine nodes — redrawn four times a second until Ctrl-C. When stdout is not a terminal it prints
/// one line per event instead (`--count N` stops after N events).
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch every running scan's progress and the live engine nodes of a scan-service."
    )

    @OptionGroup var client: ClientOptions

    @Option(name: .long, help: "The service's events endpoint (default: the --endpoint port + 1).")
    var events: String?

    @Option(name: .long, help: "Stop after this many events (scripts; mostly with piped output).")
    var count: Int?

    func validate() throws {
        if let events, !events.hasPrefix("tcp://") {
            throw ValidationError("--events '\(events)': expected tcp://HOST:PORT")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        let c = try await ScanClient.connect(try client.configuration(events: events))
        let subscription: EventSubscription
        do {
            subscription = try await c.subscribe()
        } catch {
            await c.close()
            RunCommand.printError("Error: \(error)")
            throw ExitCode.failure
        }
        let view = WatchView(client: c, subscription: subscription, live: isatty(1) == 1, maxEvents: count)
        await view.run()
        await subscription.close()
        await c.close()
    }
}

/// The watch loop: one stream of updates (events, PING and LIST_SESSIONS replies, redraw ticks,
/// Ctrl-C) folded into the state that is drawn.
struct WatchView {
    let client: ScanClient
    let subscription: EventSubscription
    /// Redraw a full-screen view (a terminal) or print event lines.
    let live: Bool
    let maxEvents: Int?

    enum Update: Sendable {
        case event(EventDocument)
        case session(SessionDocument)
        case sessions([SessionDocument])
        case ping(PingReply?, String?)
        case redraw
        case interrupt
    }

    struct Row {
        var session: SessionDocument
        var lastSeq: Int
        var finished: ContinuousClock.Instant?
    }

    func run() async {
        let (updates, sink) = AsyncStream.makeStream(of: Update.self, bufferingPolicy: .unbounded)
        let client = self.client
        let events = subscription.events
        var tasks: [Task<Void, Never>] = []
        tasks.append(
            Task {
                do {
                    for try await e in events { sink.yield(.event(e)) }
                } catch {}
                sink.yield(.interrupt)
            }
        )
        if live {
            tasks.append(
                Task {
                    if let running = try? await client.listSessions(status: .running) { sink.yield(.sessions(running)) }
                    while !Task.isCancelled {
                        do {
                            sink.yield(.ping(try await client.ping(timeout: .seconds(2)), nil))
                        } catch {
                            sink.yield(.ping(nil, "\(error)"))
                        }
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            )
            tasks.append(
                Task {
                    while !Task.isCancelled {
                        sink.yield(.redraw)
                        try? await Task.sleep(for: .milliseconds(250))
                    }
                }
            )
        }
        let interrupts = InterruptWatcher { sink.yield(.interrupt) }
        defer {
            interrupts.stop()
            for t in tasks { t.cancel() }
            sink.finish()
        }

        var rows: [String: Row] = [:]
        var order: [String] = []
        var ping: PingReply?
        var pingError: String?
        var seen = 0
        if live { Self.out("\u{1B}[?25l") }
        defer { if live { Self.out("\u{1B}[?25h\n") } }

        for await update in updates {
            switch update {
            case .event(let e):
                seen += 1
                if !live {
                    Self.out(Self.eventLine(e) + "\n")
                } else {
                    var row = rows[e.sessionId] ?? Row(session: Self.placeholder(e), lastSeq: 0)
                    if rows[e.sessionId] == nil { order.append(e.sessionId) }
                    if e.seq != row.lastSeq + 1 {
                        let id = e.sessionId
                        Task { if let s = try? await client.session(id) { sink.yield(.session(s)) } }
                    }
                    row.lastSeq = e.seq
                    row.session.status = e.status
                    row.session.progress = ProgressDocument(
                        completed: e.completed,
                        total: e.total,
                        matchesSoFar: e.matchesSoFar
                    )
                    row.session.error = e.error
                    if ScanStatus(rawValue: e.status)?.isFinal == true, row.finished == nil { row.finished = .now }
                    rows[e.sessionId] = row
                }
                if let maxEvents, seen >= maxEvents { return }
            case .session(let s):
                merge(s, into: &rows, order: &order)
            case .sessions(let list):
                for s in list { merge(s, into: &rows, order: &order) }
            case .ping(let reply, let error):
                ping = reply ?? ping
                pingError = error
                if reply != nil { ping = reply }
            case .redraw:
                let now = ContinuousClock.now
                order.removeAll { id in
                    guard let f = rows[id]?.finished, now - f > .seconds(10) else { return false }
                    rows[id] = nil
                    return true
                }
                Self.out(render(order.compactMap { rows[$0] }, ping: ping, pingError: pingError))
            case .interrupt:
                return
            }
        }
    }

    private func merge(_ s: SessionDocument, into rows: inout [String: Row], order: inout [String]) {
        if rows[s.sessionId] == nil { order.append(s.sessionId) }
        var row = rows[s.sessionId] ?? Row(session: s, lastSeq: 0)
        row.session = s
        if s.scanStatus?.isFinal == true, row.finished == nil { row.finished = .now }
        rows[s.sessionId] = row
    }

    static func placeholder(_ e: EventDocument) -> SessionDocument {
        SessionDocument(
            sessionId: e.sessionId,
            status: e.status,
            progress: ProgressDocument(completed: e.completed, total: e.total, matchesSoFar: e.matchesSoFar),
            request: ScanRequestDocument(formula: FormulaDocument(name: nil, source: "")),
            createdAt: e.time
        )
    }

    /// `2025-06-09T13:30:00.123Z scan.<id>.progress seq=3 running 120/500 matches=7`.
    static func eventLine(_ e: EventDocument) -> String {
        var line = "\(e.time) \(e.topic) seq=\(e.seq) \(e.status) \(e.completed)/\(e.total) matches=\(e.matchesSoFar)"
        if let error = e.error { line += " error=\(error.replacingOccurrences(of: "\n", with: " "))" }
        return line
    }

    func render(_ rows: [Row], ping: PingReply?, pingError: String?) -> String {
        var lines: [String] = []
        let endpoint = client.configuration.endpoint
        if let ping {
            let up = Int(ping.uptimeS)
            lines.append(
                "MarketScan \(endpoint) · up \(up / 3600)h\(up / 60 % 60)m\(up % 60)s · \(ping.sessionsRunning) running · \(ping.nodes.count) node(s)"
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
        if rows.isEmpty { lines.append("  (none running)") }
        for row in rows {
            let s = row.session
            let p = s.progress
            let name = s.request.formula.name ?? ""
            lines.append(
                "  \(s.sessionId.prefix(8))  \(Self.bar(p, width: 30))  \(p.completed)/\(p.total)  \(p.matchesSoFar) matches  \(s.status)"
                    + (name.isEmpty ? "" : "  \(name)") + (s.error.map { "  \($0)" } ?? "")
            )
        }
        lines.append("")
        lines.append("Ctrl-C to quit")
        return "\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\u{1B}[J"
    }

    static func bar(_ p: ProgressDocument, width: Int) -> String {
        let fraction = p.total > 0 ? min(1, Double(p.completed) / Double(p.total)) : 0
        let filled = Int((fraction * Double(width)).rounded(.down))
        return String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
    }

    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
