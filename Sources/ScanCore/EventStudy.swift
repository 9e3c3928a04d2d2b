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
    /// `returns[k]` is the return at `horizons[k]`, as a fraction (0.05 = +5 %).
    public var returns: [Double]
    /// Highest high over the horizon divided by the entry price, minus 1 (≥ a loss never).
    public var maxFavorable: Double
    /// Lowest low over the horizon divided by the entry price, minus 1.
    public var maxAdverse: Double

    public init(returns: [Double], maxFavorable: Double, maxAdverse: Double) {
        self.returns = returns
        self.maxFavorable = maxFavorable
        self.maxAdverse = maxAdverse
    }

    public static func == (a: ForwardOutcome, b: ForwardOutcome) -> Bool {
        func same(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
        return a.returns.count == b.returns.count && zip(a.returns, b.returns).allSatisfy(same)
            && same(a.maxFavorable, b.maxFavorable) && same(a.maxAdverse, b.maxAdverse)
    }

    public func hash(into h: inout Hasher) { h.combine(returns.count) }
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
        var returns = [Double](repeating: .nan, count: spec.horizons.count)
        if valid {
            for (k, h) in spec.horizons.enumerated() where index + h < n {
                returns[k] = c.close[index + h] / entry - 1
            }
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
        return ForwardOutcome(returns: returns, maxFavorable: favorable, maxAdverse: adverse)
    }

    /// The baseline part of one symbol: the outcome of every bar in `bars`, summed. The excursions'
    /// window extremes are kept with monotonic queues, so a symbol costs O(bars × horizons), not
    /// O(bars × longest horizon).
    public static func baseline(_ c: PriceColumns, bars: Range<Int>, _ spec: StudySpec) -> BaselineSums {
        var sums = BaselineSums(horizons: spec.horizons.count)
        let n = c.count
        let range = bars.clamped(to: 0..<n)
        guard !range.isEmpty else { return sums }
        let longest = spec.longest
        // highs[i - range.lowerBound] = max(high[i+1 … i+longest]) (NaN highs skipped; -inf when none).
        let highs = windowExtremes(c.high, range, longest, keepLarger: true)
        let lows = windowExtremes(c.low, range, longest, keepLarger: false)
        let horizons = spec.horizons
        let h = horizons.count
        let nextOpen = spec.entry == .nextOpen
        // Plain accumulators (one slot per horizon), folded into `sums` once at the end.
        var count = [Int](repeating: 0, count: h)
        var total = [Double](repeating: 0, count: h)
        var squares = [Double](repeating: 0, count: h)
        var positives = [Int](repeating: 0, count: h)
        var incomplete = [Int](repeating: 0, count: h)
        c.close.withUnsafeBufferPointer { close in
            c.open.withUnsafeBufferPointer { open in
                for i in range {
                    let entryIndex = nextOpen ? i + 1 : i
                    let entry = entryIndex < n ? (nextOpen ? open[entryIndex] : close[entryIndex]) : .nan
                    guard entry.isFinite && entry > 0 else {
                        for k in 0..<h { incomplete[k] += 1 }
                        sums.maxFavorable.incomplete += 1
                        sums.maxAdverse.incomplete += 1
                        continue
                    }
                    for k in 0..<h {
                        let j = i + horizons[k]
                        let r = j < n ? close[j] / entry - 1 : .nan
                        if r.isFinite {
                            count[k] += 1
                            total[k] += r
                            squares[k] += r * r
                            if r > 0 { positives[k] += 1 }
                        } else {
                            incomplete[k] += 1
                        }
                    }
                    guard i + longest < n else {
                        sums.maxFavorable.incomplete += 1
                        sums.maxAdverse.incomplete += 1
                        continue
                    }
                    sums.maxFavorable.add(highs[i - range.lowerBound] / entry - 1)
                    sums.maxAdverse.add(lows[i - range.lowerBound] / entry - 1)
                }
            }
        }
        for k in 0..<h {
            sums.returns[k] = SampleSums(
                count: count[k],
                sum: total[k],
                sumOfSquares: squares[k],
                positives: positives[k],
                incomplete: incomplete[k]
            )
        }
        return sums
    }

    /// For each `i` in `range`, the largest (or smallest) finite value of `xs[i+1 … i+window]` within the
    /// array (±infinity when there is none), by a monotonic queue over the windows sliding right.
    static func windowExtremes(_ xs: [Double], _ range: Range<Int>, _ window: Int, keepLarger: Bool) -> [Double] {
        keepLarger
            ? slidingExtremes(xs, range, window, fill: -.infinity, dominates: { $0 >= $1 })
            : slidingExtremes(xs, range, window, fill: .infinity, dominates: { $0 <= $1 })
    }

    /// `dominates(a, b)`: `a` makes `b` useless as a later window's extreme (`>=` for maxima).
    @inline(__always)
    private static func slidingExtremes(
        _ xs: [Double],
        _ range: Range<Int>,
        _ window: Int,
        fill: Double,
        dominates: (Double, Double) -> Bool
    ) -> [Double] {
        let n = xs.count
        var out = [Double](repeating: fill, count: range.count)
        // A ring of at most window + 1 indices whose values are monotonic.
        let capacity = window + 2
        var ring = [Int](repeating: 0, count: capacity)
        var head = 0
        var count = 0
        var next = range.lowerBound + 1  // the next index to enter a window
        xs.withUnsafeBufferPointer { x in
            ring.withUnsafeMutableBufferPointer { q in
                out.withUnsafeMutableBufferPointer { o in
                    for i in range {
                        let last = Swift.min(n - 1, i + window)
                        while next <= last {
                            let v = x[next]
                            if v.isFinite {
                                while count > 0 && dominates(v, x[q[(head + count - 1) % capacity]]) { count -= 1 }
                                q[(head + count) % capacity] = next
                                count += 1
                            }
                            next += 1
                        }
                        while count > 0 && q[head] <= i {
                            head = (head + 1) % capacity
                            count -= 1
                        }
                        if count > 0 { o[i - range.lowerBound] = x[q[head]] }
                    }
                }
            }
        }
        return out
    }
}
