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

    /// TA_CCI over one run of bars: typical price `(h + l + c) / 3` against its SMA and mean absolute
    /// deviation over `period` bars; 0 when either the deviation from the mean or the mean deviation is
    /// zero. TA-Lib keeps the window in a ring (slot `k % period` holds bar `k`) and sums it slot by
    /// slot, as the mean deviation has no O(1) update; the sums here add the same values in the same
    /// order, so the last bits are equal.
    ///
    /// Each sum is a chain of dependent additions, so four consecutive bars are summed at once: ring `d`
    /// is TA-Lib's ring as it is at bar `b + d` (the rings differ in the slots of the bars in between),
    /// and each of the four interleaved chains performs exactly the scalar operations of its bar.
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
        withUnsafeTemporaryAllocation(of: Double.self, capacity: n) { typicalBuffer in
            let typical = typicalBuffer.baseAddress!
            for k in 0..<n { typical[k] = (high[k] + low[k] + close[k]) / 3 }
            @inline(__always) func value(_ b: Int, _ average: Double, _ deviation: Double) -> Double {
                let fromMean = typical[b] - average
                return !isZero(fromMean) && !isZero(deviation) ? fromMean / (0.015 * (deviation / p)) : 0
            }
            var b = lookback
            withUnsafeTemporaryAllocation(of: Double.self, capacity: 4 * period) { ringBuffer in
                // Four scalar rings side by side: ring d is lanes[d * period ..< (d + 1) * period].
                let r0 = ringBuffer.baseAddress!
                let r1 = r0 + period
                let r2 = r1 + period
                let r3 = r2 + period
                guard b + 4 <= n else { return }
                // Ring d holds bars 0 … b + d.
                var slot = 0
                for k in 0..<(b + 4) {
                    let v = typical[k]
                    if k <= b { r0[slot] = v }
                    if k <= b + 1 { r1[slot] = v }
                    if k <= b + 2 { r2[slot] = v }
                    r3[slot] = v
                    slot += 1
                    if slot == period { slot = 0 }
                }
                while b + 4 <= n {
                    var s0 = 0.0
                    var s1 = 0.0
                    var s2 = 0.0
                    var s3 = 0.0
                    for j in 0..<period {
                        s0 += r0[j]
                        s1 += r1[j]
                        s2 += r2[j]
                        s3 += r3[j]
                    }
                    let m0 = s0 / p
                    let m1 = s1 / p
                    let m2 = s2 / p
                    let m3 = s3 / p
                    var d0 = 0.0
                    var d1 = 0.0
                    var d2 = 0.0
                    var d3 = 0.0
                    for j in 0..<period {
                        d0 += abs(r0[j] - m0)
                        d1 += abs(r1[j] - m1)
                        d2 += abs(r2[j] - m2)
                        d3 += abs(r3[j] - m3)
                    }
                    out[b] = value(b, m0, d0)
                    out[b + 1] = value(b + 1, m1, d1)
                    out[b + 2] = value(b + 2, m2, d2)
                    out[b + 3] = value(b + 3, m3, d3)
                    // Ring d moves on to bar b + 4 + d: it takes bars b + d + 1 … b + d + 4.
                    if b + 8 <= n {
                        var s = (b + 1) % period
                        for t in 0..<7 {
                            let v = typical[b + 1 + t]
                            if t <= 3 { r0[s] = v }
                            if t >= 1 && t <= 4 { r1[s] = v }
                            if t >= 2 && t <= 5 { r2[s] = v }
                            if t >= 3 { r3[s] = v }
                            s += 1
                            if s == period { s = 0 }
                        }
                    }
                    b += 4
                }
            }
            // The last bars one at a time: bar b's window in ring order is typical[start + j] for the
            // slots j <= r and typical[start + j - period] for the others (r = b % period, start = b - r).
            while b < n {
                let r = b % period
                let start = b - r
                var sum = 0.0
                for j in 0..<period { sum += typical[start + j - (j > r ? period : 0)] }
                let average = sum / p
                var deviation = 0.0
                for j in 0..<period { deviation += abs(typical[start + j - (j > r ? period : 0)] - average) }
                out[b] = value(b, average, deviation)
                b += 1
            }
        }
    }

    /// TA_MFI over one run of bars: money flow `typical price * volume` split by the direction of the
    /// typical price (a move within TA-Lib's scaled epsilon counts as none), summed over `period` bars;
    /// `100 * positive / total`, 0 for a window without money flow. A whole window of bars without flow
    /// resets the sums to exactly zero, as TA-Lib does.
    static func mfiKernel(
        _ high: UnsafePointer<Double>,
        _ low: UnsafePointer<Double>,
        _ close: UnsafePointer<Double>,
        _ volume: UnsafePointer<Double>,
        _ n: Int,
        _ period: Int,
        _ out: UnsafeMutablePointer<Double>
    ) {
        let lookback = period
        guard n > lookback else { return fillNaN(out, 0..<n) }
        fillNaN(out, 0..<lookback)
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * period) { buffer in
            let positive = buffer.baseAddress!
            let negative = positive + period
            var slot = 0
            var positiveSum = 0.0
            var negativeSum = 0.0
            var prev = (high[0] + low[0] + close[0]) / 3.0
            var nullRun = 0
            // Adds bar i's flow to the ring and the sums (the slot's old flow already taken away).
            @inline(__always) func add(_ i: Int) {
                var typical = (high[i] + low[i] + close[i]) / 3.0
                let change = typical - prev
                let scale = abs(typical) + abs(prev)
                prev = typical
                typical *= volume[i]
                let flow = abs(change) <= epsilon * scale ? 0.0 : typical
                let up = change < 0.0 ? 0.0 : flow
                let down = change < 0.0 ? flow : 0.0
                positive[slot] = up
                negative[slot] = down
                positiveSum += up
                negativeSum += down
                nullRun = flow == 0.0 ? nullRun + 1 : 0
                if nullRun >= period {
                    nullRun = period
                    positiveSum = 0.0
                    negativeSum = 0.0
                }
            }
            @inline(__always) func value() -> Double {
                let total = positiveSum + negativeSum
                let clamped = positiveSum < 0.0 ? 0.0 : (positiveSum > total ? total : positiveSum)
                return total <= 0.0 ? 0.0 : 100.0 * (clamped / total)
            }
            for i in 1...period {
                add(i)
                slot += 1
                if slot == period { slot = 0 }
            }
            out[period] = value()
            var i = period + 1
            while i < n {
                positiveSum -= positive[slot]
                negativeSum -= negative[slot]
                add(i)
                out[i] = value()
                slot += 1
                if slot == period { slot = 0 }
                i += 1
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
