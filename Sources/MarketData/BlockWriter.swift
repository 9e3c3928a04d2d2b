import GRDB
import ScanCore

/// Writes a series into bar blocks, merging with what each block already holds.
package enum BlockWriter {
    /// Splits `series` (sorted, validated) by storage period and merges each part into its block.
    static func write(_ series: BarSeries, _ db: Database) throws {
        for (period, part) in parts(of: series) {
            let existing = try read(symbol: series.symbol, timeframe: series.timeframe, period: period, db)
            let block = existing.map { $0.merged(with: part) } ?? part
            try store(block, symbol: series.symbol, timeframe: series.timeframe, period: period, db)
        }
    }

    /// `series` (sorted, validated) split by storage period, oldest first: each part is merged into
    /// the stored block of its period (``BarBlock/merged(with:)``). Shared by every store.
    package static func parts(of series: BarSeries) -> [(period: Int, block: BarBlock)] {
        let tf = series.timeframe
        let withOffsets = tf == .minute1
        var out: [(period: Int, block: BarBlock)] = []
        var start = 0
        while start < series.count {
            let period = BarBlock.period(of: series.times[start], timeframe: tf)
            var end = start + 1
            while end < series.count && BarBlock.period(of: series.times[end], timeframe: tf) == period { end += 1 }
            var part = BarBlock()
            part.reserve(end - start)
            for i in start..<end { part.append(from: series, at: i, withOffsets: withOffsets) }
            out.append((period, part))
            start = end
        }
        return out
    }

    static func read(symbol: String, timeframe: Timeframe, period: Int, _ db: Database) throws -> BarBlock? {
        let stmt = try db.cachedStatement(
            sql: "SELECT \(BarBlock.selectedColumns) FROM bar_blocks WHERE symbol = ? AND timeframe = ? AND period = ?"
        )
        guard let row = try Row.fetchOne(stmt, arguments: [symbol, timeframe.rawValue, period]) else { return nil }
        var block = BarBlock()
        try block.append(row: row, symbol: symbol)
        return block
    }

    static func store(_ b: BarBlock, symbol: String, timeframe: Timeframe, period: Int, _ db: Database) throws {
        let stmt = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO bar_blocks(symbol, timeframe, period, count, first_time, last_time,
                times, offsets, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        guard let first = b.times.first, let last = b.times.last else { return }
        let packed = b.packedColumns
        try stmt.execute(
            arguments: [symbol, timeframe.rawValue, period, b.count, first, last] + StatementArguments(packed)
        )
    }
}
