import Foundation
import ScanProtocol
import TestSupport
import Testing

/// The HTML report of the demo's scan (`--study 1,5,20 --explain`), opened in a real headless browser
/// (Debian's `chromium`, installed by scripts/setup.sh): it loads without console messages, every chart
/// is laid out, the matches table sorted itself, and every number on the page equals `--format json`'s.
@Suite("HTML report in a browser", .timeLimit(.minutes(3)))
struct HTMLReportBrowserTests {
    static let formula = """
        input fast = 5
        input slow = 20
        signal golden = crossover(sma(close, fast), sma(close, slow)) and volume > 1.5 * sma(volume, 20)
        signal dead   = crossunder(sma(close, fast), sma(close, slow)) and volume > 1.5 * sma(volume, 20)
        column rsi14  = rsi(close, 14)
        """

    /// `chromium` (Debian) or `chromium-browser` on the PATH.
    static var chromium: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser"] {
                let candidate = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    /// Every `data-key="K" data-value="V"` of the page.
    static func values(in dom: String) -> [String: String] {
        var out: [String: String] = [:]
        let pattern = try? NSRegularExpression(pattern: #"data-key="([^"]*)" data-value="([^"]*)""#)
        let ns = dom as NSString
        for m in pattern?.matches(in: dom, range: NSRange(location: 0, length: ns.length)) ?? [] {
            out[ns.substring(with: m.range(at: 1)).replacingOccurrences(of: "&amp;", with: "&")] =
                ns.substring(with: m.range(at: 2))
        }
        return out
    }

    /// The figures the page must show, by key, from the JSON document.
    static func expected(_ doc: ResultDocument) -> [String: Double?] {
        var e: [String: Double?] = [
            "summary.total_symbols": Double(doc.signals.totalSymbols),
            "summary.symbols_with_matches": Double(doc.signals.symbolsWithMatches),
            "summary.total_matches": Double(doc.signals.totalMatches),
            "summary.errors_count": Double(doc.errorsCount),
        ]
        if let study = doc.study {
            for s in study.signals {
                for h in s.horizons {
                    let k = "study.\(s.signal).h\(h.horizon)"
                    e[k + ".events"] = Double(h.events.events)
                    e[k + ".incomplete"] = Double(h.events.incomplete)
                    e[k + ".mean"] = h.events.mean
                    e[k + ".median"] = h.events.median
                    e[k + ".std"] = h.events.std
                    e[k + ".hit_rate"] = h.events.hitRate
                    e[k + ".ci95_low"] = h.events.ciLow
                    e[k + ".ci95_high"] = h.events.ciHigh
                    e[k + ".excess_mean"] = h.excessMean
                }
                e["study.\(s.signal).mfe.mean"] = s.maxFavorable.mean
                e["study.\(s.signal).mae.mean"] = s.maxAdverse.mean
            }
            for b in study.baseline.horizons {
                e["baseline.h\(b.horizon).mean"] = b.returns.mean
                e["baseline.h\(b.horizon).hit_rate"] = b.returns.hitRate
            }
            e["baseline.mfe.mean"] = study.baseline.maxFavorable.mean
            e["baseline.mae.mean"] = study.baseline.maxAdverse.mean
        }
        for s in doc.funnel?.signals ?? [] {
            for (k, c) in s.clauses.enumerated() {
                let key = "funnel.\(s.signal).c\(k)"
                e[key + ".bars"] = Double(c.bars)
                e[key + ".symbols"] = Double(c.symbols)
                e[key + ".surviving_bars"] = Double(c.survivingBars)
                e[key + ".surviving_symbols"] = Double(c.survivingSymbols)
            }
        }
        let horizons = doc.study?.horizons ?? []
        for (i, m) in doc.signals.matches.enumerated() {
            e["match.\(i).close"] = m.close
            for (c, v) in m.values { e["match.\(i).\(c)"] = v }
            guard let f = m.forward else { continue }
            for (k, h) in horizons.enumerated() { e["match.\(i).r\(h)"] = f.returns[k] }
            e["match.\(i).mfe"] = f.maxFavorable
            e["match.\(i).mae"] = f.maxAdverse
        }
        return e
    }

    @Test func theDemoReportLoadsDrawsEveryChartAndShowsTheJSONNumbers() async throws {
        let browser = try #require(
            Self.chromium,
            "a headless browser is needed: apt-get install chromium (scripts/setup.sh installs it)"
        )
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("html-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("m.sqlite").path
        let html = dir.appendingPathComponent("report.html").path
        #expect(try await ScanBinary.run(["data", "sample", "--db", db]).status == 0)
        let scan = [
            "run", "--local", "--db", db, "--name", "demo", "--formula", Self.formula, "--from", "2021-09-20",
            "--to", "2022-09-19", "--study", "1,5,20", "--explain",
        ]
        let written = try await ScanBinary.run(scan + ["--format", "html", "--output", html])
        #expect(written.status == 0, "\(written.stderr)")
        let json = try await ScanBinary.run(scan + ["--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let doc = try ResultDocument.decode(Data(json.stdout.utf8))
        #expect(doc.signals.totalMatches > 50)

        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(!page.contains("http://") || !page.contains("src=\"http"), "no network fetches")
        #expect(!page.contains("<link") && !page.contains("src=\""), "everything inline")

        let profile = dir.appendingPathComponent("profile").path
        let browsed = try await runChild(
            URL(fileURLWithPath: browser),
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)",
                "--enable-logging=stderr", "--v=0", "--dump-dom", URL(fileURLWithPath: html).absoluteString,
            ],
            seconds: 90
        )
        let (status, dom, log) = (browsed.status, browsed.stdout, browsed.stderr)
        #expect(status == 0, "chromium exited \(status): \(log.suffix(2000))")
        let console = log.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        #expect(console.isEmpty, "console messages: \(console)")

        // Charts: 2 study + 2 funnel + the top symbols' price charts; each laid out with content.
        let charts = dom.components(separatedBy: "<svg class=\"chart\"").count - 1
        let drawn = dom.components(separatedBy: "data-drawn=\"1\"").count - 1
        #expect(charts >= 5)
        #expect(drawn == charts, "\(drawn) of \(charts) charts drawn")
        #expect(dom.contains("data-charts=\"\(charts)\""), "the page's script ran to its end")
        #expect(dom.contains("class=\"asc\""), "the matches table sorted itself by date")

        let shown = Self.values(in: dom)
        let expected = Self.expected(doc)
        var missing: [String] = []
        var wrong: [String] = []
        for (key, value) in expected {
            guard let text = shown[key] else {
                missing.append(key)
                continue
            }
            let got = text.isEmpty ? nil : Double(text)
            if got != value { wrong.append("\(key): page \(text), json \(String(describing: value))") }
        }
        #expect(missing.isEmpty, "not on the page: \(missing.sorted().prefix(10))")
        #expect(wrong.isEmpty, "differ: \(wrong.sorted().prefix(10))")
        #expect(expected.count > 500)
    }
}
