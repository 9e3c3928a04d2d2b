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
        if valid && last < n, c.high.count >= n, c.low.count >= n {
            let (hi, lo) = windowExtremes(c, (index + 1)...last)
            if hi.isFinite && lo.isFinite {
                favorable = hi / entry - 1
                adverse = lo / entry - 1
            }
        }
        return ForwardOutcome(stored: returns, maxFavorable: favorable, maxAdverse: adverse)
    }

    /// The highest high and the lowest low of the bars `window` (in the columns), NaN prices skipped
    /// (-inf and +inf when there is none): what `Swift.max` / `Swift.min` folded over the bars in order
    /// give, in value (a tie of +0 and -0 may keep the other zero, which no figure tells apart:
    /// `±0 / e − 1` is the same), eight bars per vector step.
    package static func windowExtremes(_ c: PriceColumns, _ window: ClosedRange<Int>) -> (high: Double, low: Double) {
        typealias Lanes = SIMD8<Double>
        return c.high.withUnsafeBufferPointer { high in
            c.low.withUnsafeBufferPointer { low in
                guard let h = high.baseAddress, let l = low.baseAddress else { return (-.infinity, .infinity) }
                var i = window.lowerBound
                let end = window.upperBound + 1
                var up = Lanes(repeating: -.infinity)
                var down = Lanes(repeating: .infinity)
                while end - i >= 8 {
                    let x = UnsafeRawPointer(h + i).loadUnaligned(as: Lanes.self)
                    let y = UnsafeRawPointer(l + i).loadUnaligned(as: Lanes.self)
                    up.replace(with: x, where: x .>= up)
                    down.replace(with: y, where: y .< down)
                    i &+= 8
                }
                var hi = -Double.infinity
                var lo = Double.infinity
                for k in 0..<8 {
                    if up[k] >= hi { hi = up[k] }
                    if down[k] < lo { lo = down[k] }
                }
                while i < end {
                    if h[i] >= hi { hi = h[i] }
                    if l[i] < lo { lo = l[i] }
                    i &+= 1
                }
                return (hi, lo)
            }
        }
    }

    /// Lanes of a baseline: bar `lo + t` of the range `lo ..< hi` adds to lane `t % baselineLanes`.
    public static let baselineLanes = 8

    /// The baseline part of one symbol: the outcome of every bar in `bars` (bit for bit the figures of
    /// ``outcome(_:at:_:)``), summed in lanes. Bar `lo + t` adds to lane `t % 8` (``baselineLanes``),
    /// each lane in bar order, and the lanes are then merged in lane order (``SampleSums/merge(_:)``
    /// of lane 0 with 1, the result with 2, …). The order is fixed, so the sums do not depend on the
    /// machine, the build or which node computed them.
    ///
    /// Every bar of every symbol is an entry, so this is the study's bulk. The lanes are eight
    /// consecutive bars, so each figure is one vector operation per eight bars: one division for eight
    /// returns of a horizon, and the excursions' window extremes from a sparse table of highs and of
    /// negated lows (the largest of 1, 4, 16, … bars from each bar, a pass taking the largest of four
    /// spans, or of two for the last; a window's extreme is the larger of two overlapping spans). Extremes are
    /// exact, so this equals scanning each window.
    public static func baseline(_ c: PriceColumns, bars: Range<Int>, _ spec: StudySpec) -> BaselineSums {
        typealias Lanes = SIMD8<Double>
        typealias Mask = SIMDMask<Lanes.MaskStorage>
        var sums = BaselineSums(horizons: spec.horizons.count)
        let nextOpen = spec.entry == .nextOpen
        // A scan loads `open` only for a next-open entry (``SymbolScanner/fields``).
        let n = Swift.min(c.close.count, c.high.count, c.low.count, nextOpen ? c.open.count : .max)
        let range = bars.clamped(to: 0..<n)
        guard !range.isEmpty else { return sums }
        let lo = range.lowerBound
        let m = range.count
        let w = baselineLanes
        let padded = (m + w - 1) / w * w
        let longest = spec.longest
        // Bars t < windows have their whole window (bars lo + t + 1 ... lo + t + longest) in the data.
        let windows = Swift.max(0, Swift.min(m, n - longest - lo))
        // entry[t]: the price entered at after bar lo + t (NaN: none, or not positive; and past the
        // range). ahead[j]: close[lo + j], NaN past the data. up[j], down[j]: the high and minus the low
        // of bar lo + 1 + j, -inf when not finite or past the data; upNext, downNext: a pass's output.
        let span = padded + longest
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: padded + 5 * span)
        defer { scratch.deallocate() }
        let entry = scratch
        let ahead = entry + padded
        var up = ahead + span
        var down = up + span
        var upNext = down + span
        var downNext = upNext + span
        c.close.withUnsafeBufferPointer { close in
            c.open.withUnsafeBufferPointer { open in
                c.high.withUnsafeBufferPointer { high in
                    c.low.withUnsafeBufferPointer { low in
                        guard let close = close.baseAddress, let high = high.baseAddress, let low = low.baseAddress
                        else { return }
                        // Pointers at each loop's first element: plain indices keep the loops vector code.
                        let source = (nextOpen ? open.baseAddress.map { $0 + 1 } ?? close : close) + lo
                        let entries = Swift.max(0, Swift.min(m, n - lo - (nextOpen ? 1 : 0)))
                        for t in 0..<entries {
                            let e = source[t]
                            entry[t] = e > 0 && e < .infinity ? e : .nan
                        }
                        for t in entries..<padded { entry[t] = .nan }
                        let known = Swift.min(span, n - lo)
                        ahead.update(from: close + lo, count: known)
                        for j in known..<span { ahead[j] = .nan }
                        let later = Swift.max(0, Swift.min(span, n - lo - 1))
                        let highs = high + lo + 1
                        let lows = low + lo + 1
                        for j in 0..<later {
                            let x = highs[j]
                            up[j] = x - x == 0 ? x : -.infinity
                        }
                        for j in 0..<later {
                            let x = -lows[j]
                            down[j] = x - x == 0 ? x : -.infinity
                        }
                        for j in later..<span {
                            up[j] = -.infinity
                            down[j] = -.infinity
                        }
                    }
                }
            }
        }
        let zero = Lanes()
        @inline(__always) func load(_ p: UnsafeMutablePointer<Double>) -> Lanes {
            UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
        }
        func merged(_ total: Lanes, _ squares: Lanes, _ count: Lanes, _ positives: Lanes) -> SampleSums {
            var s = SampleSums()
            for k in 0..<w {
                let part = SampleSums(
                    count: Int(count[k]),
                    sum: total[k],
                    sumOfSquares: squares[k],
                    positives: Int(positives[k])
                )
                s.merge(part)
            }
            s.incomplete = m - s.count
            return s
        }
        let blocks = padded / w
        // Forward returns, one horizon at a time. A figure that is not finite (no entry, a horizon
        // past the data or a hole in it) is incomplete; its lane adds 0, which leaves the lane as it
        // was (lanes start at +0, and a return is never -0: x / e - 1 is +0 when it is zero).
        // The four sums are written out here and in `excursion` below: a struct with a mutating `add` (tried on
        // 2026-12-02) was not inlined, despite `@inline(__always)`, and made the kernel 1.7× slower.
        for (k, h) in spec.horizons.enumerated() {
            var total = Lanes()
            var squares = Lanes()
            var count = Lanes()
            var positives = Lanes()
            let later = ahead + h
            for b in 0..<blocks {
                let t = b &* w
                let x = load(later + t) / load(entry + t) - 1
                // Kept: the finite figures, the others 0 (adding +0 leaves a lane as it was, and a
                // kept 0 is not > 0). Counts are whole numbers in Double lanes (exact below 2^53): a
                // Double comparison's mask then never becomes Int64 lanes (packs and widenings).
                let ok = (x - x) .== 0
                let kept = x.replacing(with: 0, where: .!ok)
                total += kept
                squares += kept * kept
                count += zero.replacing(with: 1, where: ok)
                positives += zero.replacing(with: 1, where: kept .> 0)
            }
            sums.returns[k] = merged(total, squares, count, positives)
        }
        // Window extremes: after the passes so far, up[j] is the largest of up[j ..< j + step]. A pass
        // takes the largest of four spans (step × 4) while that fits in the longest horizon, else of two.
        var step = 1
        var valid = span
        @inline(__always) func larger(_ a: Double, _ b: Double) -> Double { a < b ? b : a }
        while 2 * step <= longest {
            let ways = 4 * step <= longest ? 4 : 2
            valid -= (ways - 1) * step
            for (from, to) in [(up, upNext), (down, downNext)] {
                let b = from + step
                if ways == 4 {
                    let c = b + step
                    let d = c + step
                    for j in 0..<valid { to[j] = larger(larger(from[j], b[j]), larger(c[j], d[j])) }
                } else {
                    for j in 0..<valid { to[j] = larger(from[j], b[j]) }
                }
            }
            swap(&up, &upNext)
            swap(&down, &downNext)
            step *= ways
        }
        // The window of bar lo + t, [t, t + longest) of up/down, is [t, t + step) ∪ [t + longest - step, t + longest).
        let upTail = up + (longest - step)
        let downTail = down + (longest - step)
        // Bars t < windows have their window: whole blocks, then the first `windows % 8` lanes of one
        // more; later blocks have none and add nothing (their bars count as incomplete in `merged`).
        // The mask is chosen per block, not computed: a comparison of Int64 lanes per block was
        // compiled as eight scalar steps with a branch each (~12 % of the kernel's samples).
        let wholeBlocks = windows / w
        let windowBlocks = (windows + w - 1) / w
        let whole = Mask(repeating: true)
        var partial = Mask(repeating: false)
        for k in 0..<(windows - wholeBlocks * w) { partial[k] = true }
        // One excursion at a time (the highs' for the favourable, the negated lows' for the adverse):
        // both in one loop held 16 vector sums, more than the 16 AVX registers, and spilled them
        // every block.
        func excursion(
            _ near: UnsafeMutablePointer<Double>,
            _ far: UnsafeMutablePointer<Double>,
            negated: Bool
        )
            -> SampleSums
        {
            var total = Lanes()
            var squares = Lanes()
            var count = Lanes()
            var positives = Lanes()
            for b in 0..<windowBlocks {
                let t = b &* w
                let inWindow = b < wholeBlocks ? whole : partial
                let x = load(near + t)
                let y = load(far + t)
                // `a < b ? b : a` lane by lane (the values are never NaN); a window without a finite
                // high (or low) is -inf here, so its figure is not finite and counts as incomplete.
                // The adverse figure is -(largest negated low) / e - 1 (`negated`): the lowest low's.
                let extreme = x.replacing(with: y, where: x .< y)
                let f = (negated ? Lanes() - extreme : extreme) / load(entry + t) - 1
                let ok = inWindow .& ((f - f) .== 0)
                let kept = f.replacing(with: 0, where: .!ok)
                total += kept
                squares += kept * kept
                count += zero.replacing(with: 1, where: ok)
                positives += zero.replacing(with: 1, where: kept .> 0)
            }
            return merged(total, squares, count, positives)
        }
        sums.maxFavorable = excursion(up, upTail, negated: false)
        sums.maxAdverse = excursion(down, downTail, negated: true)
        return sums
    }
}
