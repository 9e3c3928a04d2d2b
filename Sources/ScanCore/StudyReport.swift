import Foundation
import Synchronization

/// Summary figures of one sample of returns (fractions: 0.05 = +5 %). Undefined figures are `nil`:
/// everything without events, the standard deviation and interval below two events, and the
/// baseline's median (the baseline is merged from sums, see ``StudyReport``).
public struct SampleStats: Sendable, Hashable, Codable {
    /// Values that were complete.
    public var events: Int
    /// Values wanted but not available (the horizon ran past the data).
    public var incomplete: Int
    public var mean: Double?
    public var median: Double?
    /// Sample standard deviation (n − 1).
    public var std: Double?
    /// Share of values > 0.
    public var hitRate: Double?
    /// 95 % confidence interval of the mean, normal approximation: mean ± 1.96 · std / √n.
    public var ciLow: Double?
    public var ciHigh: Double?

    enum CodingKeys: String, CodingKey {
        case events, incomplete, mean, median, std
        case hitRate = "hit_rate"
        case ciLow = "ci95_low"
        case ciHigh = "ci95_high"
    }

    public init(
        events: Int,
        incomplete: Int,
        mean: Double? = nil,
        median: Double? = nil,
        std: Double? = nil,
        hitRate: Double? = nil,
        ciLow: Double? = nil,
        ciHigh: Double? = nil
    ) {
        self.events = events
        self.incomplete = incomplete
        self.mean = mean
        self.median = median
        self.std = std
        self.hitRate = hitRate
        self.ciLow = ciLow
        self.ciHigh = ciHigh
    }

    /// The z value of the two-sided 95 % interval.
    public static let z95 = 1.959963984540054

    /// The figures of `sums`, with `median` when the values are known.
    public init(_ sums: SampleSums, median: Double? = nil) {
        let n = Double(sums.count)
        self.init(events: sums.count, incomplete: sums.incomplete, median: median)
        guard sums.count > 0 else { return }
        let mean = sums.sum / n
        self.mean = mean
        hitRate = Double(sums.positives) / n
        guard sums.count > 1 else { return }
        let variance = max(0, (sums.sumOfSquares - sums.sum * mean) / (n - 1))
        let std = variance.squareRoot()
        self.std = std
        ciLow = mean - Self.z95 * std / n.squareRoot()
        ciHigh = mean + Self.z95 * std / n.squareRoot()
    }

    /// The figures of known values (NaN = incomplete), summed in the order given.
    public init(values: [Double]) {
        var sums = SampleSums()
        var complete: [Double] = []
        complete.reserveCapacity(values.count)
        for v in values {
            sums.add(v)
            if v.isFinite { complete.append(v) }
        }
        self.init(sums, median: Self.median(complete))
    }

    /// The median (mean of the middle two for an even count), `nil` for none. The values must not be
    /// NaN. Found by selection (expected linear time), not by sorting: the same middle values, so the
    /// same median.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        var a = values
        let m = a.count / 2
        return a.withUnsafeMutableBufferPointer { b in
            select(m, in: b)
            guard b.count % 2 == 0 else { return b[m] }
            // Everything before `m` is now ≤ b[m]: the largest of it is the lower middle value.
            var below = b[0]
            for i in 1..<m where b[i] > below { below = b[i] }
            return (below + b[m]) / 2
        }
    }

    /// Reorders `a` so that `a[k]` is the value sorted order puts there, everything before it ≤ it and
    /// everything after it ≥ it (Hoare's selection with a median-of-three pivot).
    static func select(_ k: Int, in a: UnsafeMutableBufferPointer<Double>) {
        var lo = 0
        var hi = a.count - 1
        while hi > lo {
            let mid = lo + (hi - lo) / 2
            let (x, y, z) = (a[lo], a[mid], a[hi])
            let pivot = Swift.max(Swift.min(x, y), Swift.min(Swift.max(x, y), z))
            var i = lo
            var j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j {
                hi = j
            } else if k >= i {
                lo = i
            } else {
                return
            }
        }
    }
}

/// One horizon of a signal: its events, the baseline at that horizon, and the excess over it.
public struct HorizonStudy: Sendable, Hashable, Codable {
    /// Bars after the signal.
    public var horizon: Int
    public var events: SampleStats
    /// Mean event return minus mean baseline return.
    public var excessMean: Double?
    /// Event hit rate minus baseline hit rate.
    public var excessHitRate: Double?

    enum CodingKeys: String, CodingKey {
        case horizon, events
        case excessMean = "excess_mean"
        case excessHitRate = "excess_hit_rate"
    }

    public init(horizon: Int, events: SampleStats, excessMean: Double?, excessHitRate: Double?) {
        self.horizon = horizon
        self.events = events
        self.excessMean = excessMean
        self.excessHitRate = excessHitRate
    }
}

/// The study of one signal.
public struct SignalStudy: Sendable, Hashable, Codable {
    public var signal: String
    public var horizons: [HorizonStudy]
    /// Maximum favourable excursion over the longest horizon.
    public var maxFavorable: SampleStats
    /// Maximum adverse excursion over the longest horizon.
    public var maxAdverse: SampleStats
    /// Set when fewer than ``StudyReport/minimumEvents`` events are complete at some horizon.
    public var warning: String?

    enum CodingKeys: String, CodingKey {
        case signal, horizons, warning
        case maxFavorable = "max_favorable"
        case maxAdverse = "max_adverse"
    }

    public init(
        signal: String,
        horizons: [HorizonStudy],
        maxFavorable: SampleStats,
        maxAdverse: SampleStats,
        warning: String?
    ) {
        self.signal = signal
        self.horizons = horizons
        self.maxFavorable = maxFavorable
        self.maxAdverse = maxAdverse
        self.warning = warning
    }
}

/// The baseline: every bar of the scanned symbols over the scanned dates as an entry.
public struct BaselineStudy: Sendable, Hashable, Codable {
    /// One per horizon; `median` is absent (see ``StudyReport``).
    public var horizons: [BaselineHorizon]
    public var maxFavorable: SampleStats
    public var maxAdverse: SampleStats

    enum CodingKeys: String, CodingKey {
        case horizons
        case maxFavorable = "max_favorable"
        case maxAdverse = "max_adverse"
    }

    public init(horizons: [BaselineHorizon], maxFavorable: SampleStats, maxAdverse: SampleStats) {
        self.horizons = horizons
        self.maxFavorable = maxFavorable
        self.maxAdverse = maxAdverse
    }
}

/// The baseline at one horizon.
public struct BaselineHorizon: Sendable, Hashable, Codable {
    public var horizon: Int
    public var returns: SampleStats

    public init(horizon: Int, returns: SampleStats) {
        self.horizon = horizon
        self.returns = returns
    }
}

/// The event study of a scan: per signal and horizon the forward returns of its matches, against
/// the baseline.
///
/// Exactness: event figures are computed from every match's own forward returns (which the result
/// carries), in the result's order. The baseline is merged from per-symbol sums (count, sum, sum of
/// squares, positives), added in symbol order, so it does not depend on which node scanned what; its
/// median would need every bar's value and is not given.
public struct StudyReport: Sendable, Hashable, Codable {
    public var horizons: [Int]
    public var entry: StudyEntry
    public var signals: [SignalStudy]
    public var baseline: BaselineStudy
    /// Things a reader must know (few events, latest mode).
    public var warnings: [String]

    /// Fewer complete events than this at a horizon carries a warning.
    public static let minimumEvents = 30

    public init(
        horizons: [Int],
        entry: StudyEntry,
        signals: [SignalStudy],
        baseline: BaselineStudy,
        warnings: [String]
    ) {
        self.horizons = horizons
        self.entry = entry
        self.signals = signals
        self.baseline = baseline
        self.warnings = warnings
    }

    /// Aggregates `results` (matches carrying their ``ForwardOutcome``, symbols their baseline sums).
    ///
    /// - Parameters:
    ///   - signalNames: the formula's signals in declaration order (each gets a study, even without matches).
    ///   - matches: every match, in the result's order.
    public static func aggregate(
        spec: StudySpec,
        mode: ScanMode,
        signalNames: [String],
        matches: [SignalMatch],
        results: [SymbolResult]
    ) -> StudyReport {
        let h = spec.horizons.count
        var baselineSums = BaselineSums(horizons: h)
        for r in results.sorted(by: { $0.symbol < $1.symbol }) {
            if let b = r.baseline { baselineSums.merge(b) }
        }
        let baseline = BaselineStudy(
            horizons: spec.horizons.enumerated().map { k, hz in
                BaselineHorizon(horizon: hz, returns: SampleStats(baselineSums.returns[k]))
            },
            maxFavorable: SampleStats(baselineSums.maxFavorable),
            maxAdverse: SampleStats(baselineSums.maxAdverse)
        )
        // Each signal's figures, in the result's order. One pass finds each match's signal (`slots`,
        // read in place: no copy of a match); then each (signal, figure) gathers its values and takes
        // its statistics on its own, on as many cores as there are (`concurrentPerform`): the same
        // values in the same order as one pass, so the same figures. Figure `k < h` is horizon `k`'s
        // return, `h` the favourable and `h + 1` the adverse excursion (NaN: the match has none).
        let width = h + 2
        var slot: [String: Int] = [:]
        var order: [String] = []
        var slots = [Int32](repeating: 0, count: matches.count)
        var counts: [Int] = []
        matches.withUnsafeBufferPointer { all in
            var last: (name: String, slot: Int)?
            for i in all.indices {
                let name = all[i].signal
                let s: Int
                if let last, last.name == name {
                    s = last.slot
                } else if let known = slot[name] {
                    s = known
                } else {
                    s = order.count
                    slot[name] = s
                    order.append(name)
                    counts.append(0)
                }
                last = (name, s)
                slots[i] = Int32(s)
                counts[s] += 1
            }
        }
        let figureStats = Self.figureStats(matches, slots: slots, counts: counts, horizons: h)
        var names = signalNames
        for s in order.sorted() where !names.contains(s) { names.append(s) }
        var warnings: [String] = []
        if mode == .latest {
            warnings.append(
                "latest mode reports each symbol's last bar only: its forward returns need bars after it, "
                    + "so with the range ending at the newest data every event is incomplete"
            )
        }
        let signals = names.map { name -> SignalStudy in
            let stats = slot[name].map { figureStats[$0] } ?? Array(repeating: SampleStats(values: []), count: width)
            let horizons = spec.horizons.enumerated().map { k, hz in
                let stats = stats[k]
                let base = baseline.horizons[k].returns
                return HorizonStudy(
                    horizon: hz,
                    events: stats,
                    excessMean: difference(stats.mean, base.mean),
                    excessHitRate: difference(stats.hitRate, base.hitRate)
                )
            }
            let fewest = horizons.map(\.events.events).min() ?? 0
            let warning =
                fewest < minimumEvents
                ? "\(name): \(fewest) complete event\(fewest == 1 ? "" : "s") at some horizon "
                    + "(fewer than \(minimumEvents)): treat the figures as anecdotes" : nil
            if let warning { warnings.append(warning) }
            return SignalStudy(
                signal: name,
                horizons: horizons,
                maxFavorable: stats[h],
                maxAdverse: stats[h + 1],
                warning: warning
            )
        }
        return StudyReport(
            horizons: spec.horizons,
            entry: spec.entry,
            signals: signals,
            baseline: baseline,
            warnings: warnings
        )
    }

    /// `result[s][k]`: the statistics of figure `k` (see ``aggregate(spec:mode:signalNames:matches:results:)``)
    /// over the matches of signal slot `s` (`slots[i]` for `matches[i]`, `counts[s]` of them), in
    /// match order. Each (signal, figure) is a task of `concurrentPerform`.
    private static func figureStats(
        _ matches: [SignalMatch],
        slots: [Int32],
        counts: [Int],
        horizons h: Int
    ) -> [[SampleStats]] {
        let width = h + 2
        let tasks = counts.count * width
        let none = SampleStats(values: [])
        let out = Mutex([[SampleStats]](repeating: Array(repeating: none, count: width), count: counts.count))
        matches.withUnsafeBufferPointer { all in
            slots.withUnsafeBufferPointer { slotOf in
                let shared = ReadOnlyMatches(all: all, slots: slotOf)
                DispatchQueue.concurrentPerform(iterations: tasks) { task in
                    let s = task / width
                    let k = task % width
                    let all = shared.all
                    let slotOf = shared.slots
                    let values = [Double](unsafeUninitializedCapacity: counts[s]) { buffer, initialized in
                        var n = 0
                        for i in all.indices where slotOf[i] == Int32(s) && n < buffer.count {
                            buffer[n] = figure(all[i], k, horizons: h)
                            n += 1
                        }
                        initialized = n
                    }
                    let stats = SampleStats(values: values)
                    out.withLock { $0[s][k] = stats }
                }
            }
        }
        return out.withLock { $0 }
    }

    /// Figure `k` of a match: horizon `k`'s return (`k < h`), the favourable (`h`) or adverse (`h + 1`)
    /// excursion; NaN when the match has none.
    @inline(__always)
    private static func figure(_ m: borrowing SignalMatch, _ k: Int, horizons h: Int) -> Double {
        guard let f = m.forward else { return .nan }
        if k < h { return k < f.returnCount ? f.forwardReturn(k) : .nan }
        return k == h ? f.maxFavorable : f.maxAdverse
    }

    /// The matches and their slots, read by `concurrentPerform`'s tasks: only read, and
    /// `concurrentPerform` returns (every task done) before the buffers' lifetimes end.
    private struct ReadOnlyMatches: @unchecked Sendable {
        let all: UnsafeBufferPointer<SignalMatch>
        let slots: UnsafeBufferPointer<Int32>
    }

    private static func difference(_ a: Double?, _ b: Double?) -> Double? {
        guard let a, let b else { return nil }
        return a - b
    }
}
