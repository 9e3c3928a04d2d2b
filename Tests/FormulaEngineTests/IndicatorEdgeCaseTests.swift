import Testing

@testable import FormulaEngine

/// A deterministic random walk of integer prices (a small LCG, no Foundation).
func walk(_ n: Int, seed: UInt64 = 7, start: Double = 50_000) -> [Double] {
    var state = seed
    var price = start
    return (0..<n).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        price += Double(Int(state >> 33) % 1001 - 500)
        return max(price, 100)
    }
}

/// Every single-source kernel, by name, at a period.
var singleSourceKernels: [(String, (Indicators.In, Int, Indicators.Out) -> Void)] {
    [
        ("sma", { Indicators.sma($0, period: $1, into: $2) }),
        ("ema", { Indicators.ema($0, period: $1, into: $2) }),
        ("wma", { Indicators.wma($0, period: $1, into: $2) }),
        ("rma", { Indicators.rma($0, period: $1, into: $2) }),
        ("rsi", { Indicators.rsi($0, period: $1, into: $2) }),
        ("stddev", { Indicators.stddev($0, period: $1, into: $2) }),
        ("highest", { Indicators.highest($0, period: $1, into: $2) }),
        ("lowest", { Indicators.lowest($0, period: $1, into: $2) }),
        ("sum", { Indicators.sum($0, period: $1, into: $2) }),
        ("roc", { Indicators.roc($0, period: $1, into: $2) }),
        ("change", { Indicators.change($0, period: $1, into: $2) }),
        ("macd", { x, p, o in computeMacd(x, p, o, line: 0) }),
        ("macd_signal", { x, p, o in computeMacd(x, p, o, line: 1) }),
        ("bb_upper", { x, p, o in computeBands(x, p, o, band: 0) }),
        ("bb_lower", { x, p, o in computeBands(x, p, o, band: 2) }),
    ]
}

func computeMacd(_ x: Indicators.In, _ p: Int, _ out: Indicators.Out, line: Int) {
    let r = computeMany(x.count, outputs: 3) {
        Indicators.macd(x, fast: p, slow: 2 * p, signal: 3, macd: $0[0], signalLine: $0[1], histogram: $0[2])
    }
    for i in 0..<x.count { out[i] = r[line][i] }
}

func computeBands(_ x: Indicators.In, _ p: Int, _ out: Indicators.Out, band: Int) {
    let r = computeMany(x.count, outputs: 3) {
        Indicators.bbands(x, period: p, k: 2, upper: $0[0], middle: $0[1], lower: $0[2])
    }
    for i in 0..<x.count { out[i] = r[band][i] }
}

/// Bitwise equality that treats NaN as equal to NaN.
func same(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
}

func firstDefined(_ a: [Double]) -> Int? { a.firstIndex { !$0.isNaN } }

@Suite("Indicator edge cases")
struct IndicatorEdgeCaseTests {
    let close = walk(400)
    var high: [Double] { close.map { $0 + 150 } }
    var low: [Double] { close.map { $0 - 120 } }

    @Test("warm-up lengths are TA-Lib's lookbacks")
    func lookbacks() {
        let x = close
        #expect(firstDefined(compute(x) { Indicators.sma($0, period: 20, into: $1) }) == 19)
        #expect(firstDefined(compute(x) { Indicators.ema($0, period: 20, into: $1) }) == 19)
        #expect(firstDefined(compute(x) { Indicators.wma($0, period: 20, into: $1) }) == 19)
        #expect(firstDefined(compute(x) { Indicators.rma($0, period: 14, into: $1) }) == 13)
        #expect(firstDefined(compute(x) { Indicators.rsi($0, period: 14, into: $1) }) == 14)
        #expect(firstDefined(compute(x) { Indicators.roc($0, period: 10, into: $1) }) == 10)
        #expect(firstDefined(compute(x) { Indicators.change($0, period: 10, into: $1) }) == 10)
        #expect(firstDefined(compute(x) { Indicators.stddev($0, period: 20, into: $1) }) == 19)
        let macd = x.withUnsafeBufferPointer { xb in
            computeMany(x.count, outputs: 3) {
                Indicators.macd(xb, fast: 12, slow: 26, signal: 9, macd: $0[0], signalLine: $0[1], histogram: $0[2])
            }
        }
        for line in macd { #expect(firstDefined(line) == 33) }
        let (h, l) = (high, low)
        let volume = [Double](repeating: 1000, count: x.count)
        h.withUnsafeBufferPointer { hb in
            l.withUnsafeBufferPointer { lb in
                x.withUnsafeBufferPointer { cb in
                    #expect(
                        firstDefined(
                            compute(x) { _, o in Indicators.atr(high: hb, low: lb, close: cb, period: 14, into: o) }
                        ) == 14
                    )
                    #expect(
                        firstDefined(
                            compute(x) { _, o in Indicators.adx(high: hb, low: lb, close: cb, period: 14, into: o) }
                        ) == 27
                    )
                    #expect(
                        firstDefined(
                            compute(x) { _, o in Indicators.cci(high: hb, low: lb, close: cb, period: 20, into: o) }
                        ) == 19
                    )
                    #expect(
                        firstDefined(
                            compute(x) { _, o in Indicators.willr(high: hb, low: lb, close: cb, period: 14, into: o) }
                        ) == 13
                    )
                    volume.withUnsafeBufferPointer { vb in
                        #expect(
                            firstDefined(
                                compute(x) { _, o in
                                    Indicators.mfi(high: hb, low: lb, close: cb, volume: vb, period: 14, into: o)
                                }
                            ) == 14
                        )
                        #expect(
                            firstDefined(compute(x) { _, o in Indicators.obv(close: cb, volume: vb, into: o) }) == 0
                        )
                    }
                    let stoch = computeMany(x.count, outputs: 2) {
                        Indicators.stoch(
                            high: hb,
                            low: lb,
                            close: cb,
                            fastK: 14,
                            slowK: 3,
                            slowD: 3,
                            k: $0[0],
                            d: $0[1]
                        )
                    }
                    #expect(firstDefined(stoch[0]) == 17)
                    #expect(firstDefined(stoch[1]) == 17)
                }
            }
        }
    }

    @Test("constant prices: zero variance, zero range, no movement")
    func constantPrices() {
        let n = 40
        let price = [Double](repeating: 12_345, count: n)
        let volume = [Double](repeating: 500, count: n)
        let defined = { (a: [Double], from: Int) in Array(a[from...]) }
        #expect(defined(compute(price) { Indicators.stddev($0, period: 5, into: $1) }, 4).allSatisfy { $0 == 0 })
        #expect(defined(compute(price) { Indicators.sma($0, period: 3, into: $1) }, 2).allSatisfy { $0 == 12_345 })
        #expect(defined(compute(price) { Indicators.rsi($0, period: 14, into: $1) }, 14).allSatisfy { $0 == 0 })
        let bands = price.withUnsafeBufferPointer { x in
            computeMany(n, outputs: 3) {
                Indicators.bbands(x, period: 20, k: 2, upper: $0[0], middle: $0[1], lower: $0[2])
            }
        }
        for band in bands { #expect(defined(band, 19).allSatisfy { $0 == 12_345 }) }
        price.withUnsafeBufferPointer { p in
            volume.withUnsafeBufferPointer { v in
                #expect(
                    defined(
                        compute(price) { _, o in Indicators.willr(high: p, low: p, close: p, period: 14, into: o) },
                        13
                    ).allSatisfy { $0 == 0 }
                )
                #expect(
                    defined(
                        compute(price) { _, o in Indicators.cci(high: p, low: p, close: p, period: 14, into: o) },
                        13
                    ).allSatisfy { $0 == 0 }
                )
                #expect(
                    defined(
                        compute(price) { _, o in Indicators.atr(high: p, low: p, close: p, period: 14, into: o) },
                        14
                    ).allSatisfy { $0 == 0 }
                )
                #expect(
                    defined(
                        compute(price) { _, o in Indicators.adx(high: p, low: p, close: p, period: 14, into: o) },
                        27
                    ).allSatisfy { $0 == 0 }
                )
                #expect(
                    defined(
                        compute(price) { _, o in
                            Indicators.mfi(high: p, low: p, close: p, volume: v, period: 14, into: o)
                        },
                        14
                    ).allSatisfy { $0 == 0 }
                )
                #expect(
                    compute(price) { _, o in Indicators.obv(close: p, volume: v, into: o) }.allSatisfy { $0 == 500 }
                )
                let stoch = computeMany(n, outputs: 2) {
                    Indicators.stoch(high: p, low: p, close: p, fastK: 5, slowK: 3, slowD: 3, k: $0[0], d: $0[1])
                }
                for line in stoch { #expect(defined(line, 8).allSatisfy { $0 == 0 }) }
            }
        }
    }

    @Test("zero volume: MFI without money flow is 0, OBV does not move")
    func zeroVolume() {
        let c = close
        let (h, l) = (high, low)
        let volume = (0..<c.count).map { $0 < 200 ? 0.0 : 1_000.0 }
        let (mfi, obv) = h.withUnsafeBufferPointer { hb in
            l.withUnsafeBufferPointer { lb in
                c.withUnsafeBufferPointer { cb in
                    volume.withUnsafeBufferPointer { vb in
                        (
                            compute(c) { _, o in
                                Indicators.mfi(high: hb, low: lb, close: cb, volume: vb, period: 14, into: o)
                            },
                            compute(c) { _, o in Indicators.obv(close: cb, volume: vb, into: o) }
                        )
                    }
                }
            }
        }
        #expect(mfi[14..<200].allSatisfy { $0 == 0 })
        #expect(mfi[214...].allSatisfy { $0 >= 0 && $0 <= 100 })
        #expect(mfi[214...].contains { $0 > 0 && $0 < 100 })
        #expect(obv[..<200].allSatisfy { $0 == 0 })
    }

    @Test("series shorter than the period, a single bar, no bar", arguments: [0, 1, 4])
    func shortSeries(_ n: Int) {
        let x = Array(close.prefix(n))
        for (name, kernel) in singleSourceKernels {
            let out = compute(x) { kernel($0, 5, $1) }
            #expect(out.count == n)
            #expect(out.allSatisfy { $0.isNaN }, "\(name) over \(n) bars with period 5")
        }
        // period 1 over a single bar is the bar itself
        if n == 1 {
            #expect(compute(x) { Indicators.sma($0, period: 1, into: $1) } == x)
            #expect(compute(x) { Indicators.ema($0, period: 1, into: $1) } == x)
            #expect(compute(x) { Indicators.sum($0, period: 1, into: $1) } == x)
        }
    }

    @Test("a NaN splits a source into runs, each computed on its own", arguments: [1, 2, 5, 14])
    func nanSplitting(_ period: Int) {
        var x = close
        for i in 0..<25 { x[i] = .nan }  // leading NaN run
        for i in 180..<183 { x[i] = .nan }  // a gap
        x[300] = .nan  // a single hole
        let runs = [25..<180, 183..<300, 301..<x.count]
        for (name, kernel) in singleSourceKernels {
            let whole = compute(x) { kernel($0, period, $1) }
            var expected = [Double](repeating: .nan, count: x.count)
            for r in runs {
                let part = compute(Array(x[r])) { kernel($0, period, $1) }
                expected.replaceSubrange(r, with: part)
            }
            #expect(same(whole, expected), "\(name)(\(period)) with NaN holes")
        }
    }

    @Test("sma(rsi(close, 14), 5) starts where the RSI is defined")
    func nestedIndicators() {
        let rsi = compute(close) { Indicators.rsi($0, period: 14, into: $1) }
        let smoothed = compute(rsi) { Indicators.sma($0, period: 5, into: $1) }
        #expect(firstDefined(smoothed) == 14 + 4)
        let direct = compute(Array(rsi[14...])) { Indicators.sma($0, period: 5, into: $1) }
        #expect(same(Array(smoothed[14...]), direct))
    }

    @Test("a NaN in any price column splits the multi-column kernels")
    func multiColumnSplitting() {
        let c = close
        var h = high
        let l = low
        h[100] = .nan
        let whole = h.withUnsafeBufferPointer { hb in
            l.withUnsafeBufferPointer { lb in
                c.withUnsafeBufferPointer { cb in
                    compute(c) { _, o in Indicators.atr(high: hb, low: lb, close: cb, period: 14, into: o) }
                }
            }
        }
        func atr(_ r: Range<Int>) -> [Double] {
            let (hs, ls, cs) = (Array(h[r]), Array(l[r]), Array(c[r]))
            return hs.withUnsafeBufferPointer { hb in
                ls.withUnsafeBufferPointer { lb in
                    cs.withUnsafeBufferPointer { cb in
                        compute(cs) { _, o in Indicators.atr(high: hb, low: lb, close: cb, period: 14, into: o) }
                    }
                }
            }
        }
        #expect(same(Array(whole[..<100]), atr(0..<100)))
        #expect(whole[100].isNaN)
        #expect(same(Array(whole[101...]), atr(101..<c.count)))
        #expect(whole[101 + 13].isNaN && !whole[101 + 14].isNaN)
    }

    @Test("highest/lowest equal a brute-force scan, trends included")
    func extremesBruteForce() {
        let down = (0..<300).map { 10_000 - Double($0) }
        let zigzag = (0..<300).map { Double(($0 * 37) % 101) }
        for x in [close, down, down.reversed(), zigzag] {
            for period in [1, 2, 7, 50] {
                let hi = compute(x) { Indicators.highest($0, period: period, into: $1) }
                let lo = compute(x) { Indicators.lowest($0, period: period, into: $1) }
                for i in (period - 1)..<x.count {
                    let window = x[(i - period + 1)...i]
                    #expect(hi[i] == window.max()! && lo[i] == window.min()!)
                }
            }
        }
    }
}
