import Foundation
import ScanCore

/// ISO 8601 UTC instants as the protocol writes them: `2025-06-09T13:30:00.123Z` (millisecond precision).
public enum WireTime {
    /// Formats `date` in UTC with milliseconds.
    public static func format(_ date: Date) -> String {
        let totalMs = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = totalMs >= 0 ? totalMs / 1000 : (totalMs - 999) / 1000
        let ms = Int(totalMs - seconds * 1000)
        let day = CalendarDay(epochSeconds: seconds)
        let sod = Int(seconds - day.epochSeconds)
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(day)T\(pad(sod / 3600, 2)):\(pad(sod / 60 % 60, 2)):\(pad(sod % 60, 2)).\(pad(ms, 3))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`; `nil` otherwise.
    public static func parse(_ text: String) -> Date? {
        let u = Array(text.utf8)
        guard u.count >= 20, let day = CalendarDay(String(decoding: u[0..<10], as: UTF8.self)),
            u[10] == UInt8(ascii: "T"), u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":")
        else { return nil }
        func two(_ i: Int) -> Int? {
            let a = Int(u[i]) - 48
            let b = Int(u[i + 1]) - 48
            guard (0...9).contains(a), (0...9).contains(b) else { return nil }
            return a * 10 + b
        }
        guard let hh = two(11), let mm = two(14), let ss = two(17), hh < 24, mm < 60, ss < 61 else { return nil }
        var i = 19
        var fraction = 0.0
        if u[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < u.count, (48...57).contains(u[i]) {
                fraction += Double(u[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset = 0
        if i == u.count - 1, u[i] == UInt8(ascii: "Z") {
            offset = 0
        } else if i + 6 == u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"),
            u[i + 3] == UInt8(ascii: ":"),
            let oh = two(i + 1), let om = two(i + 4)
        {
            offset = (oh * 3600 + om * 60) * (u[i] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        let seconds = day.epochSeconds + Int64(hh * 3600 + mm * 60 + ss) - Int64(offset)
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}
