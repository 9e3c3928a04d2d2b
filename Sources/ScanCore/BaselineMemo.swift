import Synchronization

/// Baseline sums already computed, kept from one scan to the next (each engine node keeps one).
///
/// A symbol's baseline (``EventStudy/baseline(_:bars:_:)``: every bar of the range as an entry) is a
/// function of its bars and of the study's horizons and entry, not of the formula: scans of the same
/// symbols over the same dates — a trader trying one formula after another with the same study —
/// need the same sums, so each is computed once. An entry is keyed by the symbol, timeframe, horizons
/// and entry and by the bars it was computed from (the time of the range's first and last bar, how
/// many, and how many bars follow them within the longest horizon); ``validate(version:)`` drops every
/// entry when the store's data version changes. Thread-safe.
public final class BaselineMemo: Sendable {
    struct Key: Hashable {
        var symbol: String
        var timeframe: Timeframe
        var spec: StudySpec
        var first: Int64
        var last: Int64
        var bars: Int
        var after: Int
    }

    private struct State {
        var version: Int64?
        var entries: [Key: BaselineSums] = [:]
    }

    private let state = Mutex(State())
    private let maxEntries: Int

    /// - Parameter maxEntries: when full, the memo starts over (a baseline costs one pass over a symbol's
    ///   bars to compute again).
    public init(maxEntries: Int = 100_000) { self.maxEntries = max(1, maxEntries) }

    /// Drops every entry when `version` differs from the one they were computed at.
    public func validate(version: Int64) {
        state.withLock { s in
            if s.version != version {
                s.entries = [:]
                s.version = version
            }
        }
    }

    /// The baseline of `series`'s bars `bars` (see ``EventStudy/baseline(_:bars:_:)``): remembered, or
    /// computed and remembered.
    public func baseline(_ series: BarSeries, symbol: String, bars: Range<Int>, _ spec: StudySpec) -> BaselineSums {
        let range = bars.clamped(to: 0..<series.count)
        guard !range.isEmpty else {
            return EventStudy.baseline(series.columns, bars: bars, spec)
        }
        let key = Key(
            symbol: symbol,
            timeframe: series.timeframe,
            spec: spec,
            first: series.times[range.lowerBound],
            last: series.times[range.upperBound - 1],
            bars: range.count,
            after: min(series.count, range.upperBound + spec.longest) - range.upperBound
        )
        if let known = state.withLock({ $0.entries[key] }) { return known }
        let sums = EventStudy.baseline(series.columns, bars: range, spec)
        state.withLock { s in
            if s.entries.count >= maxEntries { s.entries = [:] }
            s.entries[key] = sums
        }
        return sums
    }

    /// Baselines held now.
    public var count: Int { state.withLock { $0.entries.count } }
}
