/// A calendar date without time zone (a trading session's date), stored as days since 1970-01-01.
///
/// Parsing and formatting use the proleptic Gregorian calendar and need no Foundation.
public struct CalendarDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Days since 1970-01-01 (negative before).
    public var daysSinceEpoch: Int32

    public init(daysSinceEpoch: Int32) { self.daysSinceEpoch = daysSinceEpoch }

    /// A date from its parts; `nil` when they do not name a real day.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= CalendarDay.daysIn(month: month, year: year) else {
            return nil
        }
        daysSinceEpoch = Int32(CalendarDay.days(year: year, month: month, day: day))
    }

    /// Parses `YYYY-MM-DD` exactly; `nil` otherwise.
    public init?(_ text: some StringProtocol) {
        let u = Array(text.utf8)
        guard u.count == 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-") else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                let d = Int(u[i]) - 48
                guard (0...9).contains(d) else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard let y = num(0..<4), let m = num(5..<7), let d = num(8..<10) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Seconds since the epoch of this day's 00:00 UTC.
    public var epochSeconds: Int64 { Int64(daysSinceEpoch) * 86_400 }

    /// The day containing `epochSeconds` shifted by `utcOffset` (i.e. the local date).
    public init(epochSeconds: Int64, utcOffset: Int32 = 0) {
        let (sum, overflow) = epochSeconds.addingReportingOverflow(Int64(utcOffset))
        let local = overflow ? epochSeconds : sum
        let (q, r) = local.quotientAndRemainder(dividingBy: 86_400)
        daysSinceEpoch = Int32(clamping: r < 0 ? q - 1 : q)  // floor division, no overflow
    }

    public var parts: (year: Int, month: Int, day: Int) { CalendarDay.civil(Int(daysSinceEpoch)) }

    /// 0 = Monday … 6 = Sunday.
    public var weekday: Int { ((Int(daysSinceEpoch) % 7) + 7 + 3) % 7 }

    public func adding(days: Int) -> CalendarDay { CalendarDay(daysSinceEpoch: daysSinceEpoch + Int32(days)) }

    /// `YYYY-MM-DD`.
    public var description: String {
        let (y, m, d) = parts
        if (0...9999).contains(y) {
            // The usual case, written digit by digit (a result's every match and statistic formats one).
            return String(unsafeUninitializedCapacity: 10) { out in
                let zero = UInt8(ascii: "0")
                out[0] = zero + UInt8(y / 1000)
                out[1] = zero + UInt8(y / 100 % 10)
                out[2] = zero + UInt8(y / 10 % 10)
                out[3] = zero + UInt8(y % 10)
                out[4] = UInt8(ascii: "-")
                out[5] = zero + UInt8(m / 10)
                out[6] = zero + UInt8(m % 10)
                out[7] = UInt8(ascii: "-")
                out[8] = zero + UInt8(d / 10)
                out[9] = zero + UInt8(d % 10)
                return 10
            }
        }
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    public static func < (a: CalendarDay, b: CalendarDay) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let day = CalendarDay(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(s)' is not a date (YYYY-MM-DD)")
        }
        self = day
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
