// Momentum and oscillator kernels over one NaN-free run, in TA-Lib's order of operations.

extension Indicators {
    /// TA_RSI (default compatibility) over one run: average gain and loss seeded with plain means of the
    /// first `period` changes, then Wilder-smoothed; `100 * gain / (gain + loss)`, 0 when both are zero.
    /// Period 1 returns the input from bar 1 on (TA-Lib's special case).
    static func rsiKernel(_ x: UnsafePointer<Double>, _ n: Int, _ period: Int, _ out: UnsafeMutablePointer<Double>) {
        let lookback = period
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        if period == 1 {
            (out + 1).update(from: x + 1, count: n - 1)
            return
        }
        let p = Double(period)
        let p1 = Double(period - 1)
        var gain = 0.0
        var loss = 0.0
        var prev = x[0]
        for i in 1...period {
            let d = x[i] - prev
            prev = x[i]
            if d < 0 { loss -= d } else { gain += d }
        }
        loss /= p
        gain /= p
        @inline(__always) func value(_ gain: Double, _ loss: Double) -> Double {
            let total = gain + loss
            return isZero(total) ? 0 : 100.0 * (gain / total)
        }
        out[period] = value(gain, loss)
        var i = period + 1
        while i < n {
            let v = x[i]
            let d = v - prev
            prev = v
            loss *= p1
            gain *= p1
            if d < 0 { loss -= d } else { gain += d }
            loss /= p
            gain /= p
            out[i] = value(gain, loss)
            i += 1
        }
    }

    /// TA_ROC over one run: `((x / x[period]) - 1) * 100`, 0 where `x[period]` is 0.
    static func rocKernel(_ x: UnsafePointer<Double>, _ n: Int, _ period: Int, _ out: UnsafeMutablePointer<Double>) {
        guard n > period else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<period)
        var i = period
        while i < n {
            let before = x[i - period]
            out[i] = before != 0 ? ((x[i] / before) - 1.0) * 100.0 : 0
            i += 1
        }
    }

    /// TA_MOM over one run: `x - x[period]`.
    static func momKernel(_ x: UnsafePointer<Double>, _ n: Int, _ period: Int, _ out: UnsafeMutablePointer<Double>) {
        guard n > period else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<period)
        var i = period
        while i < n {
            out[i] = x[i] - x[i - period]
            i += 1
        }
    }

    /// TA_MFI over one run of bars: money flow `typical price * volume` split by the direction of the
    /// typical price (a move within TA-Lib's scaled epsilon counts as none), summed over `period` bars;
    /// `100 * positive / total`, 0 for a window without money flow. A whole window of bars without flow
    /// resets the sums to exactly zero, as TA-Lib does.
    ///
    /// In three passes: the flows bar by bar (independent, so the loop vectorises), the two running sums
    /// (TA-Lib's chain: the flow leaving the window taken away, then the new one added), and the ratio
    /// bar by bar. The operations and their order are TA-Lib's.
    static func mfiKernel(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ volume: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>,
        at chosen: Bars? = nil
    ) {
        let lookback = period
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 3 * n) { buffer in
            let positive = buffer.baseAddress!
            let negative = positive + n
            // The typical prices, then (from bar `period`) the negative sums.
            let typical = negative + n
            let negativeSums = typical
            typicalPrices(high, low, close, n, typical)
            // Bar i's flow against bar i - 1, two bars at a time.
            @inline(__always) func flows(_ price: Pair, _ prev: Pair, _ volume: Pair) -> (up: Pair, down: Pair) {
                let change = price - prev
                let scale = pairAbs(price) + pairAbs(prev)
                let flow = (price * volume).replacing(
                    with: 0,
                    where: pairAbs(change) .<= Pair(repeating: epsilon) * scale
                )
                let falling = change .< Pair(repeating: 0)
                return (
                    flow.replacing(with: 0, where: falling), Pair(repeating: 0).replacing(with: flow, where: falling)
                )
            }
            var i = 1
            while i + 2 <= n {
                let f = flows(loadPair(typical, i), loadPair(typical, i - 1), loadPair(volume, i))
                storePair(f.up, positive, i)
                storePair(f.down, negative, i)
                i += 2
            }
            if i < n {
                let f = flows(Pair(repeating: typical[i]), Pair(repeating: typical[i - 1]), Pair(repeating: volume[i]))
                positive[i] = f.up[0]
                negative[i] = f.down[0]
            }
            var positiveSum = 0.0
            var negativeSum = 0.0
            var nullRun = 0
            // Adds bar i's flow to the sums (the flow leaving the window already taken away).
            @inline(__always) func add(_ i: Int) {
                let up = positive[i]
                let down = negative[i]
                positiveSum += up
                negativeSum += down
                nullRun = up + down == 0.0 ? nullRun + 1 : 0  // one side is 0: the sum is the flow
                if nullRun >= period {
                    nullRun = period
                    positiveSum = 0.0
                    negativeSum = 0.0
                }
            }
            for i in 1...period { add(i) }
            out[period] = positiveSum
            negativeSums[period] = negativeSum
            i = period + 1
            while i < n {
                positiveSum -= positive[i - period]
                negativeSum -= negative[i - period]
                add(i)
                out[i] = positiveSum
                negativeSums[i] = negativeSum
                i += 1
            }
            // 100 * positive / total, the positive sum clamped to 0 ... total; 0 without money flow.
            @inline(__always) func ratio(_ up: Pair, _ down: Pair) -> Pair {
                let total = up + down
                let zero = Pair(repeating: 0)
                let clamped = up.replacing(with: total, where: up .> total).replacing(with: zero, where: up .< zero)
                return (Pair(repeating: 100) * (clamped / total)).replacing(with: zero, where: total .<= zero)
            }
            eachPair(from: period, n, out, negativeSums, negativeSums, into: out, at: chosen) { up, down, _ in
                ratio(up, down)
            }
        }
    }

    /// TA_OBV over one run: starts at the first bar's volume, then adds the volume on an up close and
    /// subtracts it on a down close.
    static func obvKernel(
        _ close: UnsafePointer<Double>,
        _ volume: UnsafePointer<Double>,
        _ n: Int,
        _ out: UnsafeMutablePointer<Double>
    ) {
        guard n > 0 else { return }
        var obv = volume[0]
        var prev = close[0]
        out[0] = obv
        var i = 1
        while i < n {
            let c = close[i]
            if c > prev {
                obv += volume[i]
            } else if c < prev {
                obv -= volume[i]
            }
            prev = c
            out[i] = obv
            i += 1
        }
    }

    /// TA_ADX over one run of bars: +DM, -DM and TR summed over `period - 1` bars, then Wilder-smoothed;
    /// DX = `100 * |-DI - +DI| / (-DI + +DI)`; the first ADX is the mean of the first `period` DX values,
    /// then Wilder-smoothed. Starts at bar `2 * period - 1`.
    static func adxKernel(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>
    ) {
        let lookback = 2 * period - 1
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        let p = Double(period)
        let p1 = Double(period - 1)
        var prevHigh = high[0]
        var prevLow = low[0]
        var prevClose = close[0]
        var minusDM = 0.0
        var plusDM = 0.0
        var tr = 0.0
        var today = 0

        // One bar's directional movement and true range, against the previous bar.
        @inline(__always) func step() -> (plus: Double, minus: Double, trueRange: Double) {
            today += 1
            let h = high[today]
            let l = low[today]
            let diffP = h - prevHigh
            let diffM = prevLow - l
            prevHigh = h
            prevLow = l
            var plus = 0.0
            var minus = 0.0
            if diffM > 0 && diffP < diffM {
                minus = diffM
            } else if diffP > 0 && diffP > diffM {
                plus = diffP
            }
            var range = h - l
            let up = abs(h - prevClose)
            if up > range { range = up }
            let down = abs(l - prevClose)
            if down > range { range = down }
            prevClose = close[today]
            return (plus, minus, range)
        }
        // DX from the smoothed sums, nil where TA-Lib skips it (zero TR or zero DI sum).
        @inline(__always) func dx() -> Double? {
            guard !isZero(tr) else { return nil }
            let minusDI = 100.0 * (minusDM / tr)
            let plusDI = 100.0 * (plusDM / tr)
            let sum = minusDI + plusDI
            guard !isZero(sum) else { return nil }
            return 100.0 * (abs(minusDI - plusDI) / sum)
        }
        @inline(__always) func smooth(_ s: (plus: Double, minus: Double, trueRange: Double)) {
            minusDM -= minusDM / p
            plusDM -= plusDM / p
            minusDM += s.minus  // adding the zero side is exact, as TA-Lib's branch skipping it
            plusDM += s.plus
            tr = tr - tr / p + s.trueRange
        }

        for _ in 0..<(period - 1) {
            let s = step()
            minusDM += s.minus
            plusDM += s.plus
            tr += s.trueRange
        }
        var sumDX = 0.0
        for _ in 0..<period {
            smooth(step())
            if let v = dx() { sumDX += v }
        }
        var adx = sumDX / p
        out[today] = adx
        while today < n - 1 {
            smooth(step())
            if let v = dx() { adx = (adx * p1 + v) / p }
            out[today] = adx
        }
    }
}
