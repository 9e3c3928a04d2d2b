import FormulaEngine
import ScanCore

/// Builds coarser bars from stored ones: weekly from daily, 5/15/60-minute from 1-minute.
///
/// Each output bar takes the first open, the highest high, the lowest low, the last close and the sum
/// of the volumes of the bars it covers, and starts at:
/// - weekly: the date of its first session (weeks run Monday to Sunday);
/// - intraday: its bucket start. Buckets are aligned to the trading day: they count from the
///   session's opening minute — the most common time of day of each day's first bar in the series
///   (09:00 in Seoul, 09:30 in New York) — so 60-minute bars in New York start at 09:30, 10:30, …
///   A bucket never spans two local dates; bars before the opening minute get their own buckets.
public enum Resampler {
    /// Weekly bars from daily bars.
    public static func weekly(_ daily: BarSeries) -> BarSeries {
        aggregate(daily, timeframe: .weekly, withOffsets: false) { i in
            let d = Int64(daily.day(at: i).daysSinceEpoch) + 3  // 1970-01-01 was a Thursday
            let week = d >= 0 ? d / 7 : (d - 6) / 7
            return (week, daily.times[i])
        }
    }

    /// `timeframe` bars (5m, 15m, 60m) from 1-minute bars.
    public static func intraday(_ minute: BarSeries, to timeframe: Timeframe) -> BarSeries {
        let size = Int64(timeframe.minutes ?? 1) * 60
        let anchor = openingSecond(minute)
        return aggregate(minute, timeframe: timeframe, withOffsets: true) { i in
            let offset = Int64(minute.utcOffsets.isEmpty ? 0 : minute.utcOffsets[i])
            let local = minute.times[i] + offset
            let day = floorDiv(local, 86_400)
            let sinceOpen = local - day * 86_400 - anchor
            let bucket = floorDiv(sinceOpen, size)
            let start = day * 86_400 + anchor + bucket * size - offset
            return (day * 100_000 + bucket, start)
        }
    }

    /// The most common local time of day (seconds) of each local date's first bar; ties go to the earliest.
    static func openingSecond(_ s: BarSeries) -> Int64 {
        var counts: [Int64: Int] = [:]
        var lastDay = Int64.min
        for i in 0..<s.count {
            let local = s.times[i] + Int64(s.utcOffsets.isEmpty ? 0 : s.utcOffsets[i])
            let day = floorDiv(local, 86_400)
            if day != lastDay {
                counts[local - day * 86_400, default: 0] += 1
                lastDay = day
            }
        }
        return counts.max { a, b in a.value < b.value || (a.value == b.value && a.key > b.key) }?.key ?? 0
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Groups consecutive bars with the same key; `key` returns (group key, group start time).
    static func aggregate(
        _ s: BarSeries,
        timeframe: Timeframe,
        withOffsets: Bool,
        key: (Int) -> (Int64, Int64)
    ) -> BarSeries {
        var times: [Int64] = []
        var offsets: [Int32] = []
        var o: [Double] = []
        var h: [Double] = []
        var l: [Double] = []
        var c: [Double] = []
        var v: [Double] = []
        let src = s.columns
        var currentKey = Int64.min
        for i in 0..<s.count {
            let (k, start) = key(i)
            if times.isEmpty || k != currentKey {
                currentKey = k
                times.append(start)
                if withOffsets { offsets.append(s.utcOffsets.isEmpty ? 0 : s.utcOffsets[i]) }
                o.append(src.open[i])
                h.append(src.high[i])
                l.append(src.low[i])
                c.append(src.close[i])
                v.append(src.volume[i])
            } else {
                let j = times.count - 1
                h[j] = max(h[j], src.high[i])
                l[j] = min(l[j], src.low[i])
                c[j] = src.close[i]
                v[j] += src.volume[i]
            }
        }
        return BarSeries(
            symbol: s.symbol,
            timeframe: timeframe,
            times: times,
            utcOffsets: offsets,
            columns: PriceColumns(open: o, high: h, low: l, close: c, volume: v)
        )
    }
}
