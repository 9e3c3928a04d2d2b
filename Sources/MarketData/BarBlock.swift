import FormulaEngine
import Foundation
import GRDB
import ScanCore

/// Bars of one symbol, stored timeframe and period, as columns (the unit of storage).
package struct BarBlock: Sendable {
    package var times: [Int64] = []
    package var offsets: [Int32] = []
    package var open: [Double] = []
    package var high: [Double] = []
    package var low: [Double] = []
    package var close: [Double] = []
    package var volume: [Double] = []

    package var count: Int { times.count }

    /// The storage period of a bar time: the UTC year for daily bars, `year * 100 + month` for minute bars.
    package static func period(of time: Int64, timeframe: Timeframe) -> Int {
        let (y, m, _) = CalendarDay(epochSeconds: time).parts
        return timeframe == .daily ? y : y * 100 + m
    }

    /// The columns selected by ``append(row:)``, in order.
    package static let selectedColumns = "times, offsets, open, high, low, close, volume"

    /// How many columns ``selectedColumns`` names.
    package static let columnCount = 7

    /// Appends a stored row's packed columns (selected as ``selectedColumns``).
    mutating func append(row: Row, symbol: String) throws {
        let before = times.count
        var ok = true
        for k in 0..<Self.columnCount where ok {
            ok = try row.withUnsafeData(atIndex: k) { data in
                guard let data else { return true }
                return data.withUnsafeBytes { append(packedColumn: k, $0) }
            }
        }
        try checkLengths(since: before, ok: ok, symbol: symbol)
    }

    /// Appends the values packed in `bytes` to column `k` (``selectedColumns`` order); `false` when
    /// they are not a whole number of values. Follow with ``checkLengths(since:ok:symbol:)``.
    package mutating func append(packedColumn k: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        switch k {
        case 0: PackedColumn.append(bytes, to: &times)
        case 1: PackedColumn.append(bytes, to: &offsets)
        case 2: PackedColumn.append(bytes, to: &open)
        case 3: PackedColumn.append(bytes, to: &high)
        case 4: PackedColumn.append(bytes, to: &low)
        case 5: PackedColumn.append(bytes, to: &close)
        case 6: PackedColumn.append(bytes, to: &volume)
        default: false
        }
    }

    /// Throws unless every column grew to the same length (offsets: that or none) since the block
    /// held `before` bars and `ok` (each column's bytes were whole values).
    package func checkLengths(since before: Int, ok: Bool, symbol: String) throws {
        let n = times.count
        guard ok, open.count == n, high.count == n, low.count == n, close.count == n, volume.count == n,
            offsets.isEmpty || offsets.count == n, n >= before
        else {
            throw MarketDataError(.corruptData, "stored bar block of \(symbol) has inconsistent column lengths")
        }
    }

    /// The block's columns packed for storage (``selectedColumns`` order).
    package var packedColumns: [Data] {
        [
            PackedColumn.pack(times), PackedColumn.pack(offsets), PackedColumn.pack(open), PackedColumn.pack(high),
            PackedColumn.pack(low), PackedColumn.pack(close), PackedColumn.pack(volume),
        ]
    }

    /// A block of `n` zeroed bars (with offsets when `withOffsets`), to be filled by ``fill(row:at:symbol:)``;
    /// the price columns not in `fields` stay empty (and are not filled).
    init(zeroed n: Int, withOffsets: Bool, fields: PriceFields = .all) {
        times = [Int64](repeating: 0, count: n)
        offsets = withOffsets ? [Int32](repeating: 0, count: n) : []
        // Separate buffers: sharing one would copy it on the first write.
        func column(_ f: PriceFields) -> [Double] { fields.contains(f) ? [Double](repeating: 0, count: n) : [] }
        open = column(.open)
        high = column(.high)
        low = column(.low)
        close = column(.close)
        volume = column(.volume)
    }

    /// Copies a stored row (``selectedColumns`` then `count`) over the bars starting at `start`;
    /// returns how many bars it held.
    mutating func fill(row: Row, at start: Int, symbol: String) throws -> Int {
        let n: Int = row[7]
        guard n >= 0, start + n <= times.count else {
            throw MarketDataError(.corruptData, "stored bar blocks of \(symbol) hold more bars than their index says")
        }
        func copy<T>(_ index: Int, _ array: inout [T]) throws {
            let size = MemoryLayout<T>.size
            let ok = try row.withUnsafeData(atIndex: index) { data -> Bool in
                guard let data, data.count == n * size else { return n == 0 && (data?.isEmpty ?? true) }
                array.withUnsafeMutableBytes { dst in
                    data.withUnsafeBytes { src in
                        dst.baseAddress!.advanced(by: start * size).copyMemory(
                            from: src.baseAddress!,
                            byteCount: n * size
                        )
                    }
                }
                return true
            }
            guard ok else {
                throw MarketDataError(.corruptData, "stored bar block of \(symbol) has inconsistent column lengths")
            }
        }
        // An empty column was left out (``init(zeroed:withOffsets:fields:)``): its blob is not read.
        try copy(0, &times)
        if !offsets.isEmpty { try copy(1, &offsets) }
        if !open.isEmpty { try copy(2, &open) }
        if !high.isEmpty { try copy(3, &high) }
        if !low.isEmpty { try copy(4, &low) }
        if !close.isEmpty { try copy(5, &close) }
        if !volume.isEmpty { try copy(6, &volume) }
        #if !_endian(little)
        func swap(_ a: inout [Double]) {
            guard !a.isEmpty else { return }
            for i in start..<(start + n) { a[i] = Double(bitPattern: UInt64(littleEndian: a[i].bitPattern)) }
        }
        for i in start..<(start + n) {
            times[i] = Int64(littleEndian: times[i])
            if !offsets.isEmpty { offsets[i] = Int32(littleEndian: offsets[i]) }
        }
        swap(&open)
        swap(&high)
        swap(&low)
        swap(&close)
        swap(&volume)
        #endif
        return n
    }

    package mutating func reserve(_ n: Int) {
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

    /// Keeps the first `n` bars, in place (a column left empty stays empty).
    package mutating func truncate(to n: Int) {
        guard n < count else { return }
        func cut<T>(_ a: inout [T]) { if !a.isEmpty { a.removeSubrange(n...) } }
        times.removeSubrange(n...)
        cut(&offsets)
        cut(&open)
        cut(&high)
        cut(&low)
        cut(&close)
        cut(&volume)
    }

    /// The bars in `range` of indices (a column left empty stays empty).
    package func slice(_ r: Range<Int>) -> BarBlock {
        func part<T>(_ a: [T]) -> [T] { a.isEmpty ? [] : Array(a[r]) }
        return BarBlock(
            times: Array(times[r]),
            offsets: part(offsets),
            open: part(open),
            high: part(high),
            low: part(low),
            close: part(close),
            volume: part(volume)
        )
    }

    /// `self` with `newer`'s bars added, a bar of `newer` replacing one of `self` at the same time.
    /// Both must be sorted by time.
    package func merged(with newer: BarBlock) -> BarBlock {
        var out = BarBlock()
        out.reserve(count + newer.count)
        var i = 0
        var j = 0
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

    package func series(symbol: String, timeframe: Timeframe) -> BarSeries {
        BarSeries(
            symbol: symbol,
            timeframe: timeframe,
            times: times,
            utcOffsets: offsets,
            columns: PriceColumns(open: open, high: high, low: low, close: close, volume: volume)
        )
    }

    package init() {}

    init(
        times: [Int64],
        offsets: [Int32],
        open: [Double],
        high: [Double],
        low: [Double],
        close: [Double],
        volume: [Double]
    ) {
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
            times: s.times,
            offsets: s.utcOffsets,
            open: s.columns.open,
            high: s.columns.high,
            low: s.columns.low,
            close: s.columns.close,
            volume: s.columns.volume
        )
    }
}
