import ScanCore
import Synchronization

/// Loaded bar series keyed by (symbol, timeframe), valid while the store's `dataVersion` holds.
/// Thread-safe; loads happen on the calling (worker) thread, outside the lock.
public final class SeriesCache: Sendable {
    struct Key: Hashable {
        var symbol: String
        var timeframe: Timeframe
    }

    struct Entry {
        var series: BarSeries
        var range: DateRange
        var lookback: Int
    }

    struct State {
        var version: Int64?
        var entries: [Key: Entry] = [:]
        var bars = 0
    }

    private let state = Mutex(State())
    private let maxBars: Int

    public init(maxBars: Int) { self.maxBars = maxBars }

    /// Drops every entry when `version` differs from the one the entries were loaded at.
    public func validate(version: Int64) {
        state.withLock { s in
            if s.version != version {
                s.entries = [:]
                s.bars = 0
                s.version = version
            }
        }
    }

    /// The series for `query`, from the cache when a cached load covers it, else loaded from `bars`.
    ///
    /// A cached daily/weekly load holds the whole history up to its range end, so it covers any
    /// query ending no later; an intraday load covers queries inside its range and lookback. Extra
    /// bars after the query's end are harmless: scans report only bars inside their range.
    public func series(_ query: BarQuery, from bars: any BarRepository) throws -> BarSeries {
        let key = Key(symbol: query.symbol, timeframe: query.timeframe)
        let cached = state.withLock { s -> BarSeries? in
            guard let e = s.entries[key], e.range.to >= query.range.to else { return nil }
            if query.timeframe.isIntraday, e.range.from > query.range.from || e.lookback < query.lookbackBars { return nil }
            return e.series
        }
        if let cached { return cached }
        let series = try bars.loadBars(query)
        guard maxBars > 0 else { return series }
        state.withLock { s in
            if s.bars + series.count > maxBars {
                s.entries = [:]
                s.bars = 0
            }
            if let old = s.entries[key] { s.bars -= old.series.count }
            s.entries[key] = Entry(series: series, range: query.range, lookback: query.lookbackBars)
            s.bars += series.count
        }
        return series
    }

    /// Series held now.
    public var count: Int { state.withLock { $0.entries.count } }
}
