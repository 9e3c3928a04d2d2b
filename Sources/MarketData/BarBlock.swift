import FormulaEngine
import Foundation
import GRDB
import ScanCore

/// Bars of one symbol, stored timeframe and period, as columns (the unit of storage).
struct BarBlock {
    var times: [Int64] = []
    var offsets: [Int32] = []
    var open: [Double] = []
    var high: [Double] = []
    var low: [Double] = []
    var close: [Double] = []
    var volume: [Double] = []

    var count: Int { times.count }

    /// The storage period of a bar time: the UTC year for daily bars, `year * 100 + month` for minute bars.
    static func period(of time: Int64, timeframe: Timeframe) -> Int {
        let (y, m, _) = CalendarDay(epochSeconds: time).parts
        return timeframe == .daily ? y : y * 100 + m
    }

    /// The columns selected by ``append(row:)``, in order.
    static let selectedColumns = "times, offsets, open, high, low, close, volume"

    /// Appends a stored row's packed columns (selected as ``selectedColumns``).
    mutating func append(row: Row, symbol: String) throws {
        let before = times.count
        var ok = try row.withUnsafeData(atIndex: 0) { PackedColumn.append($0, to: &times) }
        ok = try ok && row.withUnsafeData(atIndex: 1) { PackedColumn.append($0, to: &offsets) }
        ok = try ok && row.withUnsafeData(atIndex: 2) { PackedColumn.append($0, to: &open) }
        ok = try ok && row.withUnsafeData(atIndex: 3) { PackedColumn.append($0, to: &high) }
        ok = try ok && row.withUnsafeData(atIndex: 4) { PackedColumn.append($0, to: &low) }
        ok = try ok && row.withUnsafeData(atIndex: 5) { PackedColumn.append($0, to: &close) }
        ok = try ok && row.withUnsafeData(atIndex: 6) { PackedColumn.append($0, to: &volume) }
        let n = times.count
        guard ok, open.count == n, high.count == n, low.count == n, close.count == n, volume.count == n,
            offsets.isEmpty || offsets.count == n, n >= before
        else {
            throw MarketDataError(.corruptData, "stored bar block of \(symbol) has inconsistent column lengths")
        }
    }

    mutating func reserve(_ n: Int) {
        times.reserveCapacity(n)
        open.reserveCapacity(n)
        high.reserveCapacity(n)
        low.reserveCapacity(n)
        close.reserveCapacity(n)
        volume.reserveCapacity(n)
    }

    mutating func append(from s: BarSeries, at i: Int, withOffsets: Bool) {
        times.append(s.times[i])
        if withOffsets { offsets.append(s.utcOffsets.isEmpty ? 0 : s.utcOffsets[i]) }
        open.append(s.columns.open[i])
        high.append(s.columns.high[i])
        low.append(s.columns.low[i])
        close.append(s.columns.close[i])
        volume.append(s.columns.volume[i])
    }

    mutating func append(from b: BarBlock, at i: Int) {
        times.append(b.times[i])
        if !b.offsets.isEmpty { offsets.append(b.offsets[i]) }
        open.append(b.open[i])
        high.append(b.high[i])
        low.append(b.low[i])
        close.append(b.close[i])
        volume.append(b.volume[i])
    }

    /// The bars in `range` of indices.
    func slice(_ r: Range<Int>) -> BarBlock {
        BarBlock(
            times: Array(times[r]), offsets: offsets.isEmpty ? [] : Array(offsets[r]), open: Array(open[r]),
            high: Array(high[r]), low: Array(low[r]), close: Array(close[r]), volume: Array(volume[r]))
    }

    /// `self` with `newer`'s bars added, a bar of `newer` replacing one of `self` at the same time.
    /// Both must be sorted by time.
    func merged(with newer: BarBlock) -> BarBlock {
        var out = BarBlock()
        out.reserve(count + newer.count)
        var i = 0, j = 0
        while i < count || j < newer.count {
            if j == newer.count || (i < count && times[i] < newer.times[j]) {
                out.append(from: self, at: i)
                i += 1
            } else {
                if i < count && times[i] == newer.times[j] { i += 1 }
                out.append(from: newer, at: j)
                j += 1
            }
        }
        return out
    }

    func series(symbol: String, timeframe: Timeframe) -> BarSeries {
        BarSeries(
            symbol: symbol, timeframe: timeframe, times: times, utcOffsets: offsets,
            columns: PriceColumns(open: open, high: high, low: low, close: close, volume: volume))
    }

    init() {}

    init(times: [Int64], offsets: [Int32], open: [Double], high: [Double], low: [Double], close: [Double], volume: [Double]) {
        self.times = times
        self.offsets = offsets
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }

    init(_ s: BarSeries) {
        self.init(
            times: s.times, offsets: s.utcOffsets, open: s.columns.open, high: s.columns.high, low: s.columns.low,
            close: s.columns.close, volume: s.columns.volume)
    }
}
