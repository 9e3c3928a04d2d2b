import Foundation
import ScanCore

/// Reads the date and time forms of imported bar files.
///
/// Dates: `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` or `YYYYMMDD`; a daily file may add a midnight
/// time (`2022-09-19 00:00:00`, as some tools write a date index). Intraday timestamps: a date, `T` or
/// a space, `HH:MM[:SS]`, then `Z`, `±HH:MM` or `±HHMM`; without an offset the wall time is read in
/// ``timeZone`` (the `--tz` option), and refused when none is given. A written offset always wins.
struct TimeParser {
    /// Intraday timestamps (`1m`) rather than dates (`1d`).
    let intraday: Bool
    /// The zone of timestamps written without an offset.
    let timeZone: TimeZone?
    /// UTC offsets by local hour (seconds since the epoch of the wall time, / 3600) in ``timeZone``.
    private var offsets: [Int64: Int32] = [:]

    init(intraday: Bool, timeZone: TimeZone?) {
        self.intraday = intraday
        self.timeZone = timeZone
    }

    /// What the error message says the field should look like.
    var expected: String {
        intraday
            ? (timeZone == nil
                ? "a timestamp with offset (YYYY-MM-DDTHH:MM:SS±HH:MM; or give --tz for local times)"
                : "a timestamp (YYYY-MM-DD HH:MM[:SS][±HH:MM])")
            : "a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"
    }

    /// The bar time in `text`, or `nil` when it is not one of the accepted forms.
    mutating func parse(_ text: String) -> BarTimestamp? {
        let u = Array(text.utf8)
        guard let (day, rest) = Self.date(u) else { return nil }
        if !intraday {
            guard rest == u.count || Self.isMidnight(u[rest...]) else { return nil }
            return BarTimestamp(day: day)
        }
        guard rest < u.count, u[rest] == UInt8(ascii: "T") || u[rest] == UInt8(ascii: " ") else { return nil }
        var i = rest + 1
        func two(_ k: Int) -> Int? {
            guard k + 1 < u.count, (0x30...0x39).contains(u[k]), (0x30...0x39).contains(u[k + 1]) else { return nil }
            return Int(u[k] - 0x30) * 10 + Int(u[k + 1] - 0x30)
        }
        guard let hh = two(i), i + 2 < u.count, u[i + 2] == UInt8(ascii: ":"), let mm = two(i + 3), hh < 24, mm < 60
        else { return nil }
        i += 5
        var ss = 0
        if i < u.count, u[i] == UInt8(ascii: ":") {
            guard let s = two(i + 1), s < 60 else { return nil }
            ss = s
            i += 3
            if i < u.count, u[i] == UInt8(ascii: ".") {  // fractional seconds: must be zero
                i += 1
                while i < u.count, u[i] == UInt8(ascii: "0") { i += 1 }
            }
        }
        let local = day.epochSeconds + Int64(hh * 3600 + mm * 60 + ss)
        let offset: Int32
        if i == u.count {
            guard let zone = timeZone else { return nil }
            offset = offsetOfWallTime(local, in: zone)
        } else if i == u.count - 1, u[i] == UInt8(ascii: "Z") {
            offset = 0
        } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"), let oh = two(i + 1), oh <= 14 {
            let colon = i + 3 < u.count && u[i + 3] == UInt8(ascii: ":")
            guard let om = two(i + (colon ? 4 : 3)), om < 60, i + (colon ? 6 : 5) == u.count else { return nil }
            offset = Int32((oh * 3600 + om * 60) * (u[i] == UInt8(ascii: "-") ? -1 : 1))
        } else {
            return nil
        }
        return BarTimestamp(epochSeconds: local - Int64(offset), utcOffsetSeconds: offset, isIntraday: true)
    }

    /// The zone's UTC offset at a wall time (seconds since the epoch as if the wall time were UTC).
    /// In a repeated hour (daylight saving ends) the earlier offset wins; in a skipped hour, the offset
    /// from before the change.
    private mutating func offsetOfWallTime(_ local: Int64, in zone: TimeZone) -> Int32 {
        let hour = local >= 0 ? local / 3600 : (local - 3599) / 3600
        if let cached = offsets[hour] { return cached }
        let before = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local - 86_400))))
        let after = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local + 86_400))))
        // Try the offset in force before, then after: the one that maps back to this wall time.
        var result = before
        for candidate in [before, after] {
            let instant = Date(timeIntervalSince1970: Double(local - candidate))
            if Int64(zone.secondsFromGMT(for: instant)) == candidate {
                result = candidate
                break
            }
        }
        offsets[hour] = Int32(result)
        return Int32(result)
    }

    /// A date at the start of `u` and the index after it.
    private static func date(_ u: [UInt8]) -> (CalendarDay, Int)? {
        func digits(_ r: Range<Int>) -> Int? {
            guard r.upperBound <= u.count else { return nil }
            var v = 0
            for k in r {
                guard (0x30...0x39).contains(u[k]) else { return nil }
                v = v * 10 + Int(u[k] - 0x30)
            }
            return v
        }
        guard let year = digits(0..<4) else { return nil }
        if u.count >= 10,
            let sep = [UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: ".")].first(where: { $0 == u[4] }),
            u[7] == sep, let month = digits(5..<7), let d = digits(8..<10),
            let day = CalendarDay(year: year, month: month, day: d)
        {
            return (day, 10)
        }
        if let month = digits(4..<6), let d = digits(6..<8), u.count == 8 || !(0x30...0x39).contains(u[8]),
            let day = CalendarDay(year: year, month: month, day: d)
        {
            return (day, 8)
        }
        return nil
    }

    private static func isMidnight(_ rest: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: rest, as: UTF8.self)
        return ["T00:00:00", " 00:00:00", "T00:00", " 00:00"].contains(text)
    }
}
