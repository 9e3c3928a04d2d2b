import Foundation
import MarketData
import ScanCore
import ScanProtocol
import Synchronization

/// Appends the feed's final bars to the market-data store in the order they were accepted, off the
/// event path (issue 14 part 5): ``enqueue(_:)`` returns at once, and one writer at a time takes
/// everything queued so far and appends it in one transaction through
/// `MarketDataBackend.writeBars` (both stores). Bars of a symbol queued by successive messages become
/// one series, so a writer that falls behind catches up in fewer, larger transactions.
final class FinalBarWriter: Sendable {
    /// Bars the store could not append: how many per symbol and timeframe, and why.
    struct Failure: Sendable {
        var bars: [BarFeed.Key: Int]
        var error: String
    }

    private struct State {
        var pending: [BarFeed.Key: [FeedBar]] = [:]
        var order: [BarFeed.Key] = []
        /// Batches enqueued, and batches written or failed (a flush waits for the first to reach the second).
        var queued = 0
        var done = 0
        var writing = false
        var waiters: [(upTo: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let store: any MarketDataBackend
    private let written: @Sendable (Int) -> Void
    private let failed: @Sendable (Failure) -> Void
    private let state = Mutex(State())

    /// - Parameters:
    ///   - written: called with the number of bars after each successful append.
    ///   - failed: called when an append failed (nothing of it is stored).
    init(
        store: any MarketDataBackend,
        written: @escaping @Sendable (Int) -> Void,
        failed: @escaping @Sendable (Failure) -> Void
    ) {
        self.store = store
        self.written = written
        self.failed = failed
    }

    /// Queues final bars (each key's bars oldest first, newer than any queued before) for appending.
    func enqueue(_ bars: [(key: BarFeed.Key, bars: [FeedBar])]) {
        guard !bars.isEmpty else { return }
        let start = state.withLock { s -> Bool in
            for (key, list) in bars {
                if s.pending[key] == nil { s.order.append(key) }
                s.pending[key, default: []].append(contentsOf: list)
            }
            s.queued += 1
            guard !s.writing else { return false }
            s.writing = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    /// Waits until every bar queued before the call is appended (or its append failed).
    func flush() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                guard s.done < s.queued else { return true }
                s.waiters.append((s.queued, c))
                return false
            }
            if now { c.resume() }
        }
    }

    /// Appends what is queued, again and again, until nothing is.
    private func drain() async {
        while true {
            let taken = state.withLock { s -> (bars: [BarFeed.Key: [FeedBar]], order: [BarFeed.Key], upTo: Int)? in
                guard !s.order.isEmpty else {
                    s.writing = false
                    return nil
                }
                defer {
                    s.pending = [:]
                    s.order = []
                }
                return (s.pending, s.order, s.queued)
            }
            guard let taken else { return }
            let series = taken.order.map { key in
                BarSeries(feedBars: taken.bars[key] ?? [], symbol: key.symbol, timeframe: key.timeframe)
            }
            let store = self.store
            do {
                try await Blocking.run { try store.writeBars(series, createSymbols: false) }
                written(series.reduce(0) { $0 + $1.count })
            } catch {
                failed(Failure(bars: taken.bars.mapValues(\.count), error: "\(error)"))
            }
            let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.done = taken.upTo
                var ready: [CheckedContinuation<Void, Never>] = []
                s.waiters.removeAll { w in
                    guard w.upTo <= s.done else { return false }
                    ready.append(w.continuation)
                    return true
                }
                return ready
            }
            for c in ready { c.resume() }
        }
    }
}
