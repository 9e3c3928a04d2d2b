import ScanCore
import ScanProtocol

/// `scan run --format html`: one self-contained HTML file (inline CSS, SVG and a few lines of script;
/// no network fetch, works offline) a trader opens in any browser.
///
/// Sections: the scan (formula, universe, dates, timings), the summary, the event study (a chart of
/// mean forward return by horizon per signal with its 95 % band against the baseline, and its table),
/// the condition funnel (a chart per signal, near misses), price charts of the top symbols with the
/// signal bars marked, and the matches table (sortable by any column).
///
/// Every number shown carries its exact value in `data-value` (and a stable `data-key`, e.g.
/// `study.golden.h5.mean`), so a test can check the page against `--format json`.
public enum HTMLReport {
    /// At most this many matches are listed in the table (all of them are in `--format json`/`csv`).
    public static let maxTableRows = 2000

    public static func render(_ doc: ResultDocument, inputs: ReportInputs) -> String {
        var page = Page()
        page.header(doc, inputs)
        page.summary(doc)
        if let study = doc.study { page.study(study) }
        if let funnel = doc.funnel { page.funnel(funnel) }
        page.prices(doc, inputs)
        page.matches(doc, inputs)
        return page.finish(title: "MarketScan — \(inputs.formula.name)")
    }
}

/// The HTML being written.
private struct Page {
    var body = ""

    /// A number with its exact value and key; `text` is what people read.
    func number(_ x: Double?, key: String, text: String) -> String {
        let v = x.map(NumberFormat.plain) ?? ""
        return
            "<span class=\"num\" data-key=\"\(SVGChart.escape(key))\" data-value=\"\(v)\">\(SVGChart.escape(text))</span>"
    }

    func count(_ n: Int, key: String) -> String { number(Double(n), key: key, text: NumberFormat.thousands(n)) }

    func pct(_ x: Double?, key: String) -> String {
        number(x, key: key, text: x.map { SVGChart.percent($0) } ?? "–")
    }

    func share(_ x: Double?, key: String) -> String {
        number(x, key: key, text: x.map { SVGChart.share($0) } ?? "–")
    }

    mutating func header(_ doc: ResultDocument, _ inputs: ReportInputs) {
        let range = inputs.dateRange.map { "\($0.from) … \($0.to)" } ?? "the last year of data"
        body += "<header><h1>\(SVGChart.escape(inputs.formula.name))</h1>"
        body += "<p class=\"sub\">MarketScan scan report · \(SVGChart.escape(doc.status))</p></header>"
        body += "<section class=\"card\"><h2>The scan</h2><dl class=\"facts\">"
        body += "<dt>Universe</dt><dd>\(SVGChart.escape(inputs.universe))</dd>"
        body += "<dt>Timeframe</dt><dd>\(inputs.timeframe.rawValue)</dd>"
        body += "<dt>Dates</dt><dd>\(SVGChart.escape(range))</dd>"
        body += "<dt>Mode</dt><dd>\(inputs.mode.rawValue)</dd>"
        body +=
            "<dt>Processing time</dt><dd>\(number(doc.processingTimeMs, key: "processing_time_ms", text: NumberFormat.grouped(doc.processingTimeMs) + " ms"))</dd>"
        if let s = doc.study {
            body +=
                "<dt>Study</dt><dd>horizons \(s.horizons.map(String.init).joined(separator: ", ")) bars · entry at \(s.entry == .close ? "the signal bar's close" : "the next bar's open")</dd>"
        }
        body += "</dl><pre class=\"formula\">\(SVGChart.escape(inputs.formula.source))</pre></section>"
    }

    mutating func summary(_ doc: ResultDocument) {
        let s = doc.signals
        body += "<section class=\"card\"><h2>Summary</h2><div class=\"tiles\">"
        for (label, n, key) in [
            ("symbols scanned", s.totalSymbols, "summary.total_symbols"),
            ("symbols with matches", s.symbolsWithMatches, "summary.symbols_with_matches"),
            ("matches", s.totalMatches, "summary.total_matches"),
            ("errors", doc.errorsCount, "summary.errors_count"),
        ] {
            body += "<div class=\"tile\"><div class=\"big\">\(count(n, key: key))</div><div>\(label)</div></div>"
        }
        body += "</div>"
        if !doc.statistics.bySignalType.isEmpty {
            body += "<p>By signal: "
            body += doc.statistics.bySignalType.keys.sorted().map { k in
                "<b>\(SVGChart.escape(k))</b> \(count(doc.statistics.bySignalType[k] ?? 0, key: "summary.signal.\(k)"))"
            }.joined(separator: " · ")
            body += "</p>"
        }
        if !doc.errors.isEmpty {
            body += "<details><summary>\(doc.errors.count) symbol(s) could not be scanned</summary><ul>"
            for e in doc.errors { body += "<li>\(SVGChart.escape(e.symbol)): \(SVGChart.escape(e.message))</li>" }
            body += "</ul></details>"
        }
        body += "</section>"
    }

    mutating func study(_ study: StudyReport) {
        body += "<section class=\"card\"><h2>What happened next</h2>"
        body +=
            "<p class=\"note\">Mean forward return after each signal, with its 95 % confidence band, against the baseline: every bar of the same symbols over the same dates taken as an entry (what a random entry earned).</p>"
        for w in study.warnings { body += "<p class=\"warning\">⚠ \(SVGChart.escape(w))</p>" }
        let base = study.baseline
        for (n, s) in study.signals.enumerated() {
            body += "<h3>\(SVGChart.escape(s.signal))</h3><div class=\"chart-box\">"
            body += SVGChart.study(
                horizons: study.horizons,
                series: [
                    .init(
                        label: s.signal,
                        cssClass: "s\(n % 4)",
                        values: s.horizons.map(\.events.mean),
                        low: s.horizons.map(\.events.ciLow),
                        high: s.horizons.map(\.events.ciHigh),
                        dashed: false
                    ),
                    .init(
                        label: "baseline",
                        cssClass: "base",
                        values: base.horizons.map(\.returns.mean),
                        low: base.horizons.map(\.returns.ciLow),
                        high: base.horizons.map(\.returns.ciHigh),
                        dashed: true
                    ),
                ],
                title: "\(s.signal): mean forward return by horizon"
            )
            body += "</div>"
            body +=
                "<table class=\"stats\"><thead><tr><th>horizon</th><th>events</th><th>incomplete</th><th>mean</th><th>median</th><th>std</th><th>hit rate</th><th>95 % CI</th><th>baseline mean</th><th>baseline hit rate</th><th>excess</th></tr></thead><tbody>"
            for (k, h) in s.horizons.enumerated() {
                let key = "study.\(s.signal).h\(h.horizon)"
                let e = h.events
                let b = k < base.horizons.count ? base.horizons[k].returns : SampleStats(events: 0, incomplete: 0)
                body +=
                    "<tr><td>\(h.horizon) bar\(h.horizon == 1 ? "" : "s")</td><td>\(count(e.events, key: key + ".events"))</td>"
                body += "<td>\(count(e.incomplete, key: key + ".incomplete"))</td>"
                body += "<td>\(pct(e.mean, key: key + ".mean"))</td><td>\(pct(e.median, key: key + ".median"))</td>"
                body +=
                    "<td>\(share(e.std, key: key + ".std"))</td><td>\(share(e.hitRate, key: key + ".hit_rate"))</td>"
                body += "<td>\(pct(e.ciLow, key: key + ".ci95_low")) … \(pct(e.ciHigh, key: key + ".ci95_high"))</td>"
                body += "<td>\(pct(b.mean, key: "baseline.h\(h.horizon).mean"))</td>"
                body += "<td>\(share(b.hitRate, key: "baseline.h\(h.horizon).hit_rate"))</td>"
                let cls = (h.excessMean ?? 0) >= 0 ? "pos" : "neg"
                body += "<td class=\"\(cls)\">\(pct(h.excessMean, key: key + ".excess_mean"))</td></tr>"
            }
            body += "</tbody></table>"
            body += "<p class=\"note\">Over the longest horizon: maximum favourable excursion "
            body += "\(pct(s.maxFavorable.mean, key: "study.\(s.signal).mfe.mean")) on average "
            body += "(baseline \(pct(base.maxFavorable.mean, key: "baseline.mfe.mean"))), maximum adverse excursion "
            body += "\(pct(s.maxAdverse.mean, key: "study.\(s.signal).mae.mean")) "
            body += "(baseline \(pct(base.maxAdverse.mean, key: "baseline.mae.mean"))).</p>"
        }
        body += "</section>"
    }

    mutating func funnel(_ funnel: FunnelReport) {
        body += "<section class=\"card\"><h2>Condition funnel</h2>"
        body +=
            "<p class=\"note\">How many bars pass each clause alone, and how many survive the clauses in the order written.</p>"
        for s in funnel.signals {
            body += "<h3>\(SVGChart.escape(s.signal))</h3>"
            if let note = s.note { body += "<p class=\"warning\">\(SVGChart.escape(note))</p>" }
            body += "<div class=\"chart-box\">"
            body += SVGChart.funnel(
                clauses: s.clauses.map { ($0.clause, $0.bars, $0.survivingBars) },
                title: "\(s.signal): bars per clause"
            )
            body += "</div>"
            body +=
                "<table class=\"stats\"><thead><tr><th>#</th><th>clause</th><th>bars</th><th>symbols</th><th>surviving bars</th><th>surviving symbols</th></tr></thead><tbody>"
            for (k, c) in s.clauses.enumerated() {
                let key = "funnel.\(s.signal).c\(k)"
                body += "<tr><td>\(k + 1)</td><td class=\"left\"><code>\(SVGChart.escape(c.clause))</code></td>"
                body +=
                    "<td>\(count(c.bars, key: key + ".bars"))</td><td>\(count(c.symbols, key: key + ".symbols"))</td>"
                body += "<td>\(count(c.survivingBars, key: key + ".surviving_bars"))</td>"
                body += "<td>\(count(c.survivingSymbols, key: key + ".surviving_symbols"))</td></tr>"
            }
            body += "</tbody></table>"
        }
        if !funnel.nearMisses.isEmpty {
            body += "<h3>Near misses</h3><p class=\"note\">Every clause but one held on the symbol's last bar.</p>"
            body +=
                "<table class=\"stats\"><thead><tr><th>symbol</th><th>date</th><th>signal</th><th>failed clause</th><th>left</th><th>right</th></tr></thead><tbody>"
            for (i, m) in funnel.nearMisses.enumerated() {
                body += "<tr><td>\(SVGChart.escape(m.symbol))</td><td>\(SVGChart.escape(m.timestamp))</td>"
                body +=
                    "<td>\(SVGChart.escape(m.signal))</td><td class=\"left\"><code>\(SVGChart.escape(m.clause))</code></td>"
                body +=
                    "<td>\(number(m.left, key: "near.\(i).left", text: m.left.map { NumberFormat.grouped($0) } ?? "–"))</td>"
                body +=
                    "<td>\(number(m.right, key: "near.\(i).right", text: m.right.map { NumberFormat.grouped($0) } ?? "–"))</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "</section>"
    }

    mutating func prices(_ doc: ResultDocument, _ inputs: ReportInputs) {
        let top = ReportInputs.chartedSymbols(doc)
        guard !top.isEmpty else { return }
        body += "<section class=\"card\"><h2>Top symbols</h2>"
        let charted = top.filter { inputs.prices[$0] != nil }
        if charted.isEmpty {
            body += "<p class=\"note\">\(SVGChart.escape(inputs.pricesNote ?? "no price history available"))</p>"
        }
        let signals = Self.signalOrder(doc)
        body += "<div class=\"grid\">"
        for symbol in charted {
            guard let p = inputs.prices[symbol] else { continue }
            let index = Dictionary(p.timestamps.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            let mine = doc.signals.matches.filter { $0.symbol == symbol }
            let marks = mine.compactMap { m -> (Int, String)? in
                guard let i = index[m.timestamp] else { return nil }
                return (i, "s\((signals.firstIndex(of: m.signal) ?? 0) % 4)")
            }
            let name = inputs.names[symbol].map { " \($0)" } ?? ""
            body += "<div class=\"chart-box small\">"
            body += SVGChart.price(
                closes: p.closes,
                first: p.timestamps.first ?? "",
                last: p.timestamps.last ?? "",
                marks: marks,
                title: "\(symbol)\(name) · \(mine.count) signal\(mine.count == 1 ? "" : "s")"
            )
            body += "</div>"
        }
        body += "</div>"
        if signals.count > 1 {
            body += "<p class=\"note\">"
            body += signals.enumerated().map { n, s in
                "<span class=\"key s\(n % 4)\">●</span> \(SVGChart.escape(s))"
            }.joined(separator: " &nbsp; ")
            body += "</p>"
        }
        body += "</section>"
    }

    /// Signals in the formula's order where the result knows it (study, funnel), else sorted: the
    /// colour of signal `n` is `s\(n % 4)` everywhere.
    static func signalOrder(_ doc: ResultDocument) -> [String] {
        var order = doc.study?.signals.map(\.signal) ?? doc.funnel?.signals.map(\.signal) ?? []
        for s in Set(doc.signals.matches.map(\.signal)).sorted() where !order.contains(s) { order.append(s) }
        return order
    }

    mutating func matches(_ doc: ResultDocument, _ inputs: ReportInputs) {
        let all = doc.signals.matches
        guard !all.isEmpty else { return }
        let columns = inputs.columns ?? Set(all.flatMap { $0.values.keys }).sorted()
        let horizons = doc.study?.horizons ?? []
        body += "<section class=\"card\"><h2>Matches</h2>"
        if all.count > HTMLReport.maxTableRows {
            body +=
                "<p class=\"note\">The first \(NumberFormat.thousands(HTMLReport.maxTableRows)) of \(NumberFormat.thousands(all.count)) matches; every one is in <code>--format json</code> or <code>--format csv</code>.</p>"
        }
        body += "<p class=\"note\">Click a column header to sort.</p>"
        body += "<div class=\"scroll\"><table id=\"matches\" class=\"matches\"><thead><tr>"
        var heads = ["symbol", "name", "date", "signal", "close"] + columns
        heads += horizons.map { "\($0) bar\($0 == 1 ? "" : "s")" }
        if !horizons.isEmpty { heads += ["max favourable", "max adverse"] }
        for (i, h) in heads.enumerated() {
            let numeric = i >= 4
            body += "<th data-col=\"\(i)\" data-type=\"\(numeric ? "num" : "text")\">\(SVGChart.escape(h))</th>"
        }
        body += "</tr></thead><tbody>"
        for (i, m) in all.prefix(HTMLReport.maxTableRows).enumerated() {
            let key = "match.\(i)"
            body += "<tr><td>\(SVGChart.escape(m.symbol))</td><td>\(SVGChart.escape(inputs.names[m.symbol] ?? ""))</td>"
            body += "<td>\(SVGChart.escape(m.timestamp))</td><td>\(SVGChart.escape(m.signal))</td>"
            body +=
                "<td>\(number(m.close, key: key + ".close", text: m.close.map { NumberFormat.grouped($0) } ?? "–"))</td>"
            for c in columns {
                let v = m.values[c] ?? nil
                body += "<td>\(number(v, key: key + ".\(c)", text: v.map { NumberFormat.grouped($0) } ?? "–"))</td>"
            }
            if let f = m.forward {
                for (k, h) in horizons.enumerated() {
                    let r = k < f.returns.count ? f.returns[k] : nil
                    body += "<td class=\"\((r ?? 0) >= 0 ? "pos" : "neg")\">\(pct(r, key: key + ".r\(h)"))</td>"
                }
                body +=
                    "<td>\(pct(f.maxFavorable, key: key + ".mfe"))</td><td>\(pct(f.maxAdverse, key: key + ".mae"))</td>"
            } else if !horizons.isEmpty {
                body += String(repeating: "<td>–</td>", count: horizons.count + 2)
            }
            body += "</tr>"
        }
        body += "</tbody></table></div></section>"
    }

    func finish(title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(SVGChart.escape(title))</title>
        <style>\(Self.css)</style></head>
        <body><main>\(body)</main>
        <footer>Written by MarketScan · self-contained: no network access needed</footer>
        <script>\(Self.script)</script></body></html>

        """
    }

    static let css = """
        :root{--ink:#1d2433;--muted:#667085;--line:#e4e7ec;--bg:#f5f7fa;--card:#fff;--s0:#2563eb;--s1:#d9480f;\
        --s2:#0f9d58;--s3:#8e44ad;--base:#667085;--pos:#0f7b3f;--neg:#b42318}
        *{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);\
        font:15px/1.45 -apple-system,"Segoe UI",Roboto,"Noto Sans KR","Malgun Gothic","Apple SD Gothic Neo","NanumGothic",\
        "Noto Sans",Helvetica,Arial,sans-serif}
        main{max-width:1100px;margin:0 auto;padding:24px 20px 8px}header h1{margin:0;font-size:28px}
        .sub{margin:2px 0 16px;color:var(--muted)}h2{margin:0 0 12px;font-size:19px}h3{margin:18px 0 6px;font-size:16px}
        .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:0 0 18px;\
        box-shadow:0 1px 2px rgba(16,24,40,.05)}
        .facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0 0 12px}.facts dt{color:var(--muted)}
        .facts dd{margin:0}.formula{background:#0f172a;color:#e2e8f0;padding:12px 14px;border-radius:8px;overflow:auto;\
        font:13px/1.5 ui-monospace,Menlo,Consolas,monospace;margin:0}
        .tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:12px}.tile{background:var(--bg);border-radius:8px;\
        padding:10px 14px;color:var(--muted)}.tile .big{font-size:26px;font-weight:650;color:var(--ink)}
        .note{color:var(--muted);font-size:13.5px}.warning{background:#fff7e6;border:1px solid #ffd591;border-radius:6px;\
        padding:6px 10px;font-size:13.5px}
        table{border-collapse:collapse;width:100%;font-size:13.5px}th,td{padding:5px 8px;border-bottom:1px solid var(--line);\
        text-align:right;white-space:nowrap}th{color:var(--muted);font-weight:600;background:#fafbfc}
        td:first-child,th:first-child{text-align:left}table.matches td:nth-child(-n+4),table.matches th:nth-child(-n+4)\
        {text-align:left}td.left{text-align:left;white-space:normal}
        .matches th{cursor:pointer;position:sticky;top:0}.matches th.asc::after{content:" ▲"}.matches th.desc::after{content:" ▼"}
        .scroll{max-height:640px;overflow:auto;border:1px solid var(--line);border-radius:8px}
        .pos{color:var(--pos)}.neg{color:var(--neg)}code{font:12.5px ui-monospace,Menlo,Consolas,monospace}
        .chart-box{margin:6px 0 10px}.chart{width:100%;max-width:760px;height:auto;display:block}
        .grid{display:grid;grid-template-columns:repeat(3,1fr);gap:10px}.chart-box.small .chart{max-width:none}
        .chart-title{font-size:13px;font-weight:600;fill:var(--ink)}.chart-title.small{font-size:12px}
        .tick,.axis,.legend,.value,.clause{font-size:11px;fill:var(--muted)}.legend{fill:var(--ink)}.clause{fill:var(--ink);font-size:12px}
        .grid line,.chart .grid{stroke:var(--line);stroke-width:1}.zero{stroke:#98a2b3;stroke-width:1}
        .line{fill:none;stroke-width:2.5}.dashed{stroke-dasharray:6 4}.band{opacity:.16;stroke:none}.whisker{stroke-width:2;opacity:.5}
        .s0{stroke:var(--s0);fill:var(--s0);color:var(--s0)}.s1{stroke:var(--s1);fill:var(--s1);color:var(--s1)}
        .s2{stroke:var(--s2);fill:var(--s2);color:var(--s2)}.s3{stroke:var(--s3);fill:var(--s3);color:var(--s3)}
        .base{stroke:var(--base);fill:var(--base)}.line.s0,.line.s1,.line.s2,.line.s3,.line.base{fill:none}
        .bar.alone{fill:#b2ccff}.bar.surviving{fill:var(--s0)}.price{fill:none;stroke:#344054;stroke-width:1.4}
        .mark{stroke:#fff;stroke-width:1}footer{text-align:center;color:var(--muted);font-size:12px;padding:8px 0 24px}
        @media (max-width:800px){.tiles{grid-template-columns:repeat(2,1fr)}.grid{grid-template-columns:1fr}}
        """

    /// Sorting the matches table, and a check that every chart was laid out (`data-drawn`).
    static let script = """
        (function(){
        var t=document.getElementById('matches');
        if(t){var heads=t.tHead.rows[0].cells;
        function val(row,i,num){var c=row.cells[i];if(!c)return num?-Infinity:'';
        if(num){var s=c.querySelector('[data-value]');var v=s?s.getAttribute('data-value'):'';
        return v===''?-Infinity:parseFloat(v);}return c.textContent;}
        function sortBy(i,dir){var num=heads[i].getAttribute('data-type')==='num';var body=t.tBodies[0];
        var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){var x=val(a,i,num),y=val(b,i,num);return (x<y?-1:x>y?1:0)*dir;});
        rows.forEach(function(r){body.appendChild(r);});
        for(var k=0;k<heads.length;k++){heads[k].classList.remove('asc','desc');}
        heads[i].classList.add(dir>0?'asc':'desc');}
        for(var i=0;i<heads.length;i++){(function(i){heads[i].addEventListener('click',function(){
        sortBy(i,heads[i].classList.contains('asc')?-1:1);});})(i);}
        sortBy(2,1);}
        var charts=document.querySelectorAll('svg.chart');
        for(var j=0;j<charts.length;j++){var b=charts[j].getBBox();
        charts[j].setAttribute('data-drawn',(b.width>0&&b.height>0&&charts[j].childElementCount>1)?'1':'0');}
        document.body.setAttribute('data-charts',String(charts.length));
        document.body.setAttribute('data-height',String(document.documentElement.scrollHeight));
        })();
        """
}
