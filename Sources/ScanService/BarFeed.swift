import Foundation
import Logging
import MarketData
import ScanCore
import ScanProtocol
import Synchronization

/// The bar feed (issue 14): checks the bars pushed to the feed PULL, hands final bars to the watches
/// and queues them for the store (``FinalBarWriter``: appended in order, off the event path: the
/// watches start the appends with ``startWrites()`` once the round that evaluated them is published),
/// keeps forming bars in memory; counts every refusal.
///
/// ``ingest(_:)`` is called by one task, one message at a time (the socket's order). The state sits
/// behind a mutex so `PING` and the watches read it from any task.
final class BarFeed: Sendable {
    struct Key: Hashable, Sendable {
        var symbol: String
        var timeframe: Timeframe
    }

    /// What one message changed, for the watches.
    struct Applied: Sendable {
        /// Symbols with new final bars, by timeframe.
        var finals: [Timeframe: Set<String>] = [:]
        /// The new final bars, by timeframe and symbol (oldest first).
        var finalBars: [Timeframe: [String: [FeedBar]]] = [:]
        /// Symbols with a new forming bar, by timeframe.
        var forming: [Timeframe: Set<String>] = [:]
        /// The feed's accepted-bar count once this message was applied.
        var acceptedTotal = 0

        var isEmpty: Bool { finals.isEmpty && forming.isEmpty }
    }

    private struct State {
        /// The newest final bar's time per symbol and timeframe (`Int64.min`: the store has none).
        var lastFinal: [Key: Int64] = [:]
        var forming: [Key: FeedBar] = [:]
        var known: Set<String> = []
        /// The newest session date of an accepted final bar, by timeframe.
        var newestDay: [Timeframe: CalendarDay] = [:]
        /// Final bars accepted, and final bars the store appended.
        var acceptedFinal = 0
        var barsFinal = 0
        var barsForming = 0
        var refused: [FeedRefusalReason: Int] = [:]
        var lastRefusal: FeedRefusalDocument?
    }

    private let store: any MarketDataBackend
    private let maxBars: Int
    private let logger: Logger
    private let refusalPublished: @Sendable (FeedRefusalDocument) -> Void
    private let state = Mutex(State())
    private let storeFailureHandler = Mutex<(@Sendable ([Timeframe: Set<String>]) -> Void)?>(nil)
    private let writer = Mutex<FinalBarWriter?>(nil)

    /// - Parameter refusalPublished: called with every refusal (the service publishes `feed.refused`).
    init(
        store: any MarketDataBackend,
        maxBars: Int,
        logger: Logger,
        refusalPublished: @escaping @Sendable (FeedRefusalDocument) -> Void
    ) {
        self.store = store
        self.maxBars = max(1, maxBars)
        self.logger = logger
        self.refusalPublished = refusalPublished
        let writer = FinalBarWriter(
            store: store,
            written: { [weak self] n in self?.state.withLock { $0.barsFinal += n } },
            failed: { [weak self] f in self?.storeFailed(f) }
        )
        self.writer.withLock { $0 = writer }
    }

    /// Bars accepted since the service started (final and forming).
    var acceptedTotal: Int { state.withLock { $0.acceptedFinal + $0.barsForming } }

    /// The newest session date of a final bar accepted since the service started (stored or queued).
    func newestDay(_ timeframe: Timeframe) -> CalendarDay? { state.withLock { $0.newestDay[timeframe] } }

    /// Waits until every final bar accepted so far is in the store (or its append failed).
    func flushWrites() async { await writer.withLock { $0 }?.flush() }

    /// Starts appending the final bars queued so far (the watches call it once the round that
    /// evaluated them is published, so the store's append never competes with a round's events).
    func startWrites() { writer.withLock { $0 }?.startWriting() }

    /// Called with the symbols whose queued final bars the store could not append (they were already
    /// handed to the watches, which must then read those symbols from the store again).
    func onStoreFailure(_ handler: @escaping @Sendable ([Timeframe: Set<String>]) -> Void) {
        storeFailureHandler.withLock { $0 = handler }
    }

    /// Takes the newest final bar time of symbols whose series a watch just read from the store (the
    /// last bar of such a series is the symbol's newest stored bar: the range ends at the newest day),
    /// for symbols the feed has no time for yet, so that their first fed bar needs no read of the store.
    func knowNewest(_ timeframe: Timeframe, _ times: [String: Int64]) {
        guard !times.isEmpty else { return }
        state.withLock { s in
            for (symbol, t) in times {
                let key = Key(symbol: symbol, timeframe: timeframe)
                if s.lastFinal[key] == nil { s.lastFinal[key] = t }
            }
        }
    }

    /// The counters for `PING`.
    var status: FeedStatusDocument {
        state.withLock { s in
            FeedStatusDocument(
                barsFinal: s.barsFinal,
                barsForming: s.barsForming,
                refused: Dictionary(
                    uniqueKeysWithValues: FeedRefusalReason.allCases.map { ($0.rawValue, s.refused[$0] ?? 0) }
                ),
                lastRefusal: s.lastRefusal
            )
        }
    }

    /// The forming bars of `symbols` (those that have one) in a timeframe.
    func formingBars(_ timeframe: Timeframe, _ symbols: some Sequence<String>) -> [String: FeedBar] {
        state.withLock { s in
            var out: [String: FeedBar] = [:]
            for symbol in symbols {
                if let bar = s.forming[Key(symbol: symbol, timeframe: timeframe)] { out[symbol] = bar }
            }
            return out
        }
    }

    /// Checks and applies one message received on the feed socket. Never throws: whatever is wrong
    /// is refused, counted and published.
    func ingest(_ frames: [[UInt8]]) async -> Applied {
        let decoded: [Result<FeedBar, FeedRefusal>]
        switch FeedCodec.decode(frames, maxBars: maxBars) {
        case .failure(let r):
            refuse([r])
            return Applied(acceptedTotal: acceptedTotal)
        case .success(let bars): decoded = bars
        }
        var refusals: [FeedRefusal] = []
        var bars: [FeedBar] = []
        bars.reserveCapacity(decoded.count)
        for d in decoded {
            switch d {
            case .success(let b): bars.append(b)
            case .failure(let r): refusals.append(r)
            }
        }
        // The store is asked only about symbols and keys the feed has not seen yet (once each).
        let (unseenSymbols, unseenKeys) = state.withLock { s -> (Set<String>, Set<Key>) in
            var symbols = Set<String>()
            var keys = Set<Key>()
            for b in bars {
                let key = Key(symbol: b.symbol, timeframe: b.timeframe)
                if s.lastFinal[key] == nil {
                    keys.insert(key)
                    if !s.known.contains(b.symbol) { symbols.insert(b.symbol) }
                }
            }
            return (symbols, keys)
        }
        if !unseenSymbols.isEmpty { await lookUpSymbols(unseenSymbols) }
        if !unseenKeys.isEmpty {
            let known = state.withLock { s in unseenKeys.filter { s.known.contains($0.symbol) } }
            await readLastFinalTimes(known)
        }

        // One pass under the lock: the order is checked bar by bar against the symbol's last final
        // bar (the store's, then this message's earlier bars), and what is accepted is applied.
        var applied = Applied()
        var queued: [(key: Key, bars: [FeedBar])] = []
        var unknown: [FeedRefusal] = []
        var outOfOrder: [FeedRefusal] = []
        applied.acceptedTotal = state.withLock { s in
            var queuedIndex: [Key: Int] = [:]
            var accepted = 0
            var formingTaken = 0
            for b in bars {
                let key = Key(symbol: b.symbol, timeframe: b.timeframe)
                // A key with a last final time is a known symbol's (`Int64.min`: the store has none); a
                // known symbol whose newest stored bar could not be read is taken as having none.
                let previous: Int64
                if let p = s.lastFinal[key] {
                    previous = p
                } else if s.known.contains(b.symbol) {
                    previous = Int64.min
                } else {
                    unknown.append(FeedRefusal(.unknownSymbol, "unknown symbol '\(b.symbol)'", symbol: b.symbol))
                    continue
                }
                let t = b.timestamp.epochSeconds
                if t <= previous {
                    outOfOrder.append(
                        FeedRefusal(
                            .outOfOrder,
                            "\(b.final ? "final" : "forming") \(b.timeframe) bar of \(b.symbol) at \(b.timestamp) is not after its last final bar"
                                + (previous == Int64.min ? "" : " (\(stamp(previous, like: b.timestamp)))"),
                            symbol: b.symbol
                        )
                    )
                    continue
                }
                if b.final {
                    s.lastFinal[key] = t
                    if let i = queuedIndex[key] {
                        queued[i].bars.append(b)
                        applied.finalBars[key.timeframe]?[key.symbol]?.append(b)
                    } else {
                        queuedIndex[key] = queued.count
                        queued.append((key, [b]))
                        applied.finals[key.timeframe, default: []].insert(key.symbol)
                        applied.finalBars[key.timeframe, default: [:]][key.symbol] = [b]
                    }
                    accepted += 1
                    if !s.forming.isEmpty, let f = s.forming[key], f.timestamp.epochSeconds <= t {
                        s.forming[key] = nil
                    }
                    if s.newestDay[b.timeframe].map({ b.timestamp.day > $0 }) ?? true {
                        s.newestDay[b.timeframe] = b.timestamp.day
                    }
                } else {
                    if let f = s.forming[key], t < f.timestamp.epochSeconds {
                        outOfOrder.append(
                            FeedRefusal(
                                .outOfOrder,
                                "forming \(b.timeframe) bar of \(b.symbol) at \(b.timestamp) is before its forming bar at \(f.timestamp)",
                                symbol: b.symbol
                            )
                        )
                        continue
                    }
                    s.forming[key] = b
                    formingTaken += 1
                    applied.forming[b.timeframe, default: []].insert(b.symbol)
                }
            }
            s.acceptedFinal += accepted
            s.barsForming += formingTaken
            return s.acceptedFinal + s.barsForming
        }
        refusals += unknown
        refusals += outOfOrder
        // Queued under the feed's order (one ingest at a time), so the store appends in that order;
        // appended once the watches published the round these bars start (``startWrites()``).
        writer.withLock { $0 }?.enqueue(queued, startWriting: false)
        refuse(refusals)
        return applied
    }

    // MARK: Helpers

    /// An append failed: its bars are refused (counted, published), the symbols' newest final bar is
    /// read from the store again, and the watches are told to reload those symbols.
    private func storeFailed(_ failure: FinalBarWriter.Failure) {
        logger.error("could not append fed bars", metadata: ["error": "\(failure.error)"])
        var symbols: [Timeframe: Set<String>] = [:]
        state.withLock { s in
            for key in failure.bars.keys {
                s.lastFinal[key] = nil
                symbols[key.timeframe, default: []].insert(key.symbol)
            }
        }
        refuse(
            failure.bars.sorted {
                ($0.key.symbol, $0.key.timeframe.rawValue) < ($1.key.symbol, $1.key.timeframe.rawValue)
            }
            .map { key, count in
                FeedRefusal(
                    .storeFailed,
                    "\(count) \(key.timeframe) bar(s) of \(key.symbol) not appended: \(failure.error)",
                    symbol: key.symbol
                )
            }
        )
        storeFailureHandler.withLock { $0 }?(symbols)
    }

    private func refuse(_ refusals: [FeedRefusal]) {
        guard !refusals.isEmpty else { return }
        let docs = state.withLock { s in
            refusals.map { r -> FeedRefusalDocument in
                s.refused[r.reason, default: 0] += 1
                let doc = FeedRefusalDocument(r, count: s.refused[r.reason] ?? 1)
                s.lastRefusal = doc
                return doc
            }
        }
        for d in docs {
            logger.debug("refused a fed bar", metadata: ["reason": "\(d.reason)", "message": "\(d.message)"])
            refusalPublished(d)
        }
    }

    /// Asks the store which of `symbols` (not seen before) it knows, and remembers them.
    private func lookUpSymbols(_ symbols: Set<String>) async {
        do {
            let found = try await store.symbols(Array(symbols)).map(\.symbol)
            state.withLock { s in s.known.formUnion(found) }
        } catch {
            logger.warning("could not look symbols up", metadata: ["error": "\(error)"])
        }
    }

    /// Reads the newest stored final bar time of each of `keys` (not seen before) from the store.
    private func readLastFinalTimes(_ keys: Set<Key>) async {
        guard !keys.isEmpty else { return }
        let store = self.store
        do {
            let read = try await Blocking.run { () throws -> [Key: Int64] in
                var out: [Key: Int64] = [:]
                var newest: [Timeframe: CalendarDay?] = [:]
                for key in keys {
                    if newest[key.timeframe] == nil {
                        newest[key.timeframe] = try store.latestDay(for: key.timeframe)
                    }
                    guard let day = newest[key.timeframe] ?? nil else {
                        out[key] = Int64.min
                        continue
                    }
                    // The newest bar: the last of the newest day, or of the last bar before it.
                    let s = try store.loadBars(
                        BarQuery(
                            symbol: key.symbol,
                            timeframe: key.timeframe,
                            range: DateRange(from: day, to: day),
                            lookbackBars: 1
                        )
                    )
                    out[key] = s.times.last ?? Int64.min
                }
                return out
            }
            state.withLock { s in
                for (k, t) in read where s.lastFinal[k] == nil { s.lastFinal[k] = t }
            }
        } catch {
            logger.warning("could not read the newest stored bars", metadata: ["error": "\(error)"])
        }
    }

    private func stamp(_ t: Int64, like b: BarTimestamp) -> String {
        BarTimestamp(epochSeconds: t, utcOffsetSeconds: b.utcOffsetSeconds, isIntraday: b.isIntraday).description
    }
}
