import FormulaEngine
import GRDB
import ScanCore

/// Reads series out of bar blocks and resamples them (the hot path of every scan).
///
/// Queries order blocks by `first_time` (the same order as `period`) so SQLite walks the
/// `bar_blocks_span` index in order: ordering by `period` would make it sort the rows, copying
/// every blob through its sorter.
package enum BarLoader {
    /// Largest distance between an instant's UTC date and its local date, in seconds.
    package static let maxOffset: Int64 = 14 * 3600

    static func load(
        _ db: Database,
        symbol: String,
        timeframe: Timeframe,
        range: DateRange,
        lookbackBars: Int,
        lookaheadBars: Int = 0,
        fields: PriceFields = .all
    ) throws
        -> BarSeries
    {
        let extended = lookaheadRange(range, timeframe: timeframe, lookaheadBars: lookaheadBars)
        // Only daily bars are read as stored; resampling (weeks, intraday buckets) needs every column.
        let series =
            timeframe.isIntraday
            ? try loadIntraday(db, symbol: symbol, timeframe: timeframe, range: extended, lookbackBars: lookbackBars)
            : try loadDaily(
                db,
                symbol: symbol,
                timeframe: timeframe,
                range: extended,
                fields: timeframe == .daily ? fields : .all
            )
        return lookaheadBars > 0 ? keepingLookahead(series, after: range, lookaheadBars: lookaheadBars) : series
    }

    /// The range to load for `lookaheadBars` bars after `range` (shared by every store): past its
    /// end, then ``keepingLookahead(_:after:lookaheadBars:)`` cuts it. Daily/weekly: every later bar (a
    /// halt can make `n` bars span any number of days). Intraday: a window assuming at least one
    /// trading hour per calendar day, plus two weeks.
    package static func lookaheadRange(_ range: DateRange, timeframe: Timeframe, lookaheadBars: Int) -> DateRange {
        guard lookaheadBars > 0 else { return range }
        var extended = range
        if timeframe.isIntraday {
            extended.to = range.to.adding(days: lookaheadBars * (timeframe.minutes ?? 1) / 60 + 14)
        } else {
            extended.to = CalendarDay(daysSinceEpoch: Int32.max / 2)
        }
        return extended
    }

    /// `series` (loaded over ``lookaheadRange(_:timeframe:lookaheadBars:)``) keeping at most
    /// `lookaheadBars` bars after the last one in `range`.
    package static func keepingLookahead(_ series: BarSeries, after range: DateRange, lookaheadBars: Int) -> BarSeries {
        let inRange = series.indices(in: DateRange(from: CalendarDay(daysSinceEpoch: Int32.min / 2), to: range.to))
        let end = min(series.count, inRange.upperBound + max(0, lookaheadBars))
        guard end < series.count else { return series }
        return BarBlock(series).slice(0..<end).series(symbol: series.symbol, timeframe: series.timeframe)
    }

    /// Daily and weekly: the whole history up to `range.to`, the price columns not in `fields` left empty.
    static func loadDaily(
        _ db: Database,
        symbol: String,
        timeframe: Timeframe,
        range: DateRange,
        fields: PriceFields = .all
    ) throws -> BarSeries {
        let upper = range.to.epochSeconds
        let countStmt = try db.cachedStatement(
            sql: """
                SELECT COALESCE(SUM(count), 0) FROM bar_blocks
                WHERE symbol = ? AND timeframe = '1d' AND first_time <= ?
                """
        )
        let total = try Int.fetchOne(countStmt, arguments: [symbol, upper]) ?? 0
        let stmt = try db.cachedStatement(
            sql: """
                SELECT \(BarBlock.selectedColumns), count FROM bar_blocks
                WHERE symbol = ? AND timeframe = '1d' AND first_time <= ? ORDER BY first_time
                """
        )
        var block = BarBlock(zeroed: total, withOffsets: false, fields: fields)
        var filled = 0
        let rows = try Row.fetchCursor(stmt, arguments: [symbol, upper])
        while let row = try rows.next() { filled += try block.fill(row: row, at: filled, symbol: symbol) }
        guard filled == total else {
            throw MarketDataError(.corruptData, "stored bar blocks of \(symbol) hold fewer bars than their index says")
        }
        return daily(block, upTo: upper, symbol: symbol, timeframe: timeframe)
    }

    /// A daily or weekly series from a symbol's daily blocks joined in time order: the bars up to
    /// `upper` (epoch seconds), resampled to weeks for `1w`. Shared by every store.
    package static func daily(_ joined: BarBlock, upTo upper: Int64, symbol: String, timeframe: Timeframe) -> BarSeries
    {
        var block = joined
        var end = block.count
        while end > 0 && block.times[end - 1] > upper { end -= 1 }
        block.truncate(to: end)
        let daily = block.series(symbol: symbol, timeframe: .daily)
        return timeframe == .weekly ? Resampler.weekly(daily) : daily
    }

    /// Intraday: bars whose local date is at most `range.to`, with at least `lookbackBars` bars (of
    /// `timeframe`) before `range.from` when the store has them.
    static func loadIntraday(
        _ db: Database,
        symbol: String,
        timeframe: Timeframe,
        range: DateRange,
        lookbackBars: Int
    ) throws -> BarSeries {
        let window = IntradayWindow(timeframe: timeframe, range: range, lookbackBars: lookbackBars)
        let stmt = try db.cachedStatement(
            sql: """
                SELECT \(BarBlock.selectedColumns) FROM bar_blocks
                WHERE symbol = ? AND timeframe = '1m' AND first_time < ? ORDER BY first_time DESC
                """
        )
        var collector = window.collector(symbol: symbol)
        let rows = try Row.fetchCursor(stmt, arguments: [symbol, window.upper])
        while let row = try rows.next() {
            var b = BarBlock()
            try b.append(row: row, symbol: symbol)
            if try collector.add(b) { break }
        }
        return collector.series()
    }
}

/// Which minute blocks an intraday load needs and how they become the series (shared by every store):
/// blocks are read newest first (those starting before ``upper``) and handed to a ``Collector``
/// until it has enough bars before the range.
package struct IntradayWindow: Sendable {
    package let timeframe: Timeframe
    package let range: DateRange
    package let lookback: Int
    /// Enough 1-minute bars that at least `lookback + 1` buckets lie before `from`.
    let needed: Int
    /// Blocks starting before this instant may hold bars of the range.
    package let upper: Int64
    let surelyBefore: Int64

    package init(timeframe: Timeframe, range: DateRange, lookbackBars: Int) {
        self.timeframe = timeframe
        self.range = range
        let minutes = timeframe.minutes ?? 1
        lookback = max(0, lookbackBars)
        needed = timeframe == .minute1 ? lookback : (lookback + 1) * minutes
        upper = range.to.adding(days: 1).epochSeconds + BarLoader.maxOffset
        surelyBefore = range.from.epochSeconds - BarLoader.maxOffset
    }

    package func collector(symbol: String) -> Collector { Collector(window: self, symbol: symbol) }

    /// Gathers blocks, newest first, and assembles the series.
    package struct Collector {
        let window: IntradayWindow
        let symbol: String
        var blocks: [BarBlock] = []
        var before = 0
        var exhausted = true

        /// Adds the next older block; `true` when no older block is needed.
        package mutating func add(_ b: BarBlock) throws -> Bool {
            if b.offsets.count != b.count {
                throw MarketDataError(.corruptData, "stored minute bars of \(symbol) lack UTC offsets")
            }
            before += b.times.reduce(0) { $0 + ($1 < window.surelyBefore ? 1 : 0) }
            blocks.append(b)
            if before >= window.needed {
                exhausted = false
                return true
            }
            return false
        }

        /// The series: the range's bars with `lookback` bars before it, resampled when needed.
        package func series() -> BarSeries {
            let timeframe = window.timeframe
            let range = window.range
            let lookback = window.lookback
            var all = BarBlock()
            all.reserve(blocks.reduce(0) { $0 + $1.count })
            all.offsets.reserveCapacity(all.times.capacity)
            for b in blocks.reversed() {
                all.times += b.times
                all.offsets += b.offsets
                all.open += b.open
                all.high += b.high
                all.low += b.low
                all.close += b.close
                all.volume += b.volume
            }
            let minute = all.series(symbol: symbol, timeframe: .minute1)
            let span = minute.indices(in: range)
            if timeframe == .minute1 {
                let start = max(0, span.lowerBound - lookback)
                return BarBlock(minute).slice(start..<span.upperBound).series(symbol: symbol, timeframe: .minute1)
            }
            var resampled = BarBlock(
                Resampler.intraday(
                    BarBlock(minute).slice(0..<span.upperBound)
                        .series(symbol: symbol, timeframe: .minute1),
                    to: timeframe
                )
            )
            // The oldest bucket may be cut short by where loading stopped: drop it unless it is the real start.
            if !exhausted && resampled.count > 0 { resampled = resampled.slice(1..<resampled.count) }
            let out = resampled.series(symbol: symbol, timeframe: timeframe)
            let outSpan = out.indices(in: range)
            let start = max(0, outSpan.lowerBound - lookback)
            return resampled.slice(start..<outSpan.upperBound).series(symbol: symbol, timeframe: timeframe)
        }
    }
}
