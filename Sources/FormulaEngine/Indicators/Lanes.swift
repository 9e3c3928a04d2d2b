// Four symbols in SIMD lanes: the recursive kernels (EMA, Wilder smoothing, MACD, RSI, ATR, ADX, OBV) are
// chains of dependent operations along time, so one series cannot go faster than the chain's latency;
// four series side by side keep four chains in flight. Each lane performs exactly the IEEE operations of
// the scalar kernel in the same order (a branch of the scalar kernel becomes a select between the two
// results it would have computed), so every lane's output equals the scalar kernel's bit for bit.

/// Four doubles, one per lane.
typealias Lane4 = SIMD4<Double>

/// One column of four series read at the same bar offset: lane `l` reads `p.l[t]`.
struct LaneColumn {
    var p: (UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>)

    @inline(__always)
    subscript(t: Int) -> Lane4 { Lane4(p.0[t], p.1[t], p.2[t], p.3[t]) }

    /// This column for a segment of bars ending at `end`: lanes shorter than `end` read the longest
    /// lane's series instead (valid memory; what they compute there is never read).
    @inline(__always)
    func padded(_ lengths: LaneLengths, through end: Int) -> LaneColumn {
        let longest = lengths.longest
        let far = [p.0, p.1, p.2, p.3][longest]
        return LaneColumn(
            p: (
                lengths.n.0 >= end ? p.0 : far, lengths.n.1 >= end ? p.1 : far,
                lengths.n.2 >= end ? p.2 : far, lengths.n.3 >= end ? p.3 : far
            )
        )
    }
}

/// One output of four series: lane `l` writes `p.l[t]`. Every lane's buffer holds at least the longest
/// lane's length: a lane goes on computing (garbage) up to that length and writes it past its own end.
struct LaneOutput {
    var p:
        (
            UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>,
            UnsafeMutablePointer<Double>
        )

    @inline(__always)
    subscript(t: Int) -> Lane4 {
        get { Lane4(p.0[t], p.1[t], p.2[t], p.3[t]) }
        nonmutating set {
            p.0[t] = newValue[0]
            p.1[t] = newValue[1]
            p.2[t] = newValue[2]
            p.3[t] = newValue[3]
        }
    }

    /// NaN in `0..<count` of every lane (the warm-up).
    func fillNaN(_ count: Int) {
        Indicators.fillNaN(p.0, 0..<count)
        Indicators.fillNaN(p.1, 0..<count)
        Indicators.fillNaN(p.2, 0..<count)
        Indicators.fillNaN(p.3, 0..<count)
    }
}

/// The lengths of the four series of a lane group.
struct LaneLengths {
    var n: (Int, Int, Int, Int)

    init(_ n: (Int, Int, Int, Int)) { self.n = n }

    var shortest: Int { Swift.min(n.0, n.1, n.2, n.3) }
    var longestCount: Int { Swift.max(n.0, n.1, n.2, n.3) }
    /// Index of the longest lane.
    var longest: Int {
        let m = longestCount
        return n.0 == m ? 0 : n.1 == m ? 1 : n.2 == m ? 2 : 3
    }

    /// Calls `body(start, end)` over `start..<longestCount` in segments that end where a lane ends, so that
    /// the body can pad the columns once per segment (``LaneColumn/padded(_:through:)``).
    @inline(__always)
    func segments(from start: Int, _ body: (Int, Int) -> Void) {
        var ends = [n.0, n.1, n.2, n.3]
        ends.sort()
        var t = start
        for end in ends where end > t {
            body(t, end)
            t = end
        }
    }
}

extension Indicators {
    /// `abs` of each lane (the sign bit cleared, as `Swift.abs` of a `Double`).
    @inline(__always)
    static func laneAbs(_ v: Lane4) -> Lane4 {
        let bits = unsafeBitCast(v, to: SIMD4<UInt64>.self) & SIMD4(repeating: 0x7FFF_FFFF_FFFF_FFFF)
        return unsafeBitCast(bits, to: Lane4.self)
    }

    /// TA-Lib's `TA_IS_ZERO`, per lane.
    @inline(__always)
    static func laneIsZero(_ v: Lane4) -> SIMDMask<SIMD4<Int64>> {
        (Lane4(repeating: -epsilon) .< v) .& (v .< Lane4(repeating: epsilon))
    }

    /// ``emaKernel(_:_:_:_:)`` in four lanes (every lane longer than `period - 1`).
    static func emaLanes(_ x: LaneColumn, _ lengths: LaneLengths, _ period: Int, _ out: LaneOutput) {
        let lookback = period - 1
        out.fillNaN(lookback)
        let k = Lane4(repeating: 2.0 / Double(period + 1))
        var total = Lane4(repeating: 0)
        for i in 0..<period { total += x[i] }
        var prev = total / Lane4(repeating: Double(period))
        out[lookback] = prev
        lengths.segments(from: period) { start, end in
            let x = x.padded(lengths, through: end)
            var i = start
            while i < end {
                prev = (x[i] - prev) * k + prev
                out[i] = prev
                i += 1
            }
        }
    }

    /// ``rmaKernel(_:_:_:_:)`` in four lanes (every lane longer than `period - 1`).
    static func rmaLanes(_ x: LaneColumn, _ lengths: LaneLengths, _ period: Int, _ out: LaneOutput) {
        let lookback = period - 1
        out.fillNaN(lookback)
        let p = Lane4(repeating: Double(period))
        let p1 = Lane4(repeating: Double(period - 1))
        var total = Lane4(repeating: 0)
        for i in 0..<period { total += x[i] }
        var prev = total / p
        out[lookback] = prev
        lengths.segments(from: period) { start, end in
            let x = x.padded(lengths, through: end)
            var i = start
            while i < end {
                prev *= p1
                prev += x[i]
                prev /= p
                out[i] = prev
                i += 1
            }
        }
    }

    /// ``rsiKernel(_:_:_:_:)`` in four lanes (period ≥ 2, every lane longer than `period`).
    static func rsiLanes(_ x: LaneColumn, _ lengths: LaneLengths, _ period: Int, _ out: LaneOutput) {
        out.fillNaN(period)
        let zero = Lane4(repeating: 0)
        let p = Lane4(repeating: Double(period))
        let p1 = Lane4(repeating: Double(period - 1))
        var gain = zero
        var loss = zero
        var prev = x[0]
        for i in 1...period {
            let v = x[i]
            let d = v - prev
            prev = v
            let down = d .< zero
            loss = (loss - d).replacing(with: loss, where: .!down)
            gain = (gain + d).replacing(with: gain, where: down)
        }
        loss /= p
        gain /= p
        @inline(__always) func value(_ gain: Lane4, _ loss: Lane4) -> Lane4 {
            let total = gain + loss
            return (Lane4(repeating: 100.0) * (gain / total)).replacing(with: zero, where: laneIsZero(total))
        }
        out[period] = value(gain, loss)
        lengths.segments(from: period + 1) { start, end in
            let x = x.padded(lengths, through: end)
            var i = start
            while i < end {
                let v = x[i]
                let d = v - prev
                prev = v
                loss *= p1
                gain *= p1
                let down = d .< zero
                loss = (loss - d).replacing(with: loss, where: .!down)
                gain = (gain + d).replacing(with: gain, where: down)
                loss /= p
                gain /= p
                out[i] = value(gain, loss)
                i += 1
            }
        }
    }

    /// ``trueRange(_:_:_:_:)`` in four lanes.
    @inline(__always)
    static func trueRangeLanes(_ high: LaneColumn, _ low: LaneColumn, _ close: LaneColumn, _ i: Int) -> Lane4 {
        let h = high[i]
        let l = low[i]
        let c = close[i - 1]
        var greatest = h - l
        let up = laneAbs(c - h)
        greatest = greatest.replacing(with: up, where: up .> greatest)
        let down = laneAbs(c - l)
        greatest = greatest.replacing(with: down, where: down .> greatest)
        return greatest
    }

    /// ``atrKernel(_:_:_:_:_:_:)`` in four lanes (period ≥ 2, every lane longer than `period`).
    static func atrLanes(
        _ high: LaneColumn,
        _ low: LaneColumn,
        _ close: LaneColumn,
        _ lengths: LaneLengths,
        _ period: Int,
        _ out: LaneOutput
    ) {
        out.fillNaN(period)
        let p = Lane4(repeating: Double(period))
        let p1 = Lane4(repeating: Double(period - 1))
        var total = Lane4(repeating: 0)
        for i in 1...period { total += trueRangeLanes(high, low, close, i) }
        var atr = total / p
        out[period] = atr
        lengths.segments(from: period + 1) { start, end in
            let high = high.padded(lengths, through: end)
            let low = low.padded(lengths, through: end)
            // Bar start - 1 of a lane padded here is the longest lane's (valid memory, a value never read).
            let close = close.padded(lengths, through: end)
            var i = start
            while i < end {
                atr *= p1
                atr += trueRangeLanes(high, low, close, i)
                atr /= p
                out[i] = atr
                i += 1
            }
        }
    }

    /// ``macdKernel(_:_:fast:slow:signal:_:_:_:)`` in four lanes (every lane longer than its lookback).
    static func macdLanes(
        _ x: LaneColumn,
        _ lengths: LaneLengths,
        fast fastIn: Int,
        slow slowIn: Int,
        signal: Int,
        _ macdOut: LaneOutput,
        _ signalOut: LaneOutput,
        _ histOut: LaneOutput
    ) {
        let fast = min(fastIn, slowIn)
        let slow = max(fastIn, slowIn)
        let lookback = (slow - 1) + (signal - 1)
        macdOut.fillNaN(lookback)
        signalOut.fillNaN(lookback)
        histOut.fillNaN(lookback)
        let fastK = Lane4(repeating: 2.0 / Double(fast + 1))
        let slowK = Lane4(repeating: 2.0 / Double(slow + 1))
        let signalK = Lane4(repeating: 2.0 / Double(signal + 1))
        var today = 0
        var slowTotal = Lane4(repeating: 0)
        for _ in 0..<(slow - fast) {
            slowTotal += x[today]
            today += 1
        }
        var fastTotal = Lane4(repeating: 0)
        for _ in 0..<fast {
            let v = x[today]
            fastTotal += v
            slowTotal += v
            today += 1
        }
        var prevSlow = slowTotal / Lane4(repeating: Double(slow))
        var prevFast = fastTotal / Lane4(repeating: Double(fast))
        var macd = prevFast - prevSlow
        var signalTotal = macd
        for _ in 0..<(signal - 1) {
            let v = x[today]
            today += 1
            prevFast = (v - prevFast) * fastK + prevFast
            prevSlow = (v - prevSlow) * slowK + prevSlow
            macd = prevFast - prevSlow
            signalTotal += macd
        }
        var prevSignal = signalTotal / Lane4(repeating: Double(signal))
        macdOut[lookback] = macd
        signalOut[lookback] = prevSignal
        histOut[lookback] = macd - prevSignal
        lengths.segments(from: today) { start, end in
            let x = x.padded(lengths, through: end)
            var i = start
            while i < end {
                let v = x[i]
                prevFast = (v - prevFast) * fastK + prevFast
                prevSlow = (v - prevSlow) * slowK + prevSlow
                macd = prevFast - prevSlow
                prevSignal = (macd - prevSignal) * signalK + prevSignal
                macdOut[i] = macd
                signalOut[i] = prevSignal
                histOut[i] = macd - prevSignal
                i += 1
            }
        }
    }

    /// ``obvKernel(_:_:_:_:)`` in four lanes (every lane at least one bar long).
    static func obvLanes(_ close: LaneColumn, _ volume: LaneColumn, _ lengths: LaneLengths, _ out: LaneOutput) {
        var obv = volume[0]
        var prev = close[0]
        out[0] = obv
        lengths.segments(from: 1) { start, end in
            let close = close.padded(lengths, through: end)
            let volume = volume.padded(lengths, through: end)
            var i = start
            while i < end {
                let c = close[i]
                let v = volume[i]
                obv = obv.replacing(with: obv + v, where: c .> prev).replacing(with: obv - v, where: c .< prev)
                prev = c
                out[i] = obv
                i += 1
            }
        }
    }

    /// ``adxKernel(_:_:_:_:_:_:)`` in four lanes (every lane longer than `2 * period - 1`).
    static func adxLanes(
        _ high: LaneColumn,
        _ low: LaneColumn,
        _ close: LaneColumn,
        _ lengths: LaneLengths,
        _ period: Int,
        _ out: LaneOutput
    ) {
        let lookback = 2 * period - 1
        out.fillNaN(lookback)
        let zero = Lane4(repeating: 0)
        let hundred = Lane4(repeating: 100.0)
        let p = Lane4(repeating: Double(period))
        let p1 = Lane4(repeating: Double(period - 1))
        var prevHigh = high[0]
        var prevLow = low[0]
        var prevClose = close[0]
        var minusDM = zero
        var plusDM = zero
        var tr = zero
        var today = 0

        @inline(__always) func step(
            _ high: LaneColumn,
            _ low: LaneColumn,
            _ close: LaneColumn
        ) -> (plus: Lane4, minus: Lane4, trueRange: Lane4) {
            today += 1
            let h = high[today]
            let l = low[today]
            let diffP = h - prevHigh
            let diffM = prevLow - l
            prevHigh = h
            prevLow = l
            let isMinus = (diffM .> zero) .& (diffP .< diffM)
            let isPlus = .!isMinus .& (diffP .> zero) .& (diffP .> diffM)
            let minus = zero.replacing(with: diffM, where: isMinus)
            let plus = zero.replacing(with: diffP, where: isPlus)
            var range = h - l
            let up = laneAbs(h - prevClose)
            range = range.replacing(with: up, where: up .> range)
            let down = laneAbs(l - prevClose)
            range = range.replacing(with: down, where: down .> range)
            prevClose = close[today]
            return (plus, minus, range)
        }
        // DX and where TA-Lib computes it (a non-zero TR and DI sum).
        @inline(__always) func dx() -> (value: Lane4, valid: SIMDMask<SIMD4<Int64>>) {
            let minusDI = hundred * (minusDM / tr)
            let plusDI = hundred * (plusDM / tr)
            let sum = minusDI + plusDI
            let valid = .!laneIsZero(tr) .& .!laneIsZero(sum)
            return (hundred * (laneAbs(minusDI - plusDI) / sum), valid)
        }
        @inline(__always) func smooth(_ s: (plus: Lane4, minus: Lane4, trueRange: Lane4)) {
            minusDM -= minusDM / p
            plusDM -= plusDM / p
            minusDM += s.minus
            plusDM += s.plus
            tr = tr - tr / p + s.trueRange
        }

        for _ in 0..<(period - 1) {
            let s = step(high, low, close)
            minusDM += s.minus
            plusDM += s.plus
            tr += s.trueRange
        }
        var sumDX = zero
        for _ in 0..<period {
            smooth(step(high, low, close))
            let d = dx()
            sumDX = sumDX.replacing(with: sumDX + d.value, where: d.valid)
        }
        var adx = sumDX / p
        out[today] = adx
        lengths.segments(from: today + 1) { start, end in
            let high = high.padded(lengths, through: end)
            let low = low.padded(lengths, through: end)
            let close = close.padded(lengths, through: end)
            while today < end - 1 {
                smooth(step(high, low, close))
                let d = dx()
                adx = adx.replacing(with: (adx * p1 + d.value) / p, where: d.valid)
                out[today] = adx
            }
        }
    }
}
