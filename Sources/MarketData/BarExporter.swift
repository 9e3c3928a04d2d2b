import Foundation
import ScanCore

/// Writes stored bars as CSV in the importer's format (`symbol,date|timestamp,open,high,low,close,volume`),
/// so other tools (the benchmark's pandas and vectorbt peers) read exactly the data a scan reads, and the
/// file imports back unchanged with `scan data import-bars`.
///
/// Daily files carry `YYYY-MM-DD` dates; minute files carry ISO 8601 timestamps with the exchange's offset.
/// Symbols are written in ascending order, each symbol's bars oldest first. Whole numbers print without
/// a fraction (`71200`), others with Swift's shortest round-trip form, so values survive the trip exactly.
public struct BarExporter: Sendable {
    public let store: any MarketDataBackend
    /// `1d` or `1m` (the stored timeframes).
    public let timeframe: Timeframe

    public init(store: any MarketDataBackend, timeframe: Timeframe) throws {
        guard timeframe == .daily || timeframe == .minute1 else {
            throw MarketDataError(.invalidInput, "export writes stored timeframes (1d or 1m), not \(timeframe)")
        }
        self.store = store
        self.timeframe = timeframe
    }

    /// What an export wrote.
    public struct Report: Sendable {
        public var symbols: Int
        public var rows: Int
    }

    /// Writes the bars of `symbols` (every stored symbol when `nil`) to the file at `path`.
    /// `progress` gets (symbols written, symbols total). Throws for a symbol the store does not know.
    @discardableResult
    public func export(
        symbols: [String]? = nil,
        to path: String,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> Report {
        let wanted = try symbols.map { Array(Set($0)).sorted() } ?? store.allSymbols().map(\.symbol)
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw MarketDataError(.io, "cannot create '\(path)'")
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw MarketDataError(.io, "cannot write '\(path)'")
        }
        defer { try? handle.close() }
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        out.append(
            contentsOf: Array("symbol,\(timeframe == .daily ? "date" : "timestamp"),open,high,low,close,volume\n".utf8)
        )
        let everything = DateRange(from: CalendarDay(daysSinceEpoch: -36_500), to: CalendarDay(daysSinceEpoch: 73_000))
        var rows = 0
        var dayText: [Int32: [UInt8]] = [:]
        for (n, symbol) in wanted.enumerated() {
            let series = try store.loadBars(
                BarQuery(symbol: symbol, timeframe: timeframe, range: everything, lookbackBars: Int.max / 4)
            )
            let code = Array(symbol.utf8)
            let c = series.columns
            for i in 0..<series.count {
                out.append(contentsOf: code)
                out.append(UInt8(ascii: ","))
                let offset = series.utcOffsets.isEmpty ? 0 : series.utcOffsets[i]
                let day = CalendarDay(epochSeconds: series.times[i], utcOffset: offset)
                if let text = dayText[day.daysSinceEpoch] {
                    out.append(contentsOf: text)
                } else {
                    let text = Array(day.description.utf8)
                    dayText[day.daysSinceEpoch] = text
                    out.append(contentsOf: text)
                }
                if timeframe.isIntraday { Self.appendTime(series.times[i], offset: offset, to: &out) }
                Self.appendField(c.open[i], to: &out)
                Self.appendField(c.high[i], to: &out)
                Self.appendField(c.low[i], to: &out)
                Self.appendField(c.close[i], to: &out)
                Self.appendField(c.volume[i], to: &out)
                out.append(UInt8(ascii: "\n"))
            }
            rows += series.count
            if out.count >= 1 << 20 {
                try handle.write(contentsOf: out)
                out.removeAll(keepingCapacity: true)
            }
            progress?(n + 1, wanted.count)
        }
        try handle.write(contentsOf: out)
        return Report(symbols: wanted.count, rows: rows)
    }

    /// `THH:MM:SS±HH:MM` of an instant in local time.
    static func appendTime(_ epoch: Int64, offset: Int32, to out: inout [UInt8]) {
        let local = epoch + Int64(offset)
        let second = Int(((local % 86_400) + 86_400) % 86_400)
        func two(_ v: Int) {
            out.append(UInt8(48 + v / 10))
            out.append(UInt8(48 + v % 10))
        }
        out.append(UInt8(ascii: "T"))
        two(second / 3600)
        out.append(UInt8(ascii: ":"))
        two(second / 60 % 60)
        out.append(UInt8(ascii: ":"))
        two(second % 60)
        let a = abs(Int(offset))
        out.append(UInt8(ascii: offset < 0 ? "-" : "+"))
        two(a / 3600)
        out.append(UInt8(ascii: ":"))
        two(a / 60 % 60)
    }

    /// A comma, then the number.
    static func appendField(_ value: Double, to out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        appendNumber(value, to: &out)
    }

    /// A whole number without fraction, anything else in Swift's shortest round-trip form.
    static func appendNumber(_ value: Double, to out: inout [UInt8]) {
        if value == value.rounded(), abs(value) < 1e15 {
            var v = Int64(value)
            if v < 0 {
                out.append(UInt8(ascii: "-"))
                v = -v
            }
            var digits:
                (
                    UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                    UInt8, UInt8
                ) =
                    (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var count = 0
            withUnsafeMutableBytes(of: &digits) { buf in
                repeat {
                    buf[count] = UInt8(48 + v % 10)
                    v /= 10
                    count += 1
                } while v > 0
                for k in stride(from: count - 1, through: 0, by: -1) { out.append(buf[k]) }
            }
        } else {
            out.append(contentsOf: Array(value.description.utf8))
        }
    }
}
