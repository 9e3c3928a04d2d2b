import Foundation
import MarketData
import ScanCore
import ScanProtocol

/// Appends the feed's final bars to the market-data store in the order they were accepted, off the
/// event path (issue 14 part 5): ``enqueue(_:startWriting:)`` returns at once, and one append at a
/// time takes everything queued so far in one transaction through `MarketDataBackend.writeBars`
/// (both stores). Bars of a symbol queued by successive messages become one series, so a writer that
/// falls behind catches up in fewer, larger transactions.
final class FinalBarWriter: Sendable {
    /// Bars the store could not append: how many per symbol and timeframe, and why.
    struct Failure: Sendable {
        var bars: [BarFeed.Key: Int]
        var error: String
    }

    /// What is queued: each key's bars (oldest first), keys in the order first queued.
    struct Pending: Sendable {
        var bars: [BarFeed.Key: [FeedBar]] = [:]
        var order: [BarFeed.Key] = []
    }

    private let queue: QueuedWriter<Pending>

    /// - Parameters:
    ///   - written: called with the number of bars after each successful append.
    ///   - failed: called when an append failed (nothing of it is stored).
    init(
        store: any MarketDataBackend,
        written: @escaping @Sendable (Int) -> Void,
        failed: @escaping @Sendable (Failure) -> Void
    ) {
        queue = QueuedWriter { pending in
            let series = pending.order.map { key in
                BarSeries(feedBars: pending.bars[key] ?? [], symbol: key.symbol, timeframe: key.timeframe)
            }
            do {
                try await Blocking.run { try store.writeBars(series, createSymbols: false) }
                written(series.reduce(0) { $0 + $1.count })
            } catch {
                failed(Failure(bars: pending.bars.mapValues(\.count), error: "\(error)"))
            }
        }
    }

    /// Queues final bars (each key's bars oldest first, newer than any queued before) for appending;
    /// with `startWriting: false` they wait for ``startWriting()`` (or a ``flush()``).
    func enqueue(_ bars: [(key: BarFeed.Key, bars: [FeedBar])], startWriting: Bool = true) {
        guard !bars.isEmpty else { return }
        queue.enqueue(startWriting: startWriting) { pending in
            if pending == nil {
                // Nothing queued (the usual case: one message a round): one insert per key.
                let byKey = Dictionary(bars.map { ($0.key, $0.bars) }, uniquingKeysWith: { a, b in a + b })
                if byKey.count == bars.count {
                    pending = Pending(bars: byKey, order: bars.map(\.key))
                    return
                }
            }
            var p = pending ?? Pending()
            pending = nil  // so `p` is the only reference and grows in place
            for (key, list) in bars {
                if p.bars[key] == nil { p.order.append(key) }
                p.bars[key, default: []].append(contentsOf: list)
            }
            pending = p
        }
    }

    /// Starts appending what is queued.
    func startWriting() { queue.startWriting() }

    /// Waits until every bar queued before the call is appended (or its append failed).
    func flush() async { await queue.flush() }
}
