import FormulaEngine
import Testing

/// What a plan says it reads (``FormulaPlan/fields``): a store loads only those columns.
@Suite struct PriceFieldsTests {
    private func fields(_ source: String) throws -> PriceFields {
        try FormulaPlan.compile(source: source, name: "t").fields
    }

    @Test func aPlanReadsTheColumnsItsOperationsAndColumnsName() throws {
        #expect(
            try fields("crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)") == [.close, .volume]
        )
        #expect(try fields("atr(14) > 0.5") == [.high, .low, .close])
        #expect(try fields("hl2 > open") == [.open, .high, .low])
        #expect(try fields("mfi(14) < 80") == [.high, .low, .close, .volume])
        #expect(try fields("signal s = true\ncolumn c = close") == [.close])
        #expect(try fields("true") == [])
        // A `let` no signal uses is dropped, and so is what it reads.
        #expect(try fields("let x = sma(open, 3)\nsignal s = close > 1") == [.close])
    }

    @Test func evaluationCoversTheColumnsTheFormulaReadsOnly() throws {
        let plan = try FormulaPlan.compile(source: "close > sma(close, 3) and volume > 2", name: "t")
        let close: [Double] = [1, 2, 3, 4, 5, 6, 7, 8]
        let volume: [Double] = [3, 3, 3, 3, 1, 3, 3, 3]
        let full = PriceColumns(open: close, high: close, low: close, close: close, volume: volume)
        let partial = PriceColumns(open: [], high: [], low: [], close: close, volume: volume)
        let evaluator = FormulaEvaluator(plan: plan)
        let a = evaluator.evaluate(full, reportingIn: 0..<8).signals.map(\.indices)
        let b = evaluator.evaluate(partial, reportingIn: 0..<8).signals.map(\.indices)
        #expect(a == [[2, 3, 5, 6, 7]])
        #expect(b == a)
        // A column the formula reads that is missing: nothing is evaluated (never read out of bounds).
        let noVolume = PriceColumns(open: close, high: close, low: close, close: close, volume: [])
        #expect(evaluator.evaluate(noVolume, reportingIn: 0..<8).signals.map(\.indices) == [[]])
        #expect(partial.missing([.close, .volume], count: 8) == [])
        #expect(partial.missing(.all, count: 8) == [.open, .high, .low])
        #expect(PriceFields([.open, .volume]).description == "open, volume")
    }
}
