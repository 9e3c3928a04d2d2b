import FormulaEngine
import Foundation
import MarketData
import ScanCore

/// A temporary directory removed when the test is done.
final class TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("marketdata-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `text` to a file in the directory and returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let p = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// A fresh file store in this directory.
    func store(_ name: String = "store.sqlite") throws -> MarketDataStore {
        try MarketDataStore.open(path: path(name))
    }
}

/// The project's shared real data (`../shared/data` beside the repository root).
enum SharedData {
    static let directory: URL? = {
        // Tests/MarketDataTests/<file> → repository root; worktrees may sit deeper, so walk up.
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.deletingLastPathComponent().appendingPathComponent("shared/data")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("symbols.csv").path) {
                return candidate
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    static func path(_ relative: String) throws -> String {
        guard let dir = directory else { throw MarketDataError(.io, "../shared/data not found from \(#filePath)") }
        return dir.appendingPathComponent(relative).path
    }

    /// Parses a simple (unquoted) bar CSV independently of the importer: symbol → rows.
    static func plainBars(_ path: String) throws -> [String: [(time: String, values: [Double])]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var out: [String: [(time: String, values: [Double])]] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            out[f[0], default: []].append((f[1], f[2...6].map { Double($0)! }))
        }
        return out
    }
}

extension DateRange {
    static let everything = DateRange(
        from: CalendarDay(year: 1990, month: 1, day: 1)!,
        to: CalendarDay(year: 2100, month: 1, day: 1)!
    )
}

func day(_ text: String) -> CalendarDay { CalendarDay(text)! }

/// A random valid series (sorted, valid OHLC) for property tests.
func randomSeries(seed: UInt64, count: Int, timeframe: Timeframe, symbol: String = "TEST") -> BarSeries {
    var r = SeededRandom(seed: seed)
    var times: [Int64] = []
    var offsets: [Int32] = []
    var o: [Double] = []
    var h: [Double] = []
    var l: [Double] = []
    var c: [Double] = []
    var v: [Double] = []
    let offset: Int32 = r.uniform() < 0.5 ? 9 * 3600 : -4 * 3600
    var t: Int64 = CalendarDay("2020-01-06")!.epochSeconds
    var sessionStart = CalendarDay("2024-03-04")!.epochSeconds + 9 * 3600 - Int64(offset)
    var minuteOfSession: Int64 = -1
    var price = 100.0
    for _ in 0..<count {
        if timeframe == .daily {
            // Gaps of 1–4 days.
            t += 86_400 * Int64(1 + r.next() % 4)
        } else {
            // Every session's first bar is at its 09:00 open; later bars skip 0–3 minutes; some
            // sessions end early.
            if minuteOfSession < 0 {
                minuteOfSession = 0
            } else {
                minuteOfSession += Int64(1 + r.next() % 4)
                if minuteOfSession >= 390 || r.uniform() < 0.005 {
                    sessionStart += 86_400
                    minuteOfSession = 0
                }
            }
            t = sessionStart + minuteOfSession * 60
            offsets.append(offset)
        }
        times.append(t)
        let open = price
        price *= exp(0.02 * r.normal())
        o.append(open)
        c.append(price)
        h.append(max(open, price) * (1 + 0.01 * r.uniform()))
        l.append(min(open, price) * (1 - 0.01 * r.uniform()))
        v.append(Double(r.next() % 10_000))
    }
    return BarSeries(
        symbol: symbol,
        timeframe: timeframe,
        times: times,
        utcOffsets: offsets,
        columns: PriceColumns(open: o, high: h, low: l, close: c, volume: v)
    )
}
