// Kernels whose per-bar windows are independent of one another, vectorised along time: consecutive bars
// go in SIMD lanes, and each lane performs exactly the scalar operations of its own bar in TA-Lib's
// order, so the values are TA-Lib's bit for bit (LaneKernelTests compares them with TA-Lib's C loops).

/// Two doubles: two consecutive bars, or one value in both lanes.
typealias Pair = SIMD2<Double>

extension Indicators {
    /// `x[i]` and `x[i + 1]` in one load (built from two scalar loads, the compiler would do the pair's
    /// arithmetic in scalars too).
    @inline(__always)
    static func loadPair(_ x: UnsafePointer<Double>, _ i: Int) -> Pair {
        UnsafeRawPointer(x + i).loadUnaligned(as: Pair.self)
    }

    /// Stores `v` to `out[i]` and `out[i + 1]` in one store.
    @inline(__always)
    static func storePair(_ v: Pair, _ out: UnsafeMutablePointer<Double>, _ i: Int) {
        UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: Pair.self)
    }

    /// `out[i] = f(a[i], b[i], c[i])` for `i` in `start ..< n` (or only the `chosen` ones), two bars at a
    /// time (the last bar of an odd count alone, in both lanes). `out` may be one of the inputs.
    @inline(__always)
    static func eachPair(
        from start: Int,
        _ n: Int,
        _ a: UnsafePointer<Double>,
        _ b: UnsafePointer<Double>,
        _ c: UnsafePointer<Double>,
        into out: UnsafeMutablePointer<Double>,
        at chosen: Bars? = nil,
        _ f: (Pair, Pair, Pair) -> Pair
    ) {
        if let chosen {
            return eachPair(at: chosen, from: start) { i, j in
                let v = f(Pair(a[i], a[j]), Pair(b[i], b[j]), Pair(c[i], c[j]))
                out[i] = v[0]
                out[j] = v[1]
            }
        }
        var i = start
        while i + 2 <= n {
            storePair(f(loadPair(a, i), loadPair(b, i), loadPair(c, i)), out, i)
            i += 2
        }
        if i < n { out[i] = f(Pair(repeating: a[i]), Pair(repeating: b[i]), Pair(repeating: c[i]))[0] }
    }

    /// Calls `body(i, j)` for the chosen bars at or after `start`, two at a time; the last one of an odd
    /// count as `body(i, i)` (both lanes the same bar, as ``eachPair(from:_:_:_:_:into:at:_:)`` does).
    @inline(__always)
    static func eachPair(at chosen: Bars, from start: Int, _ body: (Int, Int) -> Void) {
        let m = chosen.count
        var k = 0
        while k < m, Int(chosen[k]) < start { k += 1 }
        while k + 2 <= m {
            body(Int(chosen[k]), Int(chosen[k + 1]))
            k += 2
        }
        if k < m { body(Int(chosen[k]), Int(chosen[k])) }
    }

    /// `abs` of each lane (the sign bit cleared, as `Swift.abs` of a `Double`).
    @inline(__always)
    static func pairAbs(_ v: Pair) -> Pair {
        let bits = unsafeBitCast(v, to: SIMD2<UInt64>.self) & SIMD2(repeating: 0x7FFF_FFFF_FFFF_FFFF)
        return unsafeBitCast(bits, to: Pair.self)
    }

    /// The typical prices `(h + l + c) / 3` of bars `0 ..< n`, two at a time.
    @inline(__always)
    static func typicalPrices(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ n: Int,
        _ out: UnsafeMutablePointer<Double>
    ) {
        var k = 0
        while k + 2 <= n {
            storePair((loadPair(high, k) + loadPair(low, k) + loadPair(close, k)) / 3, out, k)
            k += 2
        }
        if k < n { out[k] = (high[k] + low[k] + close[k]) / 3 }
    }

    /// TA_CCI over one run of bars: typical price `(h + l + c) / 3` against its SMA and mean absolute
    /// deviation over `period` bars; 0 when either the deviation from the mean or the mean deviation is
    /// zero. TA-Lib keeps the window in a ring (slot `k % period` holds bar `k`) and sums it slot by
    /// slot, as the mean deviation has no O(1) update; the sums here add the same values in the same
    /// order, so the last bits are equal.
    ///
    /// Eight consecutive bars are summed at once, two per SIMD register (``cciEight``); the rest one
    /// bar at a time.
    static func cciKernel(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>
    ) {
        let lookback = period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        let p = Double(period)
        withUnsafeTemporaryAllocation(of: Pair.self, capacity: n + (n + 1) / 2) { buffer in
            // Bar k's typical price in both lanes: a window value every lane adds is one load.
            let typical = buffer.baseAddress!
            // Each bar's mean deviation; its mean goes to `out` until the last pass.
            let deviation = UnsafeMutableRawPointer(typical + n).assumingMemoryBound(to: Double.self)
            typicalPrices(high, low, close, n, deviation)  // the typical prices, for a moment
            for k in 0..<n { typical[k] = Pair(repeating: deviation[k]) }
            var b = lookback
            if period >= 8 {
                withUnsafeTemporaryAllocation(of: Pair.self, capacity: 32) { jumps in
                    while b + 8 <= n {
                        cciEight(typical, b, period, jumps: jumps.baseAddress!, mean: out, deviation: deviation)
                        b += 8
                    }
                }
            }
            // The last bars one at a time: bar b's window in ring order is typical[start + j] for the
            // slots j <= r and typical[start + j - period] for the others (r = b % period, start = b - r).
            while b < n {
                let r = b % period
                let start = b - r
                var sum = 0.0
                for j in 0..<period { sum += typical[start + j - (j > r ? period : 0)][0] }
                let average = sum / p
                var total = 0.0
                for j in 0..<period { total += abs(typical[start + j - (j > r ? period : 0)][0] - average) }
                out[b] = average
                deviation[b] = total
                b += 1
            }
            @inline(__always) func value(_ price: Pair, _ mean: Pair, _ total: Pair) -> Pair {
                cciValue(price, mean, total, p)
            }
            b = lookback
            while b + 2 <= n {
                let price = Pair(typical[b][0], typical[b + 1][0])
                storePair(value(price, loadPair(out, b), loadPair(deviation, b)), out, b)
                b += 2
            }
            if b < n { out[b] = value(typical[b], Pair(repeating: out[b]), Pair(repeating: deviation[b]))[0] }
        }
    }

    /// CCI from two bars' typical prices, window means and mean-deviation sums:
    /// `fromMean / (0.015 * (deviation / period))`, 0 where either is zero.
    @inline(__always)
    static func cciValue(_ price: Pair, _ mean: Pair, _ total: Pair, _ p: Double) -> Pair {
        let fromMean = price - mean
        let epsilon = Pair(repeating: Indicators.epsilon)
        let zero = ((-epsilon .< fromMean) .& (fromMean .< epsilon)) .| ((-epsilon .< total) .& (total .< epsilon))
        let v = fromMean / (Pair(repeating: 0.015) * (total / Pair(repeating: p)))
        return v.replacing(with: 0, where: zero)
    }

    /// The means and mean-deviation sums of bars `b ..< b + 8` (`period >= 8`), lane `d` of the four pairs
    /// being bar `b + d`; `jumps` is scratch for 32 pairs.
    ///
    /// With `r = b % period`, slot `j` of bar `b`'s ring holds bar `b - r + j` (`j <= r`) or
    /// `b - r + j - period`. Bar `b + d`'s ring differs from it only in slot `(r + d) % period`, which holds
    /// bar `b + d` instead of `b + d - period` (and so for every later lane). Walking the slots in order,
    /// every lane adds one value per slot: the same value in all lanes (one load for the four pairs)
    /// except at the seven slots `r + 1 … r + 7` (mod `period`), where the lanes before `d` add the old
    /// bar and the others the new one (`jumps[4 * d + q]` is pair `q`'s value there).
    @inline(__always)
    static func cciEight(
        _ typical: UnsafePointer<Pair>,
        _ b: Int,
        _ period: Int,
        jumps: UnsafeMutablePointer<Pair>,
        mean: UnsafeMutablePointer<Double>,
        deviation: UnsafeMutablePointer<Double>
    ) {
        let r = b % period
        for d in 1...7 {
            let old = typical[b + d - period]
            let new = typical[b + d]
            let mixed = Pair(old[0], new[1])
            for q in 0..<4 { jumps[4 * d + q] = 2 * q + 1 < d ? old : (2 * q >= d ? new : mixed) }
        }
        // The slots in order: bars a ..< aEnd (all lanes alike), jumps j ..< jEnd, bars c ..< cEnd, jumps
        // k ..< kEnd.
        let wraps = r + 7 >= period
        let a = b - r
        let aEnd = wraps ? a : b + 1
        let j = wraps ? period - r : 1
        let c = b + 8 - period
        let cEnd = wraps ? b + 1 : b - r
        let k = 1
        let kEnd = wraps ? period - r : 1
        let p = Pair(repeating: Double(period))
        var s0 = Pair(repeating: 0)
        var s1 = s0
        var s2 = s0
        var s3 = s0
        @inline(__always) func sum(_ v0: Pair, _ v1: Pair, _ v2: Pair, _ v3: Pair) {
            s0 += v0
            s1 += v1
            s2 += v2
            s3 += v3
        }
        for bar in a..<aEnd { sum(typical[bar], typical[bar], typical[bar], typical[bar]) }
        for d in j..<8 { sum(jumps[4 * d], jumps[4 * d + 1], jumps[4 * d + 2], jumps[4 * d + 3]) }
        for bar in c..<cEnd { sum(typical[bar], typical[bar], typical[bar], typical[bar]) }
        for d in k..<kEnd { sum(jumps[4 * d], jumps[4 * d + 1], jumps[4 * d + 2], jumps[4 * d + 3]) }
        let m0 = s0 / p
        let m1 = s1 / p
        let m2 = s2 / p
        let m3 = s3 / p
        var d0 = Pair(repeating: 0)
        var d1 = d0
        var d2 = d0
        var d3 = d0
        @inline(__always) func deviate(_ v0: Pair, _ v1: Pair, _ v2: Pair, _ v3: Pair) {
            d0 += pairAbs(v0 - m0)
            d1 += pairAbs(v1 - m1)
            d2 += pairAbs(v2 - m2)
            d3 += pairAbs(v3 - m3)
        }
        for bar in a..<aEnd { deviate(typical[bar], typical[bar], typical[bar], typical[bar]) }
        for d in j..<8 { deviate(jumps[4 * d], jumps[4 * d + 1], jumps[4 * d + 2], jumps[4 * d + 3]) }
        for bar in c..<cEnd { deviate(typical[bar], typical[bar], typical[bar], typical[bar]) }
        for d in k..<kEnd { deviate(jumps[4 * d], jumps[4 * d + 1], jumps[4 * d + 2], jumps[4 * d + 3]) }
        @inline(__always) func store(_ q: Int, _ m: Pair, _ d: Pair) {
            storePair(m, mean, b + 2 * q)
            storePair(d, deviation, b + 2 * q)
        }
        store(0, m0, d0)
        store(1, m1, d1)
        store(2, m2, d2)
        store(3, m3, d3)
    }
}
