// libFuzzer target: the formula lexer, parser and checker (formulas come from any client), and the
// evaluation of whatever compiles, on a short fixed series. Built by scripts/fuzz.sh with the
// FormulaEngine sources.
import FormulaEngine

/// 64 bars of a deterministic, plausible price series (with a flat stretch and a gap-free volume).
let fuzzColumns: PriceColumns = {
    var o: [Double] = []
    var h: [Double] = []
    var l: [Double] = []
    var c: [Double] = []
    var v: [Double] = []
    var price = 100.0
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for i in 0..<64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let step = Double(Int64(truncatingIfNeeded: state >> 33) % 400) / 100.0 - 2.0
        let open = price
        price = (20...27).contains(i) ? price : max(1, price + step)
        o.append(open)
        c.append(price)
        h.append(max(open, price) + 0.5)
        l.append(min(open, price) - 0.5)
        v.append(Double(1_000 + (state >> 40) % 5_000))
    }
    return PriceColumns(open: o, high: h, low: l, close: c, volume: v)
}()

/// The input is the formula source (UTF-8, invalid bytes replaced). A formula that compiles is
/// evaluated; one that does not must give a located error that renders.
@_cdecl("LLVMFuzzerTestOneInput")
public func formulaFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // The service caps request bodies; a longer source only slows the search down.
    guard size <= 4_096 else { return 0 }
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let plan = try FormulaPlan.compile(source: source, name: "fuzz")
        let output = FormulaEvaluator(plan: plan).evaluate(fuzzColumns, reportingIn: 0..<fuzzColumns.count)
        _ = output
        guard plan.lookback >= 0 else { fatalError("negative lookback \(plan.lookback)") }
    } catch let error as FormulaError {
        guard error.line >= 1, error.column >= 1, !error.message.isEmpty else {
            fatalError("an unlocated formula error: \(error.line):\(error.column) '\(error.message)'")
        }
        _ = error.description
    } catch {
        fatalError("compile threw something other than a FormulaError: \(error)")
    }
    return 0
}
