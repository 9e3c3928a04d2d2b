import FormulaEngine
import Foundation
import Logging
import ScanCore
import ScanProtocol
import Synchronization

/// Runs the live watches (issue 14): standing `latest`-mode scans re-evaluated for the symbols whose
/// bars changed, publishing `live.<watch_id>.enter|exit` as the set changes.
///
/// One task (``run()``) owns every change to the watches: starts, stops, resumes and evaluation
/// rounds arrive as commands and are carried out one after another, so a round never races a start
/// or a stop. Bars mark their symbols dirty (``barsChanged(_:)``); a round takes every dirty symbol
/// at once, so a burst of bars costs one round. Reads (`LIST_WATCHES`, `GET_WATCH`) take a snapshot.
///
/// Each watch keeps its symbols' series in memory (what the latest scan's `loadBars` returned, with
/// the fed final bars appended), so a round reads nothing from the store; a series is read again
/// when the latest scan's range moves (a new day), when the watch starts or resumes, and when the
/// store could not append a symbol's fed bars.
final class WatchManager: Sendable {
    struct Live: Sendable {
        let id: String
        let request: WatchRequest
        let createdAt: Date
        let plans: WatchEvaluator.Plans
        var symbols: [String]
        var symbolSet: Set<String>
        var unknown: [String]
        var set: [WatchKey: WatchEntry] = [:]
        var seq = 0
        var barsApplied = 0
        var errors: [String: String] = [:]
        var range: DateRange?
        /// The plan over ``range`` (one object per range, so the executor's threads keep their scanner).
        var setup: ScanSetup?
        /// Events persisted since the stored snapshot of the set.
        var eventsSinceSnapshot = 0
    }

    private enum Command: Sendable {
        case start(WatchRequest, CheckedContinuation<Result<WatchDocument, ProtocolError>, Never>)
        case stop(String, CheckedContinuation<Result<WatchDocument, ProtocolError>, Never>)
        case resume
        case evaluate
    }

    private struct State {
        var watches: [String: Live] = [:]
        var dirtyFinal: [Timeframe: Set<String>] = [:]
        var dirtyForming: [Timeframe: Set<String>] = [:]
        /// The final bars fed since the last round, by timeframe and symbol.
        var pendingBars: [Timeframe: [String: [FeedBar]]] = [:]
        /// Symbols to read from the store again (their fed bars were not stored).
        var reload: [Timeframe: Set<String>] = [:]
        var pendingApplied = 0
        var evaluationQueued = false
        var stopping = false
    }

    private let symbols: any SymbolRepository
    private let bars: any BarRepository
    private let repository: any WatchRepository
    private let feed: BarFeed
    private let evaluator: WatchEvaluator
    private let eventLog: WatchEventLog
    private let maxWatches: Int
    private let logger: Logger
    private let publish: @Sendable ([LiveEventDocument]) -> Void
    private let state = Mutex(State())
    /// Each watch's symbols (their series in memory and last outcomes), by watch id and symbol; only
    /// the owning task changes the dictionaries (the evaluation threads append to the series in a round).
    private let series = Mutex<[String: [String: WatchEvaluator.Kept]]>([:])
    private let commands: AsyncStream<Command>
    private let continuation: AsyncStream<Command>.Continuation

    init(
        symbols: any SymbolRepository,
        bars: any BarRepository,
        repository: any WatchRepository,
        feed: BarFeed,
        maxWatches: Int,
        threads: Int,
        logger: Logger,
        publish: @escaping @Sendable ([LiveEventDocument]) -> Void
    ) {
        self.symbols = symbols
        self.bars = bars
        self.repository = repository
        self.feed = feed
        self.evaluator = WatchEvaluator(
            bars: bars,
            executor: ScanExecutor(threads: max(1, threads), name: "live-watch")
        )
        self.eventLog = WatchEventLog(repository: repository, logger: logger)
        self.maxWatches = max(1, maxWatches)
        self.logger = logger
        self.publish = publish
        (commands, continuation) = AsyncStream.makeStream(of: Command.self)
    }

    var runningCount: Int { state.withLock { $0.watches.count } }

    // MARK: Requests

    /// Starts a watch: checks the formula and the limit, evaluates every symbol, publishes an
    /// `enter` for each entry of the first set and persists it.
    func start(_ request: WatchRequest) async throws(ProtocolError) -> WatchDocument {
        do {
            _ = try WatchEvaluator.Plans(request)
        } catch let e as FormulaError {
            throw ProtocolError(.invalidFormula, e.description)
        } catch {
            throw ProtocolError(.invalidFormula, "\(error)")
        }
        let result = await withCheckedContinuation { c in
            if case .terminated = continuation.yield(.start(request, c)) {
                c.resume(returning: .failure(stoppingError))
            }
        }
        return try result.get()
    }

    /// Stops a watch, deletes it and its events from the store and publishes `stopped`.
    func stop(_ id: String) async throws(ProtocolError) -> WatchDocument {
        let result = await withCheckedContinuation { c in
            if case .terminated = continuation.yield(.stop(id, c)) { c.resume(returning: .failure(stoppingError)) }
        }
        return try result.get()
    }

    func list() -> [WatchDocument] {
        state.withLock { s in s.watches.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) } }
            .map { document($0, withMatches: false) }
    }

    /// The watch with its set, and its logged events after `eventsAfter` when asked.
    func get(_ id: String, eventsAfter: Int?, limit: Int) async throws -> WatchReply {
        guard let live = state.withLock({ $0.watches[id] }) else { throw ProtocolError.notFound("no watch '\(id)'") }
        var events: [LiveEventDocument]?
        if let after = eventsAfter {
            await eventLog.flush()  // every event published so far is in the log
            events = try await repository.events(watchId: id, after: after, limit: limit).map {
                LiveEventDocument(watchId: id, event: $0, confirm: live.request.confirm)
            }
        }
        return WatchReply(watch: document(live, withMatches: true), events: events)
    }

    /// Marks the symbols `applied` changed as dirty and queues an evaluation round.
    func barsChanged(_ applied: BarFeed.Applied) {
        let queue = state.withLock { s -> Bool in
            // Taken whole when nothing is pending (a round per message): no work per symbol.
            for (tf, set) in applied.finals {
                if s.dirtyFinal[tf] == nil { s.dirtyFinal[tf] = set } else { s.dirtyFinal[tf]?.formUnion(set) }
            }
            for (tf, set) in applied.forming {
                if s.dirtyForming[tf] == nil { s.dirtyForming[tf] = set } else { s.dirtyForming[tf]?.formUnion(set) }
            }
            for (tf, bySymbol) in applied.finalBars {
                guard s.pendingBars[tf] != nil else {
                    s.pendingBars[tf] = bySymbol
                    continue
                }
                for (symbol, bars) in bySymbol { s.pendingBars[tf]?[symbol, default: []] += bars }
            }
            s.pendingApplied = max(s.pendingApplied, applied.acceptedTotal)
            guard !s.evaluationQueued, !s.stopping else { return false }
            s.evaluationQueued = true
            return true
        }
        if queue { continuation.yield(.evaluate) }
    }

    /// The store could not append these symbols' fed bars: their series are read from the store again
    /// in the next round (so every set goes back to what the store holds).
    func storeFailed(_ symbols: [Timeframe: Set<String>]) {
        let queue = state.withLock { s -> Bool in
            for (tf, set) in symbols {
                s.reload[tf, default: []].formUnion(set)
                s.dirtyFinal[tf, default: []].formUnion(set)
            }
            guard !s.evaluationQueued, !s.stopping else { return false }
            s.evaluationQueued = true
            return true
        }
        if queue { continuation.yield(.evaluate) }
    }

    /// Queues the resumption of every persisted watch (their sets recomputed).
    func resumeStored() { continuation.yield(.resume) }

    /// Stops taking commands; ``run()`` returns once the one in progress is done.
    func shutdown() {
        state.withLock { $0.stopping = true }
        continuation.finish()
    }

    /// Stops the evaluation threads (after ``run()`` returned).
    func stopThreads() { evaluator.executor.stop() }

    /// Waits until every event published so far is persisted.
    func flushEvents() async { await eventLog.flush() }

    private var stoppingError: ProtocolError { ProtocolError(.busy, "the service is shutting down") }

    // MARK: The owning task

    /// Carries out the commands in order until ``shutdown()`` (then the queued ones, so every request
    /// is answered). Run it where task cancellation does not reach it: it ends by ``shutdown()``.
    func run() async {
        var resumed = false
        for await command in commands {
            switch command {
            case .start(let request, let c):
                c.resume(returning: await doStart(request))
            case .stop(let id, let c):
                c.resume(returning: await doStop(id))
            case .resume:
                if !resumed {
                    resumed = true
                    await doResume()
                }
            case .evaluate:
                await doEvaluate()
            }
        }
    }

    private func doStart(_ request: WatchRequest) async -> Result<WatchDocument, ProtocolError> {
        let count = state.withLock { $0.watches.count }
        guard count < maxWatches else {
            return .failure(
                ProtocolError(.busy, "\(count) watches are running; the limit is \(maxWatches); stop one first")
            )
        }
        do {
            let id = UUID().uuidString.lowercased()
            let createdAt = Date()
            let live = try await prepare(id: id, request: request, createdAt: createdAt)
            try await repository.saveWatch(
                StoredWatch(id: id, request: request, createdAt: createdAt, seq: 0, entries: [])
            )
            state.withLock { $0.watches[id] = live }
            let updated = await evaluateAll(live)
            return .success(document(updated, withMatches: true))
        } catch let e as ProtocolError {
            return .failure(e)
        } catch {
            return .failure(ProtocolError(.busy, "could not start the watch: \(error)"))
        }
    }

    private func doStop(_ id: String) async -> Result<WatchDocument, ProtocolError> {
        guard let live = state.withLock({ $0.watches[id] }) else {
            return .failure(.notFound("no watch '\(id)'"))
        }
        do {
            await eventLog.flush()  // no queued event of the watch is written after its deletion
            try await repository.deleteWatch(id: id)
        } catch {
            return .failure(ProtocolError(.busy, "could not delete watch '\(id)': \(error)"))
        }
        state.withLock { _ = $0.watches.removeValue(forKey: id) }
        series.withLock { _ = $0.removeValue(forKey: id) }
        publish([LiveEventDocument(stoppedWatch: id, seq: live.seq + 1, confirm: live.request.confirm)])
        var doc = document(live, withMatches: true)
        doc.status = "stopped"
        return .success(doc)
    }

    private func doResume() async {
        let stored: [StoredWatch]
        do {
            stored = try await repository.watches()
        } catch {
            logger.error("could not read the stored watches", metadata: ["error": "\(error)"])
            return
        }
        for w in stored where state.withLock({ $0.watches[w.id] == nil }) {
            do {
                var live = try await prepare(id: w.id, request: w.request, createdAt: w.createdAt)
                live.seq = w.seq
                live.set = Dictionary(w.entries.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
                state.withLock { $0.watches[w.id] = live }
                logger.info("resuming watch", metadata: ["watch": "\(w.id)", "seq": "\(w.seq)"])
                _ = await evaluateAll(live)
            } catch {
                logger.error("could not resume watch", metadata: ["watch": "\(w.id)", "error": "\(error)"])
            }
        }
    }

    /// Compiles a watch and resolves its universe.
    private func prepare(id: String, request: WatchRequest, createdAt: Date) async throws -> Live {
        let plans = try WatchEvaluator.Plans(request)
        let universe = try await symbols.resolve(request.symbolCriteria)
        let excluded = Set(request.symbolCriteria.exclude)
        var seen = Set<String>()
        let list = universe.symbols.map(\.symbol).filter { !excluded.contains($0) && seen.insert($0).inserted }
        let unknown = universe.unknown.filter { !excluded.contains($0) && seen.insert($0).inserted }
        let live = Live(
            id: id,
            request: request,
            createdAt: createdAt,
            plans: plans,
            symbols: list,
            symbolSet: Set(list),
            unknown: unknown
        )
        return live
    }

    /// Evaluates every symbol of a watch (a start, a resume) and applies the outcome.
    private func evaluateAll(_ live: Live) async -> Live {
        let applied = state.withLock { $0.pendingApplied }
        let fed = max(applied, feed.acceptedTotal)
        return await evaluate(live, symbols: live.symbols, fedBars: [:], applied: fed, forceRange: true)
    }

    private func doEvaluate() async {
        let (finals, forming, fed, reload, applied, watches) = state.withLock { s in
            defer {
                s.dirtyFinal = [:]
                s.dirtyForming = [:]
                s.pendingBars = [:]
                s.reload = [:]
                s.evaluationQueued = false
            }
            return (s.dirtyFinal, s.dirtyForming, s.pendingBars, s.reload, s.pendingApplied, Array(s.watches.values))
        }
        for w in watches.sorted(by: { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }) {
            let tf = w.request.timeframe
            var dirty = finals[tf] ?? []
            if w.request.confirm == .tick { dirty.formUnion(forming[tf] ?? []) }
            if let again = reload[tf] {
                series.withLock { c in for symbol in again { c[w.id]?[symbol] = nil } }
            }
            let mine = w.symbols.filter { dirty.contains($0) }
            _ = await evaluate(w, symbols: mine, fedBars: fed[tf] ?? [:], applied: applied, forceRange: false)
        }
        // The round's events are published: the store may append its bars now.
        feed.startWrites()
    }

    /// Re-evaluates `symbols` of a watch (its series in memory with `fedBars` appended, or read from
    /// the store), diffs its set, persists and publishes the events.
    private func evaluate(
        _ watch: Live,
        symbols wanted: [String],
        fedBars: [String: [FeedBar]],
        applied: Int,
        forceRange: Bool
    ) async -> Live {
        var live = watch
        let tf = live.request.timeframe
        let bars = self.bars
        let range: DateRange
        do {
            // The store's newest day, or a newer one the feed accepted and the store has not appended yet.
            let stored = try await Blocking.run { try bars.latestDay(for: tf) }
            let newest = [stored, feed.newestDay(tf)].compactMap { $0 }.max()
            range = try DateRange.resolving(from: nil, to: nil, newest: newest)
        } catch {
            logger.error("could not read the newest stored day", metadata: ["error": "\(error)"])
            return live
        }
        // A new day moves the latest scan's range: evaluate every symbol against it, read again.
        let full = forceRange || range != live.range || live.setup == nil
        let symbols = full ? live.symbols : wanted
        if full {
            live.setup = ScanSetup(plan: live.plans.evaluated, timeframe: tf, dateRange: range, mode: .latest)
        }
        var fresh: [WatchEntry] = []
        var newest: [String: WatchEntry] = [:]
        if !symbols.isEmpty, let setup = live.setup {
            let id = live.id
            // Every symbol of the round gets a box (new ones are read from the store); one lookup each.
            let (kept, boxes, missing) = series.withLock {
                c -> ([String: WatchEvaluator.Kept], [WatchEvaluator.Kept], Bool) in
                if full { c[id] = [:] }
                var mine = c.removeValue(forKey: id) ?? [:]
                var boxes: [WatchEvaluator.Kept] = []
                boxes.reserveCapacity(symbols.count)
                var missing = false
                for symbol in symbols {
                    if let box = mine[symbol] {
                        if box.series == nil { missing = true }
                        boxes.append(box)
                    } else {
                        let box = WatchEvaluator.Kept()
                        mine[symbol] = box
                        boxes.append(box)
                        missing = true
                    }
                }
                c[id] = mine
                return (mine, boxes, missing)
            }
            // A series read from the store must hold every bar the feed accepted so far.
            if missing { await feed.flushWrites() }
            let forming = live.request.confirm == .tick ? feed.formingBars(tf, symbols) : [:]
            // A forming bar of a newer day extends the range to it (nothing final is stored after the
            // range's end, so the series in memory are those of the extended range too).
            var used = setup
            if let to = forming.values.map(\.timestamp.day).max(), to > setup.dateRange.to {
                used = ScanSetup(
                    plan: setup.plan,
                    timeframe: tf,
                    dateRange: DateRange(from: setup.dateRange.from, to: to),
                    mode: .latest
                )
            }
            await evaluator.evaluate(used, symbols: symbols, kept: kept, fed: fedBars, forming: forming)
            newest.reserveCapacity(symbols.count)
            var read: [String: Int64] = [:]
            for (s, box) in zip(symbols, boxes) {
                let o = box.outcome
                fresh += o.entries
                if let n = o.newest { newest[s] = n }
                if let e = o.error {
                    live.errors[s] = e
                } else if !live.errors.isEmpty {
                    live.errors[s] = nil
                }
                if box.readFromStore, let last = box.series?.times.last { read[s] = last }
            }
            // The last bar of a series just read is the symbol's newest stored bar (the feed's order check).
            feed.knowNewest(tf, read)
        }
        let (set, events) = WatchDiff.apply(
            current: live.set,
            // Every symbol of the watch (a full round, or every symbol's bar changed): no set to build.
            evaluated: symbols.count == live.symbols.count ? nil : Set(symbols),
            fresh: fresh,
            seq: live.seq,
            exitEntries: newest
        )
        live.set = set
        live.seq += events.count
        live.range = range
        live.barsApplied = max(live.barsApplied, applied)
        // Only the changes are persisted (the events); the whole set again only once the events since
        // its last snapshot outnumber it, so storing the set costs at most one entry per event.
        var snapshot = false
        if !events.isEmpty {
            live.eventsSinceSnapshot += events.count
            snapshot = live.eventsSinceSnapshot >= max(64, set.count)
            if snapshot { live.eventsSinceSnapshot = 0 }
        }
        let current = live
        let stillThere = state.withLock { s -> Bool in
            guard s.watches[current.id] != nil else { return false }
            s.watches[current.id] = current
            return true
        }
        if stillThere, !events.isEmpty {
            // Published first, persisted off the publish path (in order, batched: ``WatchEventLog``).
            publish(LiveEventDocument.documents(watchId: live.id, events: events, confirm: live.request.confirm))
            eventLog.append(
                WatchEventLog.Record(
                    watchId: live.id,
                    events: events,
                    seq: live.seq,
                    entries: snapshot ? set.values.sorted { $0.key < $1.key } : nil
                )
            )
        }
        return live
    }

    private func document(_ w: Live, withMatches: Bool) -> WatchDocument {
        // LIST_WATCHES (no matches) only counts the set: clients poll it.
        let entries = withMatches ? w.set.values.sorted { $0.key < $1.key } : []
        var errors = w.unknown.map { ResultDocument.ErrorEntry(symbol: $0, message: "unknown symbol '\($0)'") }
        errors += w.errors.sorted { $0.key < $1.key }.map {
            ResultDocument.ErrorEntry(symbol: $0.key, message: $0.value)
        }
        return WatchDocument(
            watchId: w.id,
            status: "running",
            request: WatchStartBody(w.request),
            createdAt: WireTime.format(w.createdAt),
            seq: w.seq,
            barsApplied: w.barsApplied,
            symbols: w.symbols.count,
            matchCount: w.set.count,
            matches: withMatches ? entries.map(WatchEntryDocument.init) : nil,
            errors: errors
        )
    }
}
