import Foundation
import Testing

@testable import FormulaEngine

// MARK: Fixtures

/// One fixture file written by `scripts/gen_talib_fixtures.py`: a case's bars and TA-Lib's output for
/// every function and parameter set (null where TA-Lib has no value).
struct TalibFixture: Decodable {
    struct Series: Decodable {
        /// `sma ema wma rma rsi stddev max min sum roc mom macd bbands atr adx cci willr mfi obv stoch
        /// sma_of_rsi`
        let fn: String
        let params: [Double]
        /// Which output of a multi-output function: `value`, `macd signal hist`, `upper middle lower`, `k d`.
        let out: String
        let values: [Double?]
    }

    let name: String
    let description: String
    let talib: String
    let inputs: [String: [Double?]]
    let series: [Series]

    func column(_ name: String) -> [Double] { inputs[name]!.map { $0 ?? .nan } }

    static let caseNames = [
        "005930", "000660", "101360", "364980", "005930_first10", "005930_first1", "constant", "nan_split",
    ]

    static func load(_ name: String) throws -> TalibFixture {
        let url = try #require(
            Bundle.module.url(forResource: "talib_\(name)", withExtension: "json", subdirectory: "Fixtures"),
            "fixture talib_\(name).json missing: run python3 scripts/gen_talib_fixtures.py"
        )
        return try JSONDecoder().decode(TalibFixture.self, from: Data(contentsOf: url))
    }
}

/// Runs a single-output kernel over `x` into a fresh array of the same length.
func compute(_ x: [Double], _ kernel: (Indicators.In, Indicators.Out) -> Void) -> [Double] {
    var out = [Double](repeating: -12345, count: x.count)  // a sentinel: every slot must be written
    x.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { kernel(xb, $0) } }
    return out
}

/// Runs a kernel with several outputs; returns them in order.
func computeMany(_ n: Int, outputs: Int, _ kernel: ([Indicators.Out]) -> Void) -> [[Double]] {
    var results = [[Double]](repeating: [Double](repeating: -12345, count: n), count: outputs)
    let buffers = (0..<outputs).map { _ in Indicators.Out.allocate(capacity: n) }
    defer { for b in buffers { b.deallocate() } }
    for b in buffers { b.initialize(repeating: -12345) }
    kernel(buffers)
    for k in 0..<outputs { results[k] = Array(buffers[k]) }
    return results
}

/// The Swift kernels' result for one fixture series.
func swiftValues(_ s: TalibFixture.Series, _ f: TalibFixture) -> [Double] {
    let (o, h, l, c, v) = (f.column("open"), f.column("high"), f.column("low"), f.column("close"), f.column("volume"))
    _ = o
    let n = c.count
    let p = s.params.count > 0 ? Int(s.params[0]) : 0
    func hlc(_ kernel: (Indicators.In, Indicators.In, Indicators.In, Indicators.Out) -> Void) -> [Double] {
        h.withUnsafeBufferPointer { hb in
            l.withUnsafeBufferPointer { lb in compute(c) { cb, out in kernel(hb, lb, cb, out) } }
        }
    }
    switch s.fn {
    case "sma": return compute(c) { Indicators.sma($0, period: p, into: $1) }
    case "ema": return compute(c) { Indicators.ema($0, period: p, into: $1) }
    case "wma": return compute(c) { Indicators.wma($0, period: p, into: $1) }
    case "rma": return compute(c) { Indicators.rma($0, period: p, into: $1) }
    case "rsi": return compute(c) { Indicators.rsi($0, period: p, into: $1) }
    case "stddev": return compute(c) { Indicators.stddev($0, period: p, into: $1) }
    case "max": return compute(c) { Indicators.highest($0, period: p, into: $1) }
    case "min": return compute(c) { Indicators.lowest($0, period: p, into: $1) }
    case "sum": return compute(c) { Indicators.sum($0, period: p, into: $1) }
    case "roc": return compute(c) { Indicators.roc($0, period: p, into: $1) }
    case "mom": return compute(c) { Indicators.change($0, period: p, into: $1) }
    case "sma_of_rsi":
        let rsi = compute(c) { Indicators.rsi($0, period: p, into: $1) }
        return compute(rsi) { Indicators.sma($0, period: Int(s.params[1]), into: $1) }
    case "macd":
        let r = c.withUnsafeBufferPointer { cb in
            computeMany(n, outputs: 3) {
                Indicators.macd(
                    cb,
                    fast: p,
                    slow: Int(s.params[1]),
                    signal: Int(s.params[2]),
                    macd: $0[0],
                    signalLine: $0[1],
                    histogram: $0[2]
                )
            }
        }
        return r[["macd": 0, "signal": 1, "hist": 2][s.out]!]
    case "bbands":
        let r = c.withUnsafeBufferPointer { cb in
            computeMany(n, outputs: 3) {
                Indicators.bbands(cb, period: p, k: s.params[1], upper: $0[0], middle: $0[1], lower: $0[2])
            }
        }
        return r[["upper": 0, "middle": 1, "lower": 2][s.out]!]
    case "atr": return hlc { Indicators.atr(high: $0, low: $1, close: $2, period: p, into: $3) }
    case "adx": return hlc { Indicators.adx(high: $0, low: $1, close: $2, period: p, into: $3) }
    case "cci": return hlc { Indicators.cci(high: $0, low: $1, close: $2, period: p, into: $3) }
    case "willr": return hlc { Indicators.willr(high: $0, low: $1, close: $2, period: p, into: $3) }
    case "mfi":
        return v.withUnsafeBufferPointer { vb in
            hlc { Indicators.mfi(high: $0, low: $1, close: $2, volume: vb, period: p, into: $3) }
        }
    case "obv":
        return v.withUnsafeBufferPointer { vb in compute(c) { Indicators.obv(close: $0, volume: vb, into: $1) } }
    case "stoch":
        let r = h.withUnsafeBufferPointer { hb in
            l.withUnsafeBufferPointer { lb in
                c.withUnsafeBufferPointer { cb in
                    computeMany(n, outputs: 2) {
                        Indicators.stoch(
                            high: hb,
                            low: lb,
                            close: cb,
                            fastK: p,
                            slowK: Int(s.params[1]),
                            slowD: Int(s.params[2]),
                            k: $0[0],
                            d: $0[1]
                        )
                    }
                }
            }
        }
        return r[s.out == "k" ? 0 : 1]
    default:
        Issue.record("fixture names an unknown function \(s.fn)")
        return []
    }
}

/// The first differences between TA-Lib's values (nil = no value) and ours: NaN positions must be
/// identical and values equal within 1e-9 relative (1e-9 absolute near zero).
func mismatches(expected: [Double?], actual: [Double], limit: Int = 3) -> [String] {
    var found: [String] = []
    if expected.count != actual.count { return ["length \(actual.count), TA-Lib \(expected.count)"] }
    for (i, e) in expected.enumerated() {
        let a = actual[i]
        let ok: Bool
        if let e {
            ok = !a.isNaN && abs(a - e) <= 1e-9 * max(1, abs(e))
        } else {
            ok = a.isNaN
        }
        if !ok {
            found.append("[\(i)] TA-Lib \(e.map { "\($0)" } ?? "NaN"), Swift \(a)")
            if found.count == limit { break }
        }
    }
    return found
}

@Suite("Indicators equal TA-Lib")
struct IndicatorTests {
    @Test("every value of every fixture series", arguments: TalibFixture.caseNames)
    func fixtureCase(_ name: String) throws {
        let fixture = try TalibFixture.load(name)
        #expect(!fixture.series.isEmpty)
        for s in fixture.series {
            let actual = swiftValues(s, fixture)
            let bad = mismatches(expected: s.values, actual: actual)
            #expect(
                bad.isEmpty,
                "\(name) \(s.fn)(\(s.params.map { "\($0)" }.joined(separator: ", "))).\(s.out): \(bad.joined(separator: "; "))"
            )
        }
    }

    @Test("the fixtures cover every function the language exposes")
    func fixtureCoverage() throws {
        let fixture = try TalibFixture.load("005930")
        let functions = Set(fixture.series.map(\.fn))
        let expected: Set<String> = [
            "sma", "ema", "wma", "rma", "rsi", "stddev", "max", "min", "sum", "roc", "mom", "macd", "bbands",
            "atr", "adx", "cci", "willr", "mfi", "obv", "stoch", "sma_of_rsi",
        ]
        #expect(functions == expected)
        // every fixture carries its inputs
        for column in ["open", "high", "low", "close", "volume"] {
            #expect(fixture.inputs[column]?.count == 300)
        }
    }
}
