// Several SMAs in one pass. An SMA's running total is a chain of dependent additions (one per bar), so a
// pass over one series runs at the adder's latency whatever else it does; the totals of different SMAs are
// independent, so one loop over up to four of them keeps four chains in flight, and the divider (two bars per
// SIMD2 division) rather than the adder bounds it. Each run performs exactly `smaKernel`'s operations in its
// order (`total += x[i] - x[i - period]`, then `total / period`), so every value equals the SMA computed alone
// bit for bit.

/// One SMA of ``Indicators/smas(_:_:)``: `x` and `out` hold the pass's `n` bars.
struct SMARun {
    var x: UnsafePointer<Double>
    /// At least 2.
    var period: Int
    var out: UnsafeMutablePointer<Double>
    /// Whether `out` gets the SMA; else the running totals (TA_SUM's), for ``Indicators/smaFromTotals(_:_:period:at:)``.
    var divide: Bool
}

extension Indicators {
    /// Every run's SMA (or running totals) over `n` bars, as ``sma(_:period:into:)`` (or ``sum(_:period:into:)``)
    /// would write it alone.
    static func smas(_ runs: UnsafeMutableBufferPointer<SMARun>, _ n: Int) {
        var k = 0
        while k < runs.count {
            // Up to four runs per pass; a missing one repeats the first (never read: `count` stops before it).
            let count = min(4, runs.count - k)
            func run(_ j: Int) -> SMARun { runs[k + (j < count ? j : 0)] }
            switch count {
            case 1: smaPass(run(0), run(0), run(0), run(0), count: 1, n)
            case 2: smaPass(run(0), run(1), run(0), run(0), count: 2, n)
            case 3: smaPass(run(0), run(1), run(2), run(0), count: 3, n)
            default: smaPass(run(0), run(1), run(2), run(3), count: 4, n)
            }
            k += count
        }
    }

    /// TA_SMA from running totals (``smas(_:_:)`` with `divide` false): `out[i] / period` at the chosen bars,
    /// at every bar without them, in place.
    static func smaFromTotals(_ out: UnsafeMutablePointer<Double>, _ n: Int, period: Int, at chosen: Bars?) {
        let p = Pair(repeating: Double(period))
        eachPair(from: period - 1, n, out, out, out, into: out, at: chosen) { total, _, _ in total / p }
    }

    /// One pass over the first `count` of runs `a, b, c, d`: two bars per step, each run's two totals
    /// divided with one SIMD2 division and stored together (as ``smaKernel`` does for one run).
    @inline(__always)
    private static func smaPass(_ a: SMARun, _ b: SMARun, _ c: SMARun, _ d: SMARun, count: Int, _ n: Int) {
        let start = max(a.period, count > 1 ? b.period : 0, count > 2 ? c.period : 0, count > 3 ? d.period : 0)
        // Too short for the shared loop: each run alone (rare).
        guard n > start else {
            alone(a, n)
            if count > 1 { alone(b, n) }
            if count > 2 { alone(c, n) }
            if count > 3 { alone(d, n) }
            return
        }
        // Each run's warm-up and first totals, alone, up to the longest period.
        @inline(__always) func head(_ r: SMARun) -> Double {
            var total = smaStart(r.x, n, r.period, r.out) ?? .nan
            write(r, total, at: r.period - 1)
            var i = r.period
            while i < start {
                total += r.x[i] - r.x[i - r.period]
                write(r, total, at: i)
                i += 1
            }
            return total
        }
        var ta = head(a)
        var tb = count > 1 ? head(b) : 0
        var tc = count > 2 ? head(c) : 0
        var td = count > 3 ? head(d) : 0
        // Bars i and i + 1 of one run: its chain of two additions, the two totals divided at once.
        @inline(__always) func step(_ r: SMARun, _ divisor: Pair, _ total: inout Double, _ i: Int) {
            let change = loadPair(r.x, i) - loadPair(r.x, i - r.period)
            total += change[0]
            let first = total
            total += change[1]
            let totals = Pair(first, total)
            storePair(r.divide ? totals / divisor : totals, r.out, i)
        }
        let (pa, pb, pc, pd) = (
            Pair(repeating: Double(a.period)), Pair(repeating: Double(b.period)), Pair(repeating: Double(c.period)),
            Pair(repeating: Double(d.period))
        )
        var i = start
        while i + 2 <= n {
            step(a, pa, &ta, i)
            if count > 1 { step(b, pb, &tb, i) }
            if count > 2 { step(c, pc, &tc, i) }
            if count > 3 { step(d, pd, &td, i) }
            i += 2
        }
        if i < n {
            @inline(__always) func last(_ r: SMARun, _ total: inout Double) {
                total += r.x[i] - r.x[i - r.period]
                write(r, total, at: i)
            }
            last(a, &ta)
            if count > 1 { last(b, &tb) }
            if count > 2 { last(c, &tc) }
            if count > 3 { last(d, &td) }
        }
        // A NaN met (the total then stays NaN to the end): that run again, NaN-free run by NaN-free run.
        if ta.isNaN { alone(a, n) }
        if count > 1, tb.isNaN { alone(b, n) }
        if count > 2, tc.isNaN { alone(c, n) }
        if count > 3, td.isNaN { alone(d, n) }
    }

    /// `r`'s value at bar `i` from its running total.
    @inline(__always)
    private static func write(_ r: SMARun, _ total: Double, at i: Int) {
        r.out[i] = r.divide ? total / Double(r.period) : total
    }

    /// `r` computed alone, as the pass writes it.
    private static func alone(_ r: SMARun, _ n: Int) {
        let x = In(start: r.x, count: n)
        let out = Out(start: r.out, count: n)
        if r.divide { sma(x, period: r.period, into: out) } else { sum(x, period: r.period, into: out) }
    }
}
