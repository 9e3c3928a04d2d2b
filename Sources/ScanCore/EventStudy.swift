import FormulaEngine
import Foundation

/// Where an event study enters a position after a signal.
public enum StudyEntry: String, Sendable, Hashable, Codable, CaseIterable {
    /// At the signal bar's close.
    case close
    /// At the next bar's open.
    case nextOpen = "next-open"
}

/// What an event study measures: forward returns at each horizon (in bars) and, over the longest
/// horizon, the maximum favourable and adverse excursions.
public struct StudySpec: Sendable, Hashable, Codable {
    /// Horizons in bars, ascending, distinct, each in `1...maxHorizon`.
    public private(set) var horizons: [Int]
    public private(set) var entry: StudyEntry

    /// At most this many horizons.
    public static let maxHorizonCount = 16
    /// The longest horizon, in bars.
    public static let maxHorizon = 1000

    /// Checks `horizons`: at least one, at most ``maxHorizonCount``, each a positive integer up to
    /// ``maxHorizon``, no repeats. They are sorted ascending.
    public init(horizons: [Int], entry: StudyEntry = .close) throws(StudySpecError) {
        guard !horizons.isEmpty else { throw .empty }
        guard horizons.count <= Self.maxHorizonCount else { throw .tooMany(horizons.count) }
        var seen = Set<Int>()
        for h in horizons {
            guard h >= 1 else { throw .notPositive(String(h)) }
            guard h <= Self.maxHorizon else { throw .tooLong(h) }
            guard seen.insert(h).inserted else { throw .repeated(h) }
        }
        self.horizons = horizons.sorted()
        self.entry = entry
    }

    /// Parses a comma-separated list of horizons (`1,5,10,20`).
    public init(parsing text: String, entry: StudyEntry = .close) throws(StudySpecError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var horizons: [Int] = []
        for p in parts {
            guard let h = Int(p), h >= 1 else { throw .notPositive(p) }
            horizons.append(h)
        }
        try self.init(horizons: horizons, entry: entry)
    }

    /// The longest horizon: bars after the last bar of the range a symbol's load must include.
    public var longest: Int { horizons.last ?? 0 }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let horizons = try c.decode([Int].self, forKey: .horizons)
        let entry = try c.decodeIfPresent(StudyEntry.self, forKey: .entry) ?? .close
        do {
            try self.init(horizons: horizons, entry: entry)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .horizons, in: c, debugDescription: error.description)
        }
    }

    enum CodingKeys: String, CodingKey { case horizons, entry }
}

/// Why horizons were refused.
public enum StudySpecError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case tooMany(Int)
    case notPositive(String)
    case tooLong(Int)
    case repeated(Int)

    public var description: String {
        switch self {
        case .empty: "the study needs at least one horizon (bars after the signal), e.g. 1,5,20"
        case .tooMany(let n): "the study takes at most \(StudySpec.maxHorizonCount) horizons (got \(n))"
        case .notPositive(let t): "a study horizon must be a positive whole number of bars (got '\(t)')"
        case .tooLong(let h): "a study horizon can be at most \(StudySpec.maxHorizon) bars (got \(h))"
        case .repeated(let h): "study horizon \(h) is given twice"
        }
    }
}

/// What happened after one signal: the forward return at each horizon of the study (NaN when the
/// horizon runs past the data: incomplete), and the maximum favourable / adverse excursion over the
/// longest horizon (NaN when incomplete).
public struct ForwardOutcome: Sendable, Hashable, Codable {
    /// The returns, held without a heap object for up to four horizons (``ForwardReturns``): a study's
    /// tens of thousands of outcomes are built, sent, copied and written without allocating, retaining
    /// or releasing an array each.
    package var stored: ForwardReturns
    /// Highest high over the horizon divided by the entry price, minus 1 (≥ a loss never).
    public var maxFavorable: Double
    /// Lowest low over the horizon divided by the entry price, minus 1.
    public var maxAdverse: Double

    /// `returns[k]` is the return at `horizons[k]`, as a fraction (0.05 = +5 %). Built on each read:
    /// code that reads many outcomes uses ``returnCount`` and ``forwardReturn(_:)``.
    public var returns: [Double] {
        get { stored.array }
        set { stored = ForwardReturns(newValue) }
    }

    /// How many returns (one per horizon of the study).
    public var returnCount: Int { stored.count }

    /// The return at the study's `k`-th horizon, `k < returnCount`.
    public func forwardReturn(_ k: Int) -> Double { stored[k] }

    public init(returns: [Double], maxFavorable: Double, maxAdverse: Double) {
        self.init(stored: ForwardReturns(returns), maxFavorable: maxFavorable, maxAdverse: maxAdverse)
    }

    package init(stored: ForwardReturns, maxFavorable: Double, maxAdverse: Double) {
        self.stored = stored
        self.maxFavorable = maxFavorable
        self.maxAdverse = maxAdverse
    }

    enum CodingKeys: String, CodingKey { case returns, maxFavorable, maxAdverse }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            returns: try c.decode([Double].self, forKey: .returns),
            maxFavorable: try c.decode(Double.self, forKey: .maxFavorable),
            maxAdverse: try c.decode(Double.self, forKey: .maxAdverse)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(returns, forKey: .returns)
        try c.encode(maxFavorable, forKey: .maxFavorable)
        try c.encode(maxAdverse, forKey: .maxAdverse)
    }

    public static func == (a: ForwardOutcome, b: ForwardOutcome) -> Bool {
        func same(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
        guard a.returnCount == b.returnCount else { return false }
        for k in 0..<a.returnCount where !same(a.stored[k], b.stored[k]) { return false }
        return same(a.maxFavorable, b.maxFavorable) && same(a.maxAdverse, b.maxAdverse)
    }

    public func hash(into h: inout Hasher) { h.combine(returnCount) }
}

/// A match's forward returns: up to four inline (no heap object), more in an array. Always the
/// smallest case that holds them.
package enum ForwardReturns: Sendable {
    /// `count` (0…4) returns, the first `count` of the four (the others NaN).
    case inline((Double, Double, Double, Double), count: UInt8)
    /// More than four.
    case array([Double])

    package init(_ values: [Double]) {
        self.init(count: values.count) { values[$0] }
    }

    /// `count` returns, the `k`-th `value(k)`, called in order of `k` (a decoder reads them in turn).
    @inline(__always)
    package init<E: Error>(count: Int, _ value: (Int) throws(E) -> Double) throws(E) {
        guard count <= 4 else {
            self = .array(try (0..<count).map(value))
            return
        }
        var t = (Double.nan, Double.nan, Double.nan, Double.nan)
        if count > 0 { t.0 = try value(0) }
        if count > 1 { t.1 = try value(1) }
        if count > 2 { t.2 = try value(2) }
        if count > 3 { t.3 = try value(3) }
        self = .inline(t, count: UInt8(count))
    }

    package var count: Int {
        switch self {
        case .inline(_, let n): Int(n)
        case .array(let a): a.count
        }
    }

    /// The `k`-th return, `k < count`.
    package subscript(k: Int) -> Double {
        switch self {
        case .inline(let t, _):
            switch k {
            case 0: t.0
            case 1: t.1
            case 2: t.2
            default: t.3
            }
        case .array(let a): a[k]
        }
    }

    /// The returns as an array.
    package var array: [Double] {
        switch self {
        case .inline(_, let n): (0..<Int(n)).map { self[$0] }
        case .array(let a): a
        }
    }
}

/// Mergeable sums of a sample: how many values, their sum, sum of squares and how many were > 0,
/// plus how many were wanted but not available (incomplete). Merging is adding, so it is exact
/// whichever node computed which part (parts are merged in symbol order).
public struct SampleSums: Sendable, Hashable, Codable {
    public var count: Int = 0
    public var sum: Double = 0
    public var sumOfSquares: Double = 0
    public var positives: Int = 0
    public var incomplete: Int = 0

    public init(count: Int = 0, sum: Double = 0, sumOfSquares: Double = 0, positives: Int = 0, incomplete: Int = 0) {
        self.count = count
        self.sum = sum
        self.sumOfSquares = sumOfSquares
        self.positives = positives
        self.incomplete = incomplete
    }

    /// Adds one value; NaN counts as incomplete.
    public mutating func add(_ x: Double) {
        guard x.isFinite else {
            incomplete += 1
            return
        }
        count += 1
        sum += x
        sumOfSquares += x * x
        if x > 0 { positives += 1 }
    }

    public mutating func merge(_ o: SampleSums) {
        count += o.count
        sum += o.sum
        sumOfSquares += o.sumOfSquares
        positives += o.positives
        incomplete += o.incomplete
    }
}

/// One symbol's part of the baseline: every bar of the range as if it were an entry.
public struct BaselineSums: Sendable, Hashable, Codable {
    /// One per horizon of the study.
    public var returns: [SampleSums]
    public var maxFavorable: SampleSums
    public var maxAdverse: SampleSums

    public init(horizons: Int) {
        returns = Array(repeating: SampleSums(), count: horizons)
        maxFavorable = SampleSums()
        maxAdverse = SampleSums()
    }

    public init(returns: [SampleSums], maxFavorable: SampleSums, maxAdverse: SampleSums) {
        self.returns = returns
        self.maxFavorable = maxFavorable
        self.maxAdverse = maxAdverse
    }

    public mutating func merge(_ o: BaselineSums) {
        guard o.returns.count == returns.count else { return }
        for k in returns.indices { returns[k].merge(o.returns[k]) }
        maxFavorable.merge(o.maxFavorable)
        maxAdverse.merge(o.maxAdverse)
    }
}

/// The arithmetic of the event study over one symbol's loaded columns.
public enum EventStudy {
    /// The outcome of entering after bar `index` (see ``StudySpec``). Bars past the end make the
    /// horizons they reach incomplete (NaN); so does a missing or non-positive entry price.
    public static func outcome(_ c: PriceColumns, at index: Int, _ spec: StudySpec) -> ForwardOutcome {
        let n = c.count
        let entryIndex = spec.entry == .close ? index : index + 1
        let entry = entryIndex < n ? (spec.entry == .close ? c.close[entryIndex] : c.open[entryIndex]) : .nan
        let valid = entry.isFinite && entry > 0
        let horizons = spec.horizons
        let returns = ForwardReturns(count: horizons.count) { k in
            let h = horizons[k]
            return valid && index + h < n ? c.close[index + h] / entry - 1 : .nan
        }
        var favorable = Double.nan
        var adverse = Double.nan
        let last = index + spec.longest
        if valid && last < n {
            var hi = -Double.infinity
            var lo = Double.infinity
            for i in (index + 1)...last {
                hi = Swift.max(hi, c.high[i])
                lo = Swift.min(lo, c.low[i])
            }
            if hi.isFinite && lo.isFinite {
                favorable = hi / entry - 1
                adverse = lo / entry - 1
            }
        }
        return ForwardOutcome(stored: returns, maxFavorable: favorable, maxAdverse: adverse)
    }

    /// The baseline part of one symbol: the outcome of every bar in `bars`, summed in bar order (the
    /// same sums, bit for bit, as adding ``outcome(_:at:_:)`` bar by bar).
    ///
    /// Every bar of every symbol is an entry, so this is the study's bulk. Each bar's entry price is
    /// read once (NaN when there is none or it is not positive); the horizons go four at a time in
    /// SIMD lanes (one division for four returns, each lane summing its horizon in bar order, so the
    /// sums are the scalar ones); the excursions' window extremes come from block prefix and suffix
    /// extremes (van Herk / Gil-Werman) of highs and lows side by side, two passes whatever the longest
    /// horizon (``excursionSums(high:low:entry:first:windows:width:)``).
    public static func baseline(_ c: PriceColumns, bars: Range<Int>, _ spec: StudySpec) -> BaselineSums {
        var sums = BaselineSums(horizons: spec.horizons.count)
        let n = Swift.min(c.close.count, c.open.count, c.high.count, c.low.count)
        let range = bars.clamped(to: 0..<n)
        guard !range.isEmpty else { return sums }
        let (lo, hi) = (range.lowerBound, range.upperBound)
        let nextOpen = spec.entry == .nextOpen
        // entries[i - lo]: the price entered at after bar i; NaN makes every figure of the bar incomplete.
        let entries = [Double](unsafeUninitializedCapacity: range.count) { out, count in
            c.close.withUnsafeBufferPointer { close in
                c.open.withUnsafeBufferPointer { open in
                    for i in range {
                        let e = nextOpen ? (i + 1 < n ? open[i + 1] : .nan) : close[i]
                        out.initializeElement(at: i - lo, to: e.isFinite && e > 0 ? e : .nan)
                    }
                }
            }
            count = range.count
        }
        entries.withUnsafeBufferPointer { entry in
            c.close.withUnsafeBufferPointer { close in
                var first = 0
                while first < spec.horizons.count {
                    let group = Array(spec.horizons[first..<Swift.min(first + 4, spec.horizons.count)])
                    let lanes = returnSums(close, n: n, range: range, entry: entry, horizons: group)
                    for (k, s) in lanes.enumerated() { sums.returns[first + k] = s }
                    first += 4
                }
            }
        }
        // Excursions: bars lo ..< lo + windows have their whole window [i+1, i+longest] in the data.
        let longest = spec.longest
        let windows = Swift.max(0, Swift.min(hi, n - longest) - lo)
        let (total, squares, count, positives) = c.high.withUnsafeBufferPointer { high in
            c.low.withUnsafeBufferPointer { low in
                entries.withUnsafeBufferPointer { entry in
                    excursionSums(high: high, low: low, entry: entry, first: lo + 1, windows: windows, width: longest)
                }
            }
        }
        func sample(_ k: Int) -> SampleSums {
            SampleSums(
                count: Int(count[k]),
                sum: total[k],
                sumOfSquares: squares[k],
                positives: Int(positives[k]),
                incomplete: range.count - Int(count[k])
            )
        }
        sums.maxFavorable = sample(0)
        sums.maxAdverse = sample(1)
        return sums
    }

    /// Lanes where `x` is finite (not NaN, not infinite).
    @inline(__always)
    private static func finite<V: SIMD>(_ x: V) -> SIMDMask<V.MaskStorage> where V.Scalar == Double {
        (x .== x) .& (x .< V(repeating: .infinity)) .& (x .> V(repeating: -.infinity))
    }

    /// The sums of the forward returns at up to four `horizons` over the bars of `range`, one SIMD lane
    /// per horizon, each lane adding its returns in bar order. A lane adds 0 for an incomplete return,
    /// which leaves its sums as they were (they start at +0 and a return is never -0: x / e - 1 is +0
    /// when it is zero).
    private static func returnSums(
        _ close: UnsafeBufferPointer<Double>,
        n: Int,
        range: Range<Int>,
        entry: UnsafeBufferPointer<Double>,
        horizons: [Int]
    ) -> [SampleSums] {
        let h = SIMD4<Int>(
            horizons[0],
            horizons.count > 1 ? horizons[1] : horizons[0],
            horizons.count > 2 ? horizons[2] : horizons[0],
            horizons.count > 3 ? horizons[3] : horizons[0]
        )
        let lo = range.lowerBound
        var total = SIMD4<Double>()
        var squares = SIMD4<Double>()
        var count = SIMD4<Int64>()
        var positives = SIMD4<Int64>()
        @inline(__always) func add(_ r: SIMD4<Double>) {
            let ok = finite(r)
            total += r.replacing(with: 0, where: .!ok)
            squares += (r * r).replacing(with: 0, where: .!ok)
            count &+= SIMD4(repeating: 0).replacing(with: 1, where: ok)
            positives &+= SIMD4(repeating: 0).replacing(with: 1, where: ok .& (r .> 0))
        }
        // Bars whose every horizon is inside the data, then the last ones (a lane past the end is NaN).
        let full = Swift.max(lo, Swift.min(range.upperBound, n - h.max()))
        for i in lo..<full {
            let ahead = SIMD4(close[i + h[0]], close[i + h[1]], close[i + h[2]], close[i + h[3]])
            add(ahead / SIMD4(repeating: entry[i - lo]) - 1)
        }
        for i in full..<range.upperBound {
            var ahead = SIMD4<Double>(repeating: .nan)
            for k in 0..<4 where i + h[k] < n { ahead[k] = close[i + h[k]] }
            add(ahead / SIMD4(repeating: entry[i - lo]) - 1)
        }
        return horizons.indices.map { k in
            SampleSums(
                count: Int(count[k]),
                sum: total[k],
                sumOfSquares: squares[k],
                positives: Int(positives[k]),
                incomplete: range.count - Int(count[k])
            )
        }
    }

    /// The sums of the excursions after each window `t` in `0 ..< windows` (bars `first + t ..< first + t +
    /// width`), against `entry[t]`: lane 0 the favourable (highest finite high / entry − 1), lane 1 the
    /// adverse (lowest finite low / entry − 1), each lane adding in window order and skipping what is
    /// not finite (no high or low in the window, no entry).
    ///
    /// The window extremes are van Herk / Gil-Werman's: over blocks of `width` bars, the running extreme
    /// from each bar to its block's end (stored) and from its block's start (carried along); a window
    /// spans at most two blocks, so its extreme is the one at its start against the one at its end.
    /// Highs and negated lows go side by side in a `SIMD2`, so one larger-of picks both (negating is
    /// exact: the lowest low is minus the largest negated low). Extremes are exact, so this equals
    /// scanning each window.
    static func excursionSums(
        high: UnsafeBufferPointer<Double>,
        low: UnsafeBufferPointer<Double>,
        entry: UnsafeBufferPointer<Double>,
        first: Int,
        windows: Int,
        width: Int
    ) -> (sum: SIMD2<Double>, squares: SIMD2<Double>, count: SIMD2<Int64>, positives: SIMD2<Int64>) {
        var total = SIMD2<Double>()
        var squares = SIMD2<Double>()
        var count = SIMD2<Int64>()
        var positives = SIMD2<Int64>()
        let span = windows + width - 1
        guard windows > 0, width > 0, first >= 0, first + span <= Swift.min(high.count, low.count),
            windows <= entry.count
        else { return (total, squares, count, positives) }
        let none = SIMD2<Double>(repeating: -.infinity)
        @inline(__always) func value(_ j: Int) -> SIMD2<Double> {
            let v = SIMD2(high[first + j], -low[first + j])
            return v.replacing(with: none, where: .!finite(v))
        }
        // `a >= b ? a : b` lane by lane (the values are never NaN).
        @inline(__always) func larger(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> SIMD2<Double> {
            a.replacing(with: b, where: a .< b)
        }
        // toBlockEnd[j]: the extremes of j ... the last bar of j's block (blocks of `width` from 0).
        let toBlockEnd = [SIMD2<Double>](unsafeUninitializedCapacity: span) { out, initialized in
            var end = span
            var start = ((span - 1) / width) * width
            while end > 0 {
                var run = none
                var j = end - 1
                while j >= start {
                    run = larger(run, value(j))
                    out.initializeElement(at: j, to: run)
                    j -= 1
                }
                end = start
                start -= width
            }
            initialized = span
        }
        toBlockEnd.withUnsafeBufferPointer { toEnd in
            var fromStart = none
            var nextBlock = 0
            for j in 0..<span {
                if j == nextBlock {
                    fromStart = none
                    nextBlock += width
                }
                fromStart = larger(fromStart, value(j))
                let t = j - width + 1
                guard t >= 0 else { continue }
                let m = larger(toEnd[t], fromStart)
                let x = SIMD2(m[0], -m[1]) / SIMD2(repeating: entry[t]) - 1
                let ok = finite(x)
                total += x.replacing(with: 0, where: .!ok)
                squares += (x * x).replacing(with: 0, where: .!ok)
                count &+= SIMD2(repeating: 0).replacing(with: 1, where: ok)
                positives &+= SIMD2(repeating: 0).replacing(with: 1, where: ok .& (x .> 0))
            }
        }
        return (total, squares, count, positives)
    }
}
