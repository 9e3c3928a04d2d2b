import EngineNode
import Foundation
import Logging
import MarketData
import ScanClient
import ScanCore
import ScanProtocol
import ScanService
import SessionStore
import Synchronization
import ZeroMQ

/// Live-watch latency (issue 14 part 5, BENCHMARKS.md "Live watch latency"): a scan-service with 2
/// engine nodes (in this process, over TCP on 127.0.0.1), a watch over 2,000 symbols of 1-minute
/// bars, and minute after minute one new bar per symbol pushed to the feed. For each minute it
/// measures, from the moment the minute's last bar was sent, when the last enter/exit event of that
/// minute arrived on a SUB socket.
///
/// Between minutes it waits until the store has appended the previous minute's bars (`PING`'s
/// `feed.bars_final`): a real feed leaves 60 s between minutes for that append, which the service
/// starts only once a minute's events are published; without the wait the compressed minutes would
/// make one minute's append compete with the next minute's evaluation. How long the append took is
/// printed too. The round's end is learned by polling `LIST_WATCHES` every 5 ms (the latency itself
/// is taken from the SUB's arrival times, so the poll's period does not change it).
///
///     swift run -c release --package-path Benchmarks LiveBench [--symbols 2000] [--days 2]
///         [--minutes 5] [--per-symbol] [--live-threads 2]
///
/// `--per-symbol` sends each bar as its own message (a feed that forwards ticks as they close)
/// instead of one message per minute.
@main
struct LiveBench {
    static let formula = """
        signal up = close > sma(close, 5)
        signal cross = crossover(sma(close, 5), sma(close, 20))
        column rsi14 = rsi(close, 14)
        """

    static func main() async throws {
        var symbols = 2000
        var days = 2
        var minutes = 5
        var perSymbol = false
        var liveThreads = 2
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let a = arguments.next() {
            switch a {
            case "--per-symbol": perSymbol = true
            case "--symbols": symbols = Int(arguments.next() ?? "") ?? symbols
            case "--days": days = Int(arguments.next() ?? "") ?? days
            case "--minutes": minutes = Int(arguments.next() ?? "") ?? minutes
            case "--live-threads": liveThreads = Int(arguments.next() ?? "") ?? liveThreads
            default:
                FileHandle.standardError.write(
                    Data(
                        "usage: LiveBench [--symbols N] [--days D] [--minutes M] [--per-symbol] [--live-threads T]\n"
                            .utf8
                    )
                )
                exit(64)
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("livebench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("live.sqlite").path
        let store = try MarketDataStore.open(path: path)
        let generator = try MarketGenerator(.init(symbols: symbols, days: days, timeframe: .minute1, seed: 7))
        try store.upsertSymbols(generator.symbolInfos())
        var batch: [BarSeries] = []
        for i in 0..<symbols {
            batch.append(generator.series(i))
            if batch.count == 200 || i == symbols - 1 {
                try store.writeBars(batch)
                batch = []
            }
        }
        let sessions = try SessionStore(path: path)
        log(
            "store: \(symbols) symbols × \(days) sessions of 1m bars (\(try store.storedBarCount(timeframe: .minute1, symbol: nil)) bars)"
        )

        var quiet = Logger(label: "livebench")
        quiet.logLevel = .error
        let service = ScanService(
            configuration: ScanServiceConfiguration(endpoints: .ephemeral(), lingerMs: 0, liveThreads: liveThreads),
            symbols: store,
            bars: store,
            sessions: sessions,
            jobs: sessions,
            marketData: store,
            watches: sessions,
            logger: quiet
        )
        let serviceTask = Task { try await service.run() }
        let endpoints = try await service.boundEndpoints()
        var nodes: [(EngineNode, Task<Void, any Error>)] = []
        for n in 1...2 {
            let node = EngineNode(
                configuration: EngineNodeConfiguration(
                    jobsEndpoint: endpoints.jobs,
                    resultsEndpoint: endpoints.results,
                    controlEndpoint: endpoints.control,
                    threads: 1,
                    name: "node-\(n)",
                    lingerMs: 0
                ),
                bars: store,
                logger: quiet
            )
            nodes.append((node, Task { try await node.run() }))
        }
        let client = try await ScanClient.connect(endpoint: endpoints.api, eventsEndpoint: endpoints.events)
        guard let feedEndpoint = endpoints.feed else { throw Failure("the service has no feed socket") }
        let feeder = try await BarFeeder.connect(endpoint: feedEndpoint)

        // Each symbol's newest bar: the next minutes follow it.
        guard let day = try store.latestDay(for: .minute1) else { throw Failure("no minute bars") }
        let last = try store.loadBars(
            symbols: generator.symbolInfos().map(\.symbol),
            timeframe: .minute1,
            range: DateRange(from: day, to: day),
            lookbackBars: 1
        )
        var state: [(symbol: String, time: Int64, offset: Int32, close: Double)] = last.series.keys.sorted().compactMap
        {
            guard let s = last.series[$0], let t = s.times.last, let c = s.columns.close.last else { return nil }
            return ($0, t, s.utcOffsets.last ?? 0, c)
        }

        let started = ContinuousClock.now
        let watch = try await client.startWatch(
            WatchRequest(timeframe: .minute1, formula: Formula(name: "live", source: formula), confirm: .bar),
            timeout: .seconds(120)
        )
        log(
            "watch \(watch.watchId): \(watch.symbols) symbols, first set \(watch.matchCount) entries, "
                + "started in \(ms(ContinuousClock.now - started)) ms"
        )
        // A SUB socket of its own: each event's arrival is taken as it comes off the socket, before
        // anything decodes it (JSONDecoder on hundreds of events a minute, in arrival order, would
        // delay the later ones' timestamps by the earlier ones' decoding). One PUB delivers a watch's
        // events in `seq` order, so the n-th enter/exit message of the watch is its n-th event; the
        // bodies are decoded and checked after the last minute.
        let zmq = try ZMQContext()
        let subLoop = try ZMQLoop(context: zmq, name: "livebench-sub", receiveBufferCapacity: 100_000)
        var subOptions = SocketOptions()
        subOptions.subscriptions = [Array(LiveEventCodec.topicPrefix.utf8)]
        subOptions.receiveHighWaterMark = 1_000_000
        let sub = try await subLoop.makeSocket(.sub, options: subOptions)
        try await sub.connect(endpoints.events)
        let ours = Array(LiveEventCodec.prefix(watchId: watch.watchId).utf8)
        let stopped = Array(".stopped".utf8)
        let arrivals = Mutex<[(at: ContinuousClock.Instant, body: [UInt8])]>([])
        let others = Mutex<Set<String>>([])
        // The reader runs on a thread of its own (as a subscriber in another process would), so the
        // arrival times are not those of a task waiting behind the service's work on the shared pool.
        let readerThread = DedicatedThreadExecutor(name: "livebench-sub-reader")
        let reader = Task(executorPreference: readerThread) {
            do {
                for try await m in sub.messages {
                    let now = ContinuousClock.now
                    guard m.frames.count == 2 else { continue }
                    let topic = m.frames[0]
                    if topic.starts(with: ours) {
                        if !topic.reversed().starts(with: stopped.reversed()) {
                            arrivals.withLock { $0.append((now, m.frames[1])) }
                        }
                    } else {
                        _ = others.withLock { $0.insert(String(decoding: topic, as: UTF8.self)) }
                    }
                }
            } catch {}
        }
        // The subscription reaches the PUB before the first minute: a probe watch's events arrive.
        let probeRequest = WatchRequest(
            symbolCriteria: SymbolCriteria(symbols: [state.first?.symbol ?? ""]),
            timeframe: .minute1,
            formula: Formula(name: "probe", source: "close > 0")
        )
        var subscribed = false
        for _ in 0..<100 where !subscribed {
            let probe = try await client.startWatch(probeRequest)
            _ = try await client.stopWatch(probe.watchId)
            for _ in 0..<100 where !subscribed {
                subscribed = others.withLock { $0.contains { $0.contains(probe.watchId) } }
                if !subscribed { try await Task.sleep(for: .milliseconds(2)) }
            }
        }
        guard subscribed else { throw Failure("no live event reached the SUB socket") }

        let loadBefore = loadAverage()
        var random = SystemRandomNumberGenerator()
        var latencies: [Double] = []
        var appliedLatencies: [Double] = []
        var eventCounts: [Int] = []
        var seq = watch.seq
        var applied = (try await client.watch(watch.watchId)).watch.barsApplied
        var appends: [Double] = []
        for minute in 1...minutes {
            // The store appended every bar sent so far (a real minute leaves 60 s for it).
            let storedBefore = applied
            while (try await client.ping().feed?.barsFinal ?? storedBefore) < storedBefore {
                try await Task.sleep(for: .milliseconds(5))
            }
            var bars: [FeedBar] = []
            for k in state.indices {
                let move = Double(Int.random(in: -20...20, using: &random)) / 10_000
                let open = state[k].close
                let close = (open * (1 + move) * 100).rounded() / 100
                state[k].time += 60
                state[k].close = close
                bars.append(
                    FeedBar(
                        symbol: state[k].symbol,
                        timeframe: .minute1,
                        timestamp: BarTimestamp(
                            epochSeconds: state[k].time,
                            utcOffsetSeconds: state[k].offset,
                            isIntraday: true
                        ),
                        open: open,
                        high: max(open, close),
                        low: min(open, close),
                        close: close,
                        volume: Double(Int.random(in: 100...10_000, using: &random))
                    )
                )
            }
            if perSymbol {
                for b in bars { try await feeder.send([b]) }
            } else {
                try await feeder.send(bars)
            }
            let sent = ContinuousClock.now
            applied += bars.count
            let target = applied
            let id = watch.watchId
            // LIST_WATCHES: the counters without the set (GET_WATCH would send the whole set each poll).
            func read() async throws -> WatchDocument {
                guard let w = try await client.listWatches().first(where: { $0.watchId == id }) else {
                    throw Failure("watch \(id) is gone")
                }
                return w
            }
            var current = try await read()
            while current.barsApplied < target {
                try await Task.sleep(for: .milliseconds(5))
                current = try await read()
            }
            let appliedAt = ContinuousClock.now
            let newSeq = current.seq
            // The watch's events so far: the n-th to arrive is event watch.seq + n.
            let expected = newSeq - watch.seq
            let deadline = ContinuousClock.now + .seconds(30)
            while newSeq > seq, arrivals.withLock({ $0.count < expected }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
            let lastArrival = arrivals.withLock { a in a.count >= expected && expected > 0 ? a[expected - 1].at : nil }
            let events = newSeq - seq
            seq = newSeq
            eventCounts.append(events)
            appliedLatencies.append(ms(appliedAt - sent))
            if events > 0, let lastArrival { latencies.append(ms(lastArrival - sent)) }
            // How long the store took to append the minute (after its events were published).
            while (try await client.ping().feed?.barsFinal ?? target) < target {
                try await Task.sleep(for: .milliseconds(5))
            }
            appends.append(ms(ContinuousClock.now - sent))
            log(
                "minute \(minute): \(bars.count) bars, \(events) events, last event \(events > 0 ? "\(ms((lastArrival ?? sent) - sent)) ms" : "-") "
                    + "after the minute's last bar (set re-read at \(ms(appliedAt - sent)) ms, "
                    + "bars stored at \(appends.last ?? 0) ms)"
            )
        }
        func pct(_ xs: [Double], _ p: Double) -> Double {
            let s = xs.sorted()
            return s.isEmpty ? .nan : s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))]
        }
        let mode = perSymbol ? "one message per bar" : "one message per minute"
        // Every event arrived once, in `seq` order (so the n-th arrival was event watch.seq + n).
        let bodies = arrivals.withLock { $0.map(\.body) }
        let seen = bodies.count
        for (n, body) in bodies.enumerated() {
            let e = try LiveEventCodec.decode([Array((LiveEventCodec.topicPrefix + "x").utf8), body])
            guard e.watchId == watch.watchId, e.seq == watch.seq + n + 1 else {
                throw Failure("event \(n + 1) on the SUB has seq \(e.seq), expected \(watch.seq + n + 1)")
            }
        }
        let worst = latencies.max() ?? .nan
        let load = loadAverage()
        print(
            "live watch, \(symbols) symbols, \(minutes) minutes, \(mode), 2 nodes, \(liveThreads) live threads: "
                + "\(eventCounts.reduce(0, +)) events (\(seen) seen on the SUB, \(eventCounts.reduce(0, +) / max(1, minutes)) a minute); "
                + "last event of a minute after its last bar: median \(round1(pct(latencies, 0.5))) ms, "
                + "p90 \(round1(pct(latencies, 0.9))) ms, max \(round1(worst)) ms over \(latencies.count) minutes; "
                + "50 ms target \(worst <= 50 ? "met" : "NOT met") (every minute's last event within 50 ms); "
                + "the minute's bars stored after median \(round1(pct(appends, 0.5))) ms, max \(round1(appends.max() ?? .nan)) ms; "
                + "load average \(loadBefore) at the first minute, \(load) at the end"
        )

        reader.cancel()
        await sub.close()
        await subLoop.shutdown()
        await feeder.close()
        await client.close()
        for (n, _) in nodes { n.shutdown() }
        for (_, t) in nodes { _ = try? await t.value }
        service.shutdown()
        _ = try? await serviceTask.value
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static func ms(_ d: Duration) -> Double {
        let (s, a) = d.components
        return round1(Double(s) * 1000 + Double(a) / 1e15)
    }

    static func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }

    /// The 1, 5 and 15 minute load averages (`/proc/loadavg`), "?" where there is none.
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
            .joined(separator: " ") ?? "?"
    }

    static func log(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}

/// A task executor with one thread of its own: the jobs of the tasks that prefer it run there, in
/// the order they were enqueued. Its thread lives as long as the process (one per benchmark run).
final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []  // guarded by `condition`

    init(name: String) {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
