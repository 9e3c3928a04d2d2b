import GRDB
import ScanCore

/// Reads series out of bar blocks and resamples them (the hot path of every scan).
///
/// Queries order blocks by `first_time` (the same order as `period`) so SQLite walks the
/// `bar_blocks_span` index in order: ordering by `period` would make it sort the rows, copying
/// every blob through its sorter.
enum BarLoader {
    /// Largest distance between an instant's UTC date and its local date, in seconds.
    static let maxOffset: Int64 = 14 * 3600

    static func load(
        _ db: Database,
        symbol: String,
        timeframe: Timeframe,
        range: DateRange,
        lookbackBars: Int,
        lookaheadBars: Int = 0
    ) throws
        -> BarSeries
    {
        guard lookaheadBars > 0 else {
            return timeframe.isIntraday
                ? try loadIntraday(db, symbol: symbol, timeframe: timeframe, range: range, lookbackBars: lookbackBars)
                : try loadDaily(db, symbol: symbol, timeframe: timeframe, range: range)
        }
        // Bars after the range: load past its end, then keep `lookaheadBars` bars after the last one in it.
        // Daily/weekly: every later bar (a halt can make `n` bars span any number of days). Intraday: a
        // window assuming at least one trading hour per calendar day, plus two weeks.
        var extended = range
        if timeframe.isIntraday {
            extended.to = range.to.adding(days: lookaheadBars * (timeframe.minutes ?? 1) / 60 + 14)
        } else {
            extended.to = CalendarDay(daysSinceEpoch: Int32.max / 2)
        }
        let series =
            timeframe.isIntraday
            ? try loadIntraday(db, symbol: symbol, timeframe: timeframe, range: extended, lookbackBars: lookbackBars)
            : try loadDaily(db, symbol: symbol, timeframe: timeframe, range: extended)
        let inRange = series.indices(in: DateRange(from: CalendarDay(daysSinceEpoch: Int32.min / 2), to: range.to))
        let end = min(series.count, inRange.upperBound + lookaheadBars)
        guard end < series.count else { return series }
        return BarBlock(series).slice(0..<end).series(symbol: symbol, timeframe: timeframe)
    }

    /// Daily and weekly: the whole history up to `range.to`.
    static func loadDaily(_ db: Database, symbol: String, timeframe: Timeframe, range: DateRange) throws -> BarSeries {
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
        var block = BarBlock(zeroed: total, withOffsets: false)
        var filled = 0
        let rows = try Row.fetchCursor(stmt, arguments: [symbol, upper])
        while let row = try rows.next() { filled += try block.fill(row: row, at: filled, symbol: symbol) }
        guard filled == total else {
            throw MarketDataError(.corruptData, "stored bar blocks of \(symbol) hold fewer bars than their index says")
        }
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
        let minutes = timeframe.minutes ?? 1
        let lookback = max(0, lookbackBars)
        // Enough 1-minute bars that at least `lookback + 1` buckets lie before `from`.
        let needed = timeframe == .minute1 ? lookback : (lookback + 1) * minutes
        let upper = range.to.adding(days: 1).epochSeconds + maxOffset
        let surelyBefore = range.from.epochSeconds - maxOffset
        let stmt = try db.cachedStatement(
            sql: """
                SELECT \(BarBlock.selectedColumns) FROM bar_blocks
                WHERE symbol = ? AND timeframe = '1m' AND first_time < ? ORDER BY first_time DESC
                """
        )
        var blocks: [BarBlock] = []
        var before = 0
        var exhausted = true
        let rows = try Row.fetchCursor(stmt, arguments: [symbol, upper])
        while let row = try rows.next() {
            var b = BarBlock()
            try b.append(row: row, symbol: symbol)
            if b.offsets.count != b.count {
                throw MarketDataError(.corruptData, "stored minute bars of \(symbol) lack UTC offsets")
            }
            before += b.times.reduce(0) { $0 + ($1 < surelyBefore ? 1 : 0) }
            blocks.append(b)
            if before >= needed {
                exhausted = false
                break
            }
        }
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
