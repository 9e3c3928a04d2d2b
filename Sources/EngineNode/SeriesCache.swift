import CoreMetrics
import FormulaEngine
import ScanCore
import Synchronization

/// Loaded bar series keyed by (symbol, timeframe), valid while the store's `dataVersion` holds, within
/// a budget of bytes (a series costs what its columns hold: 8 bytes a bar for the times, 4 for the UTC
/// offsets of intraday bars, 8 for each price column loaded). Thread-safe; loads happen on the calling
/// (worker) thread, outside the lock.
///
/// Scan-resistant: a scan reads its universe in a cycle, the worst case for LRU (a universe larger
/// than the budget would evict every entry just before it is needed again). So when the budget is
/// full a new series is simply not kept, and what is cached keeps serving; only entries not used for
/// a long while (4 × the entries held, in lookups: the universe has moved on) make room again.
///
/// Metrics: `marketscan_node_series_cache_lookups_total{outcome="hit"|"miss"}` and
/// `marketscan_node_series_cache_bytes`. Misses that go on scan after scan on a warm node mean the
/// cache is too small for what the node is handed (the service has no chunk-to-node affinity, so over
/// time each node is handed every symbol of a universe it scans again).
public final class SeriesCache: Sendable {
    struct Key: Hashable {
        var symbol: String
        var timeframe: Timeframe
    }

    struct Entry {
        var series: BarSeries
        var range: DateRange
        var lookback: Int
        var lookahead: Int
        /// The price columns the series holds (a load may leave out those its query did not ask for).
        var fields: PriceFields
        var lastUsed: Int
    }

    struct State {
        var version: Int64?
        var entries: [Key: Entry] = [:]
        var bars = 0
        var bytes = 0
        /// Lookups so far (the cache's clock).
        var tick = 0
        /// The tick of the last sweep for stale entries.
        var lastSweep = 0
        var hits = 0
        var misses = 0
    }

    private let state = Mutex(State())
    private let maxBytes: Int
    private let hitCounter: Counter
    private let missCounter: Counter
    private let bytesGauge: Gauge

    /// A cache holding at most `maxBytes` of series, its metrics recorded through `factory`.
    public init(maxBytes: Int, metrics factory: any MetricsFactory = MetricsSystem.factory) {
        self.maxBytes = max(0, maxBytes)
        let lookups = "marketscan_node_series_cache_lookups_total"
        hitCounter = Counter(label: lookups, dimensions: [("outcome", "hit")], factory: factory)
        missCounter = Counter(label: lookups, dimensions: [("outcome", "miss")], factory: factory)
        bytesGauge = Gauge(label: "marketscan_node_series_cache_bytes", factory: factory)
    }

    /// A cache holding at most `maxBars` bars of daily series with every column (48 bytes a bar).
    public convenience init(maxBars: Int) { self.init(maxBytes: min(max(0, maxBars), Int.max / 64) * 48) }

    /// What `series` costs in memory: its columns' values.
    static func bytes(of series: BarSeries) -> Int {
        let c = series.columns
        return 8 * series.times.count + 4 * series.utcOffsets.count
            + 8 * (c.open.count + c.high.count + c.low.count + c.close.count + c.volume.count)
    }

    /// Drops every entry when `version` differs from the one the entries were loaded at.
    public func validate(version: Int64) {
        let dropped = state.withLock { s -> Bool in
            guard s.version != version else { return false }
            s.entries = [:]
            s.bars = 0
            s.bytes = 0
            s.version = version
            return true
        }
        if dropped { bytesGauge.record(0) }
    }

    /// The series for `query`, from the cache when a cached load covers it, else loaded from `bars`.
    ///
    /// A cached daily/weekly load holds the whole history up to its range end, so it covers any
    /// query ending no later; an intraday load covers queries inside its range and lookback. Extra
    /// bars after the query's end are harmless: scans report only bars inside their range, and an event
    /// study reads at most its longest horizon past the last of them (a load with at least the query's
    /// lookahead has every bar there is up to that point). A miss is loaded with at least one bar of
    /// lookahead: when none comes back, the data ends by the range end and the entry serves any
    /// lookahead (a plain scan's load then serves the next scan's event study).
    public func series(_ query: BarQuery, from bars: any BarRepository) throws -> BarSeries {
        if let cached = lookup(query) { return cached }
        let load = loading(query)
        let series = try bars.loadBars(load)
        keep(series, for: load)
        return series
    }

    /// What to load for a missed `query`: the same with at least one bar of lookahead, so the load
    /// shows whether the data ends by the range end. It then serves every later lookahead (an event
    /// study's horizons) too, instead of a plain scan's load being read again for the next study.
    /// The price columns are the query's and those of the entry it replaces (a scan reading other
    /// columns then loads once, and both formulas are served from then on).
    func loading(_ query: BarQuery) -> BarQuery {
        var q = query
        q.lookaheadBars = max(1, query.lookaheadBars)
        let key = Key(symbol: query.symbol, timeframe: query.timeframe)
        if let held = state.withLock({ $0.entries[key]?.fields }) { q.fields.formUnion(held) }
        return q
    }

    /// The price columns `series` holds in full.
    static func heldFields(_ series: BarSeries) -> PriceFields {
        let n = series.count
        let c = series.columns
        var fields: PriceFields = []
        if c.open.count == n { fields.insert(.open) }
        if c.high.count == n { fields.insert(.high) }
        if c.low.count == n { fields.insert(.low) }
        if c.close.count == n { fields.insert(.close) }
        if c.volume.count == n { fields.insert(.volume) }
        return fields
    }

    /// The lookahead a load for `query` covers: its own, or any when the data ended before it.
    static func coveredLookahead(_ series: BarSeries, for query: BarQuery) -> Int {
        let start = CalendarDay(daysSinceEpoch: Int32.min / 2)
        let after = series.count - series.indices(in: DateRange(from: start, to: query.range.to)).upperBound
        return after < query.lookaheadBars ? Int.max : query.lookaheadBars
    }

    /// The series of many queries: those a cached load covers from the cache, the others loaded
    /// from `bars` in one ``ScanCore/BarRepository/loadBars(_:)-([BarQuery])`` call (and kept).
    /// One result per query, in order; a store that cannot be read fails every query it had to load.
    public func series(_ queries: [BarQuery], from bars: any BarRepository) -> [Result<BarSeries, any Error>] {
        var out: [Result<BarSeries, any Error>?] = queries.map { q in lookup(q).map { .success($0) } }
        let missing = queries.indices.filter { out[$0] == nil }
        guard !missing.isEmpty else { return out.compactMap { $0 } }
        let loads = missing.map { loading(queries[$0]) }
        let loaded: [Result<BarSeries, any Error>]
        do {
            loaded = try bars.loadBars(loads)
        } catch {
            loaded = missing.map { _ in .failure(error) }
        }
        for (k, i) in missing.enumerated() {
            let result = k < loaded.count ? loaded[k] : .failure(BarPrefetchError(symbol: queries[i].symbol))
            if case .success(let series) = result { keep(series, for: loads[k]) }
            out[i] = result
        }
        return out.compactMap { $0 }  // every index is filled by now
    }

    /// The cached series covering `query`, counted as used.
    private func lookup(_ query: BarQuery) -> BarSeries? {
        let key = Key(symbol: query.symbol, timeframe: query.timeframe)
        let found = state.withLock { s -> BarSeries? in
            s.tick += 1
            guard let e = s.entries[key], e.range.to >= query.range.to, e.lookahead >= query.lookaheadBars,
                e.fields.isSuperset(of: query.fields),
                !query.timeframe.isIntraday || (e.range.from <= query.range.from && e.lookback >= query.lookbackBars)
            else {
                s.misses += 1
                return nil
            }
            s.hits += 1
            s.entries[key]?.lastUsed = s.tick
            return e.series
        }
        (found == nil ? missCounter : hitCounter).increment()
        return found
    }

    /// Keeps `series`, loaded for `query`, unless the budget is full.
    private func keep(_ series: BarSeries, for query: BarQuery) {
        let size = Self.bytes(of: series)
        guard maxBytes > 0, size <= maxBytes else { return }
        let key = Key(symbol: query.symbol, timeframe: query.timeframe)
        let held = state.withLock { s -> Int in
            if let old = s.entries.removeValue(forKey: key) {
                s.bars -= old.series.count
                s.bytes -= Self.bytes(of: old.series)
            }
            if s.bytes + size > maxBytes { Self.sweepStale(&s) }
            guard s.bytes + size <= maxBytes else { return s.bytes }  // full: keep what is cached
            s.entries[key] = Entry(
                series: series,
                range: query.range,
                lookback: query.lookbackBars,
                lookahead: Self.coveredLookahead(series, for: query),
                fields: Self.heldFields(series),
                lastUsed: s.tick
            )
            s.bars += series.count
            s.bytes += size
            return s.bytes
        }
        bytesGauge.record(held)
    }

    /// Drops entries unused for 4 × the entries held (in lookups); runs at most once per that many
    /// lookups, so a full cache costs O(1) per lookup on average.
    private static func sweepStale(_ s: inout State) {
        let horizon = 4 * max(1, s.entries.count)
        guard s.tick - s.lastSweep >= horizon else { return }
        s.lastSweep = s.tick
        for (key, entry) in s.entries where s.tick - entry.lastUsed > horizon {
            s.entries[key] = nil
            s.bars -= entry.series.count
            s.bytes -= Self.bytes(of: entry.series)
        }
    }

    /// Bars held now.
    public var barCount: Int { state.withLock { $0.bars } }

    /// Bytes of series held now.
    public var byteCount: Int { state.withLock { $0.bytes } }

    /// Series held now.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Lookups a cached series answered, so far.
    public var hits: Int { state.withLock { $0.hits } }

    /// Lookups that had to load, so far.
    public var misses: Int { state.withLock { $0.misses } }
}
