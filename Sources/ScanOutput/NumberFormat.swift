/// How numbers are written in tables, CSV files and messages (no locale, no Foundation formatters).
public enum NumberFormat {
    /// A count with thousands separators: `1,234,567`, `-1,000`.
    public static func thousands(_ n: Int) -> String {
        (n < 0 ? "-" : "") + grouping(String(n.magnitude))
    }

    /// `digits` (no sign) in groups of three separated by commas.
    private static func grouping(_ digits: String) -> String {
        var digits = digits
        var groups: [Substring] = []
        while digits.count > 3 {
            groups.insert(Substring(digits.suffix(3)), at: 0)
            digits.removeLast(3)
        }
        groups.insert(Substring(digits), at: 0)
        return groups.joined(separator: ",")
    }

    /// CSV: integral values without a fraction (`71000`), others in Swift's shortest round-trip form;
    /// NaN and infinities as an empty field.
    static func plain(_ x: Double) -> String {
        guard x.isFinite else { return "" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return String(x)
    }

    /// Table: thousands separators; integral values without a fraction, others with `decimals`
    /// decimals; NaN as `-`.
    static func grouped(_ x: Double, decimals: Int = 2) -> String {
        guard x.isFinite else { return "-" }
        let integral = x == x.rounded() && abs(x) < 1e15
        let scale = integral ? 1.0 : pow10(decimals)
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e18 else { return String(x) }
        let n = Int64(scaled)
        let whole = integral ? n : n / Int64(scale)
        var out = (x < 0 && scaled != 0 ? "-" : "") + grouping(String(whole))
        if !integral && decimals > 0 {
            let frac = String(n % Int64(scale))
            out += "." + String(repeating: "0", count: decimals - frac.count) + frac
        }
        return out
    }

    private static func pow10(_ n: Int) -> Double {
        var v = 1.0
        for _ in 0..<max(0, n) { v *= 10 }
        return v
    }
}
