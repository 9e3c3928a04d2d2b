import ScanCore
import ScanProtocol

/// The event study and the condition funnel as aligned text, for `--format table`.
enum AnalysisText {
    static func study(_ s: StudyReport) -> String {
        var out =
            "What happened next (entry at \(s.entry == .close ? "the signal bar's close" : "the next bar's open")):\n"
        let header = [
            "SIGNAL", "BARS", "EVENTS", "INCOMPLETE", "MEAN", "MEDIAN", "HIT RATE", "95% CI", "BASELINE", "EXCESS",
        ]
        var rows: [[String]] = []
        for sig in s.signals {
            for (k, h) in sig.horizons.enumerated() {
                let e = h.events
                let base = k < s.baseline.horizons.count ? s.baseline.horizons[k].returns.mean : nil
                rows.append([
                    sig.signal, String(h.horizon), NumberFormat.thousands(e.events),
                    NumberFormat.thousands(e.incomplete),
                    pct(e.mean), pct(e.median), e.hitRate.map(SVGChart.share) ?? "-",
                    "\(pct(e.ciLow)) … \(pct(e.ciHigh))", pct(base),
                    pct(h.excessMean),
                ])
            }
        }
        out += aligned(header, rows, leftColumns: 1)
        for w in s.warnings { out += "  ! \(w)\n" }
        return out + "\n"
    }

    static func funnel(_ f: FunnelReport) -> String {
        var out = "Condition funnel:\n"
        let header = ["SIGNAL", "#", "CLAUSE", "BARS", "SYMBOLS", "SURVIVING BARS", "SURVIVING SYMBOLS"]
        var rows: [[String]] = []
        for s in f.signals {
            for (k, c) in s.clauses.enumerated() {
                rows.append([
                    s.signal, String(k + 1), DisplayWidth.truncate(c.clause, to: 48), NumberFormat.thousands(c.bars),
                    NumberFormat.thousands(c.symbols), NumberFormat.thousands(c.survivingBars),
                    NumberFormat.thousands(c.survivingSymbols),
                ])
            }
        }
        out += aligned(header, rows, leftColumns: 3)
        for s in f.signals { if let note = s.note { out += "  ! \(s.signal): \(note)\n" } }
        if !f.nearMisses.isEmpty {
            out += "Near misses (every clause but one held on the last bar):\n"
            for m in f.nearMisses.prefix(20) {
                var line = "  \(m.symbol) \(m.timestamp) \(m.signal): failed \(m.clause)"
                if let l = m.left, let r = m.right {
                    line += " (\(NumberFormat.grouped(l)) vs \(NumberFormat.grouped(r)))"
                }
                out += line + "\n"
            }
            if f.nearMisses.count > 20 { out += "  … \(f.nearMisses.count - 20) more (--format json)\n" }
        }
        return out + "\n"
    }

    static func pct(_ x: Double?) -> String { x.map { SVGChart.percent($0) } ?? "-" }

    /// Columns padded to their widest field; the first `leftColumns` left-aligned, the rest right-aligned.
    static func aligned(_ header: [String], _ rows: [[String]], leftColumns: Int) -> String {
        var widths = header.map { DisplayWidth.of($0) }
        for r in rows {
            for (i, f) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], DisplayWidth.of(f)) }
        }
        func line(_ fields: [String]) -> String {
            fields.enumerated().map { i, f in DisplayWidth.pad(f, to: widths[i], rightAligned: i >= leftColumns) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).map { "  " + $0 }.joined(separator: "\n") + "\n"
    }
}
