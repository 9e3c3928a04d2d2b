/// The bar size of a scan. `1d` and `1m` are stored; the others are resampled from them.
public enum Timeframe: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case daily = "1d"
    case weekly = "1w"
    case minute1 = "1m"
    case minute5 = "5m"
    case minute15 = "15m"
    case minute60 = "60m"

    /// Intraday timeframes carry a time of day and an exchange offset in their timestamps.
    public var isIntraday: Bool { self != .daily && self != .weekly }

    /// The stored timeframe this one is read or resampled from.
    public var storedBase: Timeframe { isIntraday ? .minute1 : .daily }

    /// Minutes per bar for intraday timeframes, `nil` otherwise.
    public var minutes: Int? {
        switch self {
        case .minute1: 1
        case .minute5: 5
        case .minute15: 15
        case .minute60: 60
        case .daily, .weekly: nil
        }
    }

    public var description: String { rawValue }
}

/// When a bar starts: an instant plus the exchange's UTC offset at that instant.
///
/// Daily and weekly bars use the session date at 00:00 UTC with offset 0 and print as `YYYY-MM-DD`;
/// intraday bars print as ISO 8601 local time with offset (`2024-03-04T09:05:00+09:00`).
public struct BarTimestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var epochSeconds: Int64
    public var utcOffsetSeconds: Int32
    public var isIntraday: Bool

    public init(epochSeconds: Int64, utcOffsetSeconds: Int32 = 0, isIntraday: Bool) {
        self.epochSeconds = epochSeconds
        self.utcOffsetSeconds = utcOffsetSeconds
        self.isIntraday = isIntraday
    }

    public init(day: CalendarDay) {
        self.init(epochSeconds: day.epochSeconds, utcOffsetSeconds: 0, isIntraday: false)
    }

    /// The local session date.
    public var day: CalendarDay { CalendarDay(epochSeconds: epochSeconds, utcOffset: utcOffsetSeconds) }

    public static func < (a: BarTimestamp, b: BarTimestamp) -> Bool { a.epochSeconds < b.epochSeconds }

    public var description: String {
        let day = self.day
        guard isIntraday else { return day.description }
        let local = epochSeconds + Int64(utcOffsetSeconds)
        let secondOfDay = Int(((local % 86_400) + 86_400) % 86_400)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let off = Int(utcOffsetSeconds)
        let sign = off < 0 ? "-" : "+"
        let a = abs(off)
        return "\(day)T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
            + "\(sign)\(two(a / 3600)):\(two(a / 60 % 60))"
    }

    /// Parses `YYYY-MM-DD` (daily) or `YYYY-MM-DDTHH:MM[:SS](Z|±HH:MM)` (intraday).
    public init?(parsing text: some StringProtocol) {
        if text.utf8.count == 10 {
            guard let day = CalendarDay(text) else { return nil }
            self.init(day: day)
            return
        }
        let u = Array(text.utf8)
        guard u.count >= 16, let day = CalendarDay(String(decoding: u[0..<10], as: UTF8.self)),
            u[10] == UInt8(ascii: "T") || u[10] == UInt8(ascii: " ")
        else { return nil }
        func num(_ i: Int) -> Int? {
            guard i + 1 < u.count else { return nil }
            let a = Int(u[i]) - 48
            let b = Int(u[i + 1]) - 48
            guard (0...9).contains(a), (0...9).contains(b) else { return nil }
            return a * 10 + b
        }
        guard let hh = num(11), u[13] == UInt8(ascii: ":"), let mm = num(14), hh < 24, mm < 60 else { return nil }
        var i = 16
        var ss = 0
        if i < u.count, u[i] == UInt8(ascii: ":") {
            guard let s = num(i + 1), s < 60 else { return nil }
            ss = s
            i += 3
        }
        var offset = 0
        if i == u.count - 1, u[i] == UInt8(ascii: "Z") {
            offset = 0
        } else if i + 6 == u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"),
            let oh = num(i + 1), u[i + 3] == UInt8(ascii: ":"), let om = num(i + 4), oh <= 14, om < 60
        {
            offset = (oh * 3600 + om * 60) * (u[i] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        let local = day.epochSeconds + Int64(hh * 3600 + mm * 60 + ss)
        self.init(epochSeconds: local - Int64(offset), utcOffsetSeconds: Int32(offset), isIntraday: true)
    }
}
