/// Small SVG charts written as text (no script, no network): the report's study, funnel and price charts.
///
/// Every chart is one `<svg class="chart">` with a `viewBox`, so it scales with the page; colours come
/// from the report's CSS classes.
enum SVGChart {
    /// One series of the study chart: a value per horizon and its 95 % band.
    struct BandSeries {
        var label: String
        var cssClass: String
        var values: [Double?]
        var low: [Double?]
        var high: [Double?]
        var dashed: Bool
    }

    /// Mean forward return by horizon (categorical x axis) with the 95 % bands, in percent.
    static func study(horizons: [Int], series: [BandSeries], title: String) -> String {
        let w = 640.0
        let h = 300.0
        let left = 64.0
        let right = 150.0
        let top = 28.0
        let bottom = 42.0
        var all: [Double] = [0]
        for s in series { all += (s.values + s.low + s.high).compactMap { $0 } }
        var lo = all.min() ?? 0
        var hi = all.max() ?? 0
        if hi - lo < 1e-9 {
            lo -= 0.01
            hi += 0.01
        }
        let pad = (hi - lo) * 0.08
        lo -= pad
        hi += pad
        let plotW = w - left - right
        let plotH = h - top - bottom
        func x(_ k: Int) -> Double {
            horizons.count == 1 ? left + plotW / 2 : left + plotW * Double(k) / Double(horizons.count - 1)
        }
        func y(_ v: Double) -> Double { top + plotH * (hi - v) / (hi - lo) }
        var out = svgOpen(w, h, label: title)
        out += "<text class=\"chart-title\" x=\"\(left)\" y=\"18\">\(escape(title))</text>"
        for t in ticks(lo, hi) {
            out +=
                "<line class=\"grid\" x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(y(t)))\" y2=\"\(f(y(t)))\"/>"
            out +=
                "<text class=\"tick\" x=\"\(f(left - 6))\" y=\"\(f(y(t) + 4))\" text-anchor=\"end\">\(percent(t, digits: 1))</text>"
        }
        out += "<line class=\"zero\" x1=\"\(f(left))\" x2=\"\(f(left + plotW))\" y1=\"\(f(y(0)))\" y2=\"\(f(y(0)))\"/>"
        for (k, hz) in horizons.enumerated() {
            out +=
                "<text class=\"tick\" x=\"\(f(x(k)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(hz)</text>"
        }
        out +=
            "<text class=\"axis\" x=\"\(f(left + plotW / 2))\" y=\"\(f(h - 6))\" text-anchor=\"middle\">bars after the signal</text>"
        for (n, s) in series.enumerated() {
            let band = horizons.indices.compactMap { k -> (Double, Double, Double)? in
                guard let l = s.low[k], let u = s.high[k] else { return nil }
                return (x(k), y(l), y(u))
            }
            if band.count >= 2 {
                let pts = band.map { "\(f($0.0)),\(f($0.2))" } + band.reversed().map { "\(f($0.0)),\(f($0.1))" }
                out += "<polygon class=\"band \(s.cssClass)\" points=\"\(pts.joined(separator: " "))\"/>"
            } else if let b = band.first {
                out +=
                    "<line class=\"whisker \(s.cssClass)\" x1=\"\(f(b.0))\" x2=\"\(f(b.0))\" y1=\"\(f(b.1))\" y2=\"\(f(b.2))\"/>"
            }
            let points = horizons.indices.compactMap { k in s.values[k].map { (x(k), y($0)) } }
            if points.count >= 2 {
                let d = points.enumerated().map { i, p in "\(i == 0 ? "M" : "L")\(f(p.0)),\(f(p.1))" }.joined()
                out += "<path class=\"line \(s.cssClass)\(s.dashed ? " dashed" : "")\" d=\"\(d)\"/>"
            }
            for p in points {
                out += "<circle class=\"dot \(s.cssClass)\" cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"3.5\"/>"
            }
            let ly = top + 14 + Double(n) * 20
            let lx = left + plotW + 16
            out +=
                "<line class=\"line \(s.cssClass)\(s.dashed ? " dashed" : "")\" x1=\"\(f(lx))\" x2=\"\(f(lx + 22))\" y1=\"\(f(ly))\" y2=\"\(f(ly))\"/>"
            out += "<text class=\"legend\" x=\"\(f(lx + 28))\" y=\"\(f(ly + 4))\">\(escape(s.label))</text>"
        }
        return out + "</svg>"
    }

    /// One bar pair per clause: bars passing the clause alone, and bars surviving it and those before.
    static func funnel(clauses: [(text: String, alone: Int, surviving: Int)], title: String) -> String {
        let w = 640.0
        let rowH = 46.0
        let labelW = 230.0
        let top = 30.0
        let h = top + rowH * Double(max(1, clauses.count)) + 26
        let maxValue = Double(max(1, clauses.map { max($0.alone, $0.surviving) }.max() ?? 1))
        let plotW = w - labelW - 80
        var out = svgOpen(w, h, label: title)
        out += "<text class=\"chart-title\" x=\"8\" y=\"18\">\(escape(title))</text>"
        for (k, c) in clauses.enumerated() {
            let y0 = top + rowH * Double(k)
            let text = c.text.count > 34 ? String(c.text.prefix(33)) + "…" : c.text
            out +=
                "<text class=\"clause\" x=\"\(f(labelW - 8))\" y=\"\(f(y0 + 22))\" text-anchor=\"end\"><title>\(escape(c.text))</title>\(k + 1). \(escape(text))</text>"
            let wa = max(1, plotW * Double(c.alone) / maxValue)
            let ws = max(1, plotW * Double(c.surviving) / maxValue)
            out += "<rect class=\"bar alone\" x=\"\(f(labelW))\" y=\"\(f(y0 + 4))\" width=\"\(f(wa))\" height=\"16\"/>"
            out +=
                "<text class=\"value\" x=\"\(f(labelW + wa + 6))\" y=\"\(f(y0 + 16))\">\(NumberFormat.thousands(c.alone))</text>"
            out +=
                "<rect class=\"bar surviving\" x=\"\(f(labelW))\" y=\"\(f(y0 + 22))\" width=\"\(f(ws))\" height=\"16\"/>"
            out +=
                "<text class=\"value\" x=\"\(f(labelW + ws + 6))\" y=\"\(f(y0 + 34))\">\(NumberFormat.thousands(c.surviving))</text>"
        }
        let ly = h - 10
        out += "<rect class=\"bar alone\" x=\"\(f(labelW))\" y=\"\(f(ly - 9))\" width=\"12\" height=\"10\"/>"
        out += "<text class=\"legend\" x=\"\(f(labelW + 18))\" y=\"\(f(ly))\">bars passing the clause alone</text>"
        out += "<rect class=\"bar surviving\" x=\"\(f(labelW + 210))\" y=\"\(f(ly - 9))\" width=\"12\" height=\"10\"/>"
        out += "<text class=\"legend\" x=\"\(f(labelW + 228))\" y=\"\(f(ly))\">surviving clauses 1…k</text>"
        return out + "</svg>"
    }

    /// A small close-price line with the signal bars marked (`marks`: index into `closes`, CSS class).
    static func price(
        closes: [Double],
        first: String,
        last: String,
        marks: [(index: Int, cssClass: String)],
        title: String
    ) -> String {
        let w = 320.0
        let h = 150.0
        let left = 8.0
        let right = 8.0
        let top = 24.0
        let bottom = 20.0
        let values = closes.filter(\.isFinite)
        let lo = values.min() ?? 0
        let hi = max(values.max() ?? 1, lo + 1e-9)
        let plotW = w - left - right
        let plotH = h - top - bottom
        func x(_ i: Int) -> Double { left + plotW * Double(i) / Double(max(1, closes.count - 1)) }
        func y(_ v: Double) -> Double { top + plotH * (hi - v) / (hi - lo) }
        var out = svgOpen(w, h, label: title)
        out += "<text class=\"chart-title small\" x=\"\(left)\" y=\"15\">\(escape(title))</text>"
        var d = ""
        var pen = false
        for (i, c) in closes.enumerated() {
            guard c.isFinite else {
                pen = false
                continue
            }
            d += "\(pen ? "L" : "M")\(f(x(i))),\(f(y(c)))"
            pen = true
        }
        if !d.isEmpty { out += "<path class=\"price\" d=\"\(d)\"/>" }
        for m in marks where m.index < closes.count && closes[m.index].isFinite {
            out +=
                "<circle class=\"mark \(m.cssClass)\" cx=\"\(f(x(m.index)))\" cy=\"\(f(y(closes[m.index])))\" r=\"3.2\"/>"
        }
        out += "<text class=\"tick\" x=\"\(f(left))\" y=\"\(f(h - 5))\">\(escape(first))</text>"
        out += "<text class=\"tick\" x=\"\(f(w - right))\" y=\"\(f(h - 5))\" text-anchor=\"end\">\(escape(last))</text>"
        out +=
            "<text class=\"tick\" x=\"\(f(w - right))\" y=\"15\" text-anchor=\"end\">\(NumberFormat.grouped(lo))–\(NumberFormat.grouped(hi))</text>"
        return out + "</svg>"
    }

    // MARK: Helpers

    private static func svgOpen(_ w: Double, _ h: Double, label: String) -> String {
        "<svg class=\"chart\" viewBox=\"0 0 \(f(w)) \(f(h))\" role=\"img\" aria-label=\"\(escape(label))\" "
            + "xmlns=\"http://www.w3.org/2000/svg\">"
    }

    /// Round tick values between `lo` and `hi` (about five).
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let span = hi - lo
        guard span > 0, span.isFinite else { return [] }
        let raw = span / 5
        var step = 1.0
        while step > raw { step /= 10 }
        while step * 10 <= raw { step *= 10 }
        for m in [1.0, 2, 5, 10] where step * m >= raw {
            step *= m
            break
        }
        var t = (lo / step).rounded(.up) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    /// A coordinate with two decimals.
    static func f(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int64(r)) : String(r)
    }

    /// `+1.23 %` (a fraction shown in percent).
    static func percent(_ x: Double, digits: Int = 2) -> String {
        guard x.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let v = (x * 100 * scale).rounded() / scale
        return (v > 0 ? "+" : "") + NumberFormat.grouped(v, decimals: digits) + " %"
    }

    /// `45.83 %` (a share, no sign).
    static func share(_ x: Double) -> String {
        guard x.isFinite else { return "–" }
        return NumberFormat.grouped((x * 10_000).rounded() / 100, decimals: 2) + " %"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
