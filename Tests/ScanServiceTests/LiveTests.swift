import Foundation
import MarketData
import ScanClient
import ScanCore
import ScanProtocol
import ScanService
import SessionStore
import Synchronization
import TestSupport
import Testing
import ZeroMQ

/// The real 1-minute sample (`../shared/data/intraday_1m`): DBB, FXY, INDA, 2025-06-09 … 2025-06-23.
enum IntradaySample {
    static func path() throws -> String {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("shared/data/intraday_1m/bars.csv")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        throw TimedOut(what: "../shared/data/intraday_1m/bars.csv not found from \(#filePath)")
    }

    /// Every bar of the file as a final `1m` feed bar, sorted by time then symbol.
    static func bars() throws -> [FeedBar] {
        try FeedReplay(path: path(), timeframe: .minute1).batches.flatMap { $0 }
    }
}

/// A temporary directory removed when the test is done.
final class LiveTempDir: Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("live-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    var database: String { url.appendingPathComponent("live.sqlite").path }
}

/// A service with live scans on a fresh SQLite file holding the sample's symbols and the bars
/// before `replayDay`; no engine nodes (watches evaluate in the service).
final class LiveService: Sendable {
    let store: MarketDataStore
    let sessions: SessionStore
    let service: ScanService
    let task: Task<Void, any Error>
    let endpoints: ScanServiceConfiguration.Endpoints

    init(database: String, configure: (inout ScanServiceConfiguration) -> Void = { _ in }) async throws {
        // Opening (and migrating) the SQLite files blocks: not on the cooperative pool.
        store = try await Blocking.run { try MarketDataStore.open(path: database) }
        sessions = try await Blocking.run { try SessionStore(path: database) }
        var config = ScanServiceConfiguration(endpoints: .ephemeral(), lingerMs: 0)
        configure(&config)
        let service = ScanService(
            configuration: config,
            symbols: store,
            bars: store,
            sessions: sessions,
            jobs: sessions,
            marketData: store,
            watches: sessions,
            logger: quietLogger
        )
        self.service = service
        task = Task { try await service.run() }
        // A setup deadline, as in TestSupport's cluster: binding waits for the cooperative pool, which
        // every test running at once shares (a loaded machine took more than 10 s).
        endpoints = try await within(30, "service bound") { try await service.boundEndpoints() }
    }

    func stop() async {
        service.shutdown()
        _ = try? await within(15, "service stopped") { try await self.task.value }
    }

    /// Loads the sample's symbols and its bars before `day` into `database` (on a blocking thread: the
    /// CSV and SQLite work would hold one of the cooperative pool's threads, which the other suites'
    /// services need meanwhile).
    static func seed(_ database: String, before day: String) async throws -> [FeedBar] {
        try await Blocking.run { try seedNow(database, before: day) }
    }

    private static func seedNow(_ database: String, before day: String) throws -> [FeedBar] {
        let store = try MarketDataStore.open(path: database)
        let all = try IntradaySample.bars()
        try store.upsertSymbols(["DBB", "FXY", "INDA"].map { SymbolInfo(symbol: $0, market: "NYSEARCA") })
        guard let cut = CalendarDay(day) else { throw TimedOut(what: "bad day \(day)") }
        let history = all.filter { $0.timestamp.day < cut }
        let series = Dictionary(grouping: history, by: \.symbol).map { symbol, bars in
            BarSeries(feedBars: bars, symbol: symbol, timeframe: .minute1)
        }
        try store.writeBars(series)
        return all.filter { $0.timestamp.day == cut }
            .sorted { ($0.timestamp.epochSeconds, $0.symbol) < ($1.timestamp.epochSeconds, $1.symbol) }
    }
}

/// A PUSH connected to the feed.
final class Feeder: Sendable {
    let loop: ZMQLoop
    let socket: ZMQSocket
    init(_ endpoint: String) async throws {
        loop = try ZMQLoop(context: try ZMQContext(), name: "test-feeder")
        var o = SocketOptions()
        o.lingerMs = 1000
        socket = try await loop.makeSocket(.push, options: o)
        try await socket.connect(endpoint)
    }
    func send(_ bars: [FeedBar]) async throws { try await socket.send(ZMQMessage(try FeedCodec.encode(bars))) }
    func sendRaw(_ frames: [[UInt8]]) async throws { try await socket.send(ZMQMessage(frames)) }
    func close() async { await loop.shutdown() }
}

/// A SUB collecting everything published under `prefix`.
final class Collector: Sendable {
    let loop: ZMQLoop
    let socket: ZMQSocket
    let received = Mutex<[[[UInt8]]]>([])
    let reader: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(_ endpoint: String, prefix: String) async throws {
        loop = try ZMQLoop(context: try ZMQContext(), name: "test-collector")
        var o = SocketOptions()
        o.lingerMs = 0
        o.subscriptions = [Array(prefix.utf8)]
        socket = try await loop.makeSocket(.sub, options: o)
        try await socket.connect(endpoint)
        let task = Task { [self] in
            while let m = try? await self.socket.receive() { self.received.withLock { $0.append(m.frames) } }
        }
        reader.withLock { $0 = task }
    }

    var liveEvents: [LiveEventDocument] {
        received.withLock { $0 }.compactMap { try? LiveEventCodec.decode($0) }
            .filter { $0.event != "stopped" }
    }

    func close() async {
        reader.withLock { $0 }?.cancel()
        await loop.shutdown()
    }
}

let liveFormula = """
    signal above = close > sma(close, 5) and rsi(close, 14) > 50
    signal cross = crossover(ema(close, 3), sma(close, 10))
    column rsi14 = rsi(close, 14)
    """

func watchStartBody(_ formula: String = liveFormula, confirm: String = "bar") throws -> String {
    let body = WatchStartBody(
        formula: FormulaDocument(name: "live", source: formula),
        criteria: CriteriaDocument(symbols: ["DBB", "FXY", "INDA"]),
        timeframe: "1m",
        confirm: confirm
    )
    return String(decoding: try JSONCoding.encode(body), as: UTF8.self)
}

/// A watch's entries as comparable rows.
func rows(_ entries: [WatchEntryDocument]) -> [String] {
    entries.map { e in
        let values = e.values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.map { "\($0)" } ?? "null")" }
        return "\(e.symbol) \(e.signal) \(e.timestamp) \(e.close.map { "\($0)" } ?? "null") \(values)"
    }.sorted()
}

/// What `scan run --mode latest` over the same store answers, as the same rows.
func latestRows(_ store: MarketDataStore, _ request: WatchRequest) async throws -> [String] {
    let result = try await BatchScanUseCase(
        symbols: store,
        bars: store,
        engine: InProcessEngine(bars: store, threads: 1)
    )
    .execute(request.latestScan)
    let doc = ResultDocument(result)
    return rows(
        doc.signals.matches.map {
            WatchEntryDocument(
                symbol: $0.symbol,
                signal: $0.signal,
                timestamp: $0.timestamp,
                close: $0.close,
                values: $0.values,
                forming: false
            )
        }
    )
}

/// Bodies the service sent, checked against protocol/schemas by protocol/tests/validate.py.
final class SchemaCheck: Sendable {
    let bodies = Mutex<[(schema: String, body: [UInt8])]>([])

    func add(_ schema: String, _ body: [UInt8]) { bodies.withLock { $0.append((schema, body)) } }

    /// Runs the validator on every body; returns its report (empty when all hold).
    func violations(in dir: LiveTempDir) async throws -> String {
        let lines = try bodies.withLock { $0 }.map { item -> String in
            let body = try JSONSerialization.jsonObject(with: Data(item.body))
            let line = try JSONSerialization.data(
                withJSONObject: ["schema": item.schema, "body": body],
                options: [.sortedKeys]
            )
            return String(decoding: line, as: UTF8.self)
        }
        let file = dir.url.appendingPathComponent("bodies.jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let run = try await runChild(
            URL(fileURLWithPath: "/usr/bin/env"),
            [
                "python3", root.appendingPathComponent("protocol/tests/validate.py").path, "--strict", "--lines",
                file.path,
            ]
        )
        let report = run.stdout + run.stderr
        let expected = "\(lines.count) bodies checked, 0 problems"
        return run.status == 0 && report.contains(expected) ? "" : report
    }
}

/// Waits until a SUB's subscription has reached the PUB: `probe` makes the service publish something
/// the SUB receives, again every 100 ms until `arrived` says it came.
func untilSubscribed(
    _ what: String,
    probe: @escaping @Sendable () async throws -> Void,
    arrived: @escaping @Sendable () -> Bool
) async throws {
    try await within(20, what) {
        while true {
            try await probe()
            for _ in 0..<20 {
                if arrived() { return }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }
}

/// Folds enter/exit events (in `seq` order) into the set they describe.
func fold(_ events: [LiveEventDocument]) -> Set<String> {
    var set = Set<String>()
    for e in events.sorted(by: { $0.seq < $1.seq }) {
        guard let symbol = e.symbol, let signal = e.signal else { continue }
        if e.event == "enter" { set.insert("\(symbol) \(signal)") } else { set.remove("\(symbol) \(signal)") }
    }
    return set
}

@Suite(.serialized, .timeLimit(.minutes(5))) struct LiveTests {
    /// Issue 14 part 3: a real day of minute bars through the feed; after every bar the watch's set
    /// equals a latest-mode scan over the same stored bars, and its events rebuild the set.
    @Test func replayedDayKeepsTheWatchEqualToALatestScan() async throws {
        let dir = try LiveTempDir()
        let day = try await LiveService.seed(dir.database, before: "2025-06-17")
        #expect(day.count == 603)
        let live = try await LiveService(database: dir.database)
        let collector = try await Collector(live.endpoints.events, prefix: "live.")
        let feeder = try await Feeder(try #require(live.endpoints.feed))
        let schemas = SchemaCheck()
        do {
            try await withClient(live.endpoints.api) { client in
                // The subscription reaches the PUB: a probe watch's events arrive (they carry its own id).
                try await untilSubscribed("the live. subscription") {
                    let probe = try await client.request("WATCH_START", try watchStartBody("signal probe = close > 0"))
                        .decode(WatchReply.self).watch.watchId
                    _ = try await client.request("WATCH_STOP", #"{"watch_id": "\#(probe)"}"#)
                } arrived: {
                    collector.received.withLock { !$0.isEmpty }
                }
                let startReply = try await client.request("WATCH_START", try watchStartBody())
                schemas.add("watch-reply.json", startReply.body)
                let started = try startReply.decode(WatchReply.self)
                let id = started.watch.watchId
                let request = try started.watch.request.validated()
                #expect(started.watch.symbols == 3)
                #expect(rows(started.watch.matches ?? []) == (try await latestRows(live.store, request)))

                var entered = 0
                var exited = 0
                var lastSeq = started.watch.seq
                for (k, bar) in day.enumerated() {
                    try await feeder.send([bar])
                    let watch = try await within(20, "bar \(k + 1) applied") {
                        while true {
                            let w = try await client.request("GET_WATCH", #"{"watch_id": "\#(id)"}"#)
                                .decode(WatchReply.self).watch
                            if w.barsApplied >= k + 1 { return w }
                            try await Task.sleep(for: .milliseconds(2))
                        }
                    }
                    // The store appends fed bars after the watches saw them: the batch scan below reads
                    // the store, so wait until it holds the bar too.
                    try await eventually(20, "bar \(k + 1) stored", interval: .milliseconds(2)) {
                        try await client.request("PING", "{}").decode(PingReply.self).feed?.barsFinal ?? 0 >= k + 1
                    }
                    let expected = try await latestRows(live.store, request)
                    #expect(
                        rows(watch.matches ?? []) == expected,
                        "after bar \(k + 1) (\(bar.symbol) \(bar.timestamp))"
                    )
                    if watch.seq > lastSeq { lastSeq = watch.seq }
                    _ = (entered, exited)
                }
                let finalReply = try await client.request("GET_WATCH", #"{"watch_id": "\#(id)", "events_after": 0}"#)
                schemas.add("watch-reply.json", finalReply.body)
                let final = try finalReply.decode(WatchReply.self)
                let logged = try #require(final.events)
                entered = logged.filter { $0.event == "enter" }.count
                exited = logged.filter { $0.event == "exit" }.count
                #expect(entered > 20 && exited > 20, "a real day moves the set (\(entered) enters, \(exited) exits)")
                #expect(logged.map(\.seq) == Array(1...final.watch.seq))
                let current = Set((final.watch.matches ?? []).map { "\($0.symbol) \($0.signal)" })
                #expect(fold(logged) == current)
                // The published events, replayed from seq 1, rebuild the set too.
                try await eventually(10, "every event published") {
                    collector.liveEvents.filter { $0.watchId == id }.count == final.watch.seq
                }
                let published = collector.liveEvents.filter { $0.watchId == id }
                #expect(published.map(\.seq) == Array(1...final.watch.seq))
                #expect(fold(published) == current)
                #expect(published.allSatisfy { $0.confirm == "bar" && $0.forming == false })

                for frames in collector.received.withLock({ $0 }).prefix(50) {
                    schemas.add("live-event.json", frames[1])
                }
                let list = try await client.request("LIST_WATCHES", "{}")
                schemas.add("watch-list-reply.json", list.body)
                let pingReply = try await client.request("PING", "{}")
                schemas.add("ping-reply.json", pingReply.body)
                let ping = try pingReply.decode(PingReply.self)
                #expect(ping.feed?.barsFinal == 603)
                #expect(ping.feed?.refused.values.reduce(0, +) == 0)
                #expect(ping.watchesRunning == 1)
                let stopped = try await client.request("WATCH_STOP", #"{"watch_id": "\#(id)"}"#)
                schemas.add("watch-reply.json", stopped.body)
                try await eventually(10, "the stopped event") {
                    collector.received.withLock { $0 }.contains {
                        String(decoding: $0[0], as: UTF8.self) == "live.\(id).stopped"
                    }
                }
                let last = try #require(collector.received.withLock { $0.last })
                schemas.add("live-event.json", last[1])
                #expect(try LiveEventCodec.decode(last).seq == final.watch.seq + 1)
            }
            #expect(try await schemas.violations(in: dir) == "")
        } catch {
            await feeder.close()
            await collector.close()
            await live.stop()
            throw error
        }
        await feeder.close()
        await collector.close()
        await live.stop()
    }

    /// Issue 14 part 1: every kind of bad feed input is refused, counted in PING and published on
    /// `feed.refused`; nothing of it reaches the store, and the feed goes on working.
    @Test func feedRefusesBadInputCountsItAndKeepsWorking() async throws {
        let dir = try LiveTempDir()
        let day = try await LiveService.seed(dir.database, before: "2025-06-17")
        let live = try await LiveService(database: dir.database) { $0.maxFeedBars = 4 }
        let collector = try await Collector(live.endpoints.events, prefix: "feed.")
        let feeder = try await Feeder(try #require(live.endpoints.feed))
        defer { _ = collector }
        do {
            try await withClient(live.endpoints.api) { client in
                let before = try live.store.storedBarCount(timeframe: .minute1, symbol: nil)
                let v = Array("MSCAN/1".utf8)
                let verb = Array("BARS".utf8)
                @Sendable func raw(_ json: String) async throws {
                    try await feeder.sendRaw([v, verb, Array(json.utf8)])
                }
                let good = day[0]
                let t = good.timestamp.description
                // The subscription reaches the PUB: a refused probe bar (symbol PROBE) is published.
                // Probes are left out of what is asserted below: their refusals are counted first.
                let probes = Mutex(0)
                try await untilSubscribed("the feed. subscription") {
                    probes.withLock { $0 += 1 }
                    try await raw(
                        #"{"symbol": "PROBE", "time": "\#(t)", "open": 1, "high": 1, "low": 1, "close": 1, "volume": 1}"#
                    )
                } arrived: {
                    collector.received.withLock { !$0.isEmpty }
                }
                let probed = probes.withLock { $0 }
                try await eventually(10, "every probe counted") {
                    try await client.request("PING", "{}").decode(PingReply.self).feed?.refused["unknown_symbol"]
                        == probed
                }
                @Sendable func notProbe(_ frames: [[UInt8]]) -> Bool {
                    (try? JSONCoding.decode(FeedRefusalDocument.self, from: frames[1]).symbol) != "PROBE"
                }
                try await raw(
                    #"{"symbol": "ZZZZ", "time": "\#(t)", "open": 1, "high": 1, "low": 1, "close": 1, "volume": 1}"#
                )
                try await raw(
                    #"{"symbol": "INDA", "time": "2025-06-09T09:30:00-04:00", "open": 1, "high": 1, "low": 1, "close": 1, "volume": 1}"#
                )
                try await raw(
                    #"{"symbol": "INDA", "time": "\#(t)", "open": 1, "high": 1, "low": 1, "close": "NaN", "volume": 1}"#
                )
                try await raw(
                    #"{"symbol": "INDA", "timeframe": "5m", "time": "\#(t)", "open": 1, "high": 1, "low": 1, "close": 1, "volume": 1}"#
                )
                try await raw(#"{"symbol": "INDA", "time": "\#(t)", "open": 1, "high": 1, "low": 1, "volume": 1}"#)
                try await feeder.send(Array(repeating: good, count: 5))
                try await raw("{not json")
                try await feeder.sendRaw([v, Array("FROB".utf8), []])
                try await feeder.sendRaw([Array("garbage".utf8)])
                // A batch with a good bar and a repeated one: the first is taken, the repeat refused.
                try await feeder.send([good, good])

                let expected: [String: Int] = [
                    "unknown_symbol": 1 + probed, "out_of_order": 2, "non_finite": 1, "wrong_timeframe": 1,
                    "bad_bar": 1,
                    "too_large": 1, "malformed": 3, "store_failed": 0,
                ]
                try await eventually(10, "every refusal counted") {
                    let ping = try await client.request("PING", "{}").decode(PingReply.self)
                    return ping.feed?.refused == expected && ping.feed?.barsFinal == 1
                }
                #expect(try live.store.storedBarCount(timeframe: .minute1, symbol: nil) == before + 1)
                try await eventually(10, "every refusal published") {
                    collector.received.withLock { $0.filter(notProbe).count } == expected.values.reduce(0, +) - probed
                }
                let published = try collector.received.withLock { $0 }.filter(notProbe).map {
                    try JSONCoding.decode(FeedRefusalDocument.self, from: $0[1])
                }
                var unprobed = expected
                unprobed["unknown_symbol", default: 0] -= probed
                #expect(
                    Dictionary(grouping: published, by: \.reason).mapValues(\.count) == unprobed.filter { $0.value > 0 }
                )
                let unknown = try #require(published.first { $0.reason == "unknown_symbol" })
                #expect(unknown.symbol == "ZZZZ" && unknown.message.contains("ZZZZ"))
                let pingReply = try await client.request("PING", "{}")
                let ping = try pingReply.decode(PingReply.self)
                #expect(ping.feed?.lastRefusal?.reason == "out_of_order")
                let schemas = SchemaCheck()
                schemas.add("ping-reply.json", pingReply.body)
                for frames in collector.received.withLock({ $0 }) { schemas.add("feed-refused-event.json", frames[1]) }
                #expect(try await schemas.violations(in: dir) == "")
            }
        } catch {
            await feeder.close()
            await collector.close()
            await live.stop()
            throw error
        }
        await feeder.close()
        await collector.close()
        await live.stop()
    }

    /// Issue 14 part 2: a watch survives a restart; bars stored while the service was down are
    /// evaluated on resume, the events that implies continue the watch's `seq`, and the log still
    /// rebuilds the set. Also: the watch limit, bad requests, and WATCH_STOP.
    @Test func watchesResumeAfterARestartWithTheirSetRecomputed() async throws {
        let dir = try LiveTempDir()
        let day = try await LiveService.seed(dir.database, before: "2025-06-17")
        var first = try await LiveService(database: dir.database) { $0.maxWatches = 1 }
        var id = ""
        var seqBefore = 0
        do {
            let feeder = try await Feeder(try #require(first.endpoints.feed))
            try await withClient(first.endpoints.api) { client in
                let w = try await client.request("WATCH_START", try watchStartBody()).decode(WatchReply.self).watch
                id = w.watchId
                let busy = try await client.request("WATCH_START", try watchStartBody())
                #expect(busy.error?.code == .busy)
                let typo = try await client.request("WATCH_START", try watchStartBody("smaa(close, 5) > 1"))
                #expect(typo.error?.code == .invalidFormula)
                #expect(typo.error?.message.contains("did you mean 'sma'") == true)
                let fiveMinutes = try await client.request(
                    "WATCH_START",
                    #"{"formula": {"source": "close > open"}, "timeframe": "5m"}"#
                )
                #expect(fiveMinutes.error?.code == .badRequest)
                let confirm = try await client.request(
                    "WATCH_START",
                    #"{"formula": {"source": "close > open"}, "confirm": "always"}"#
                )
                #expect(confirm.error?.message.contains("'confirm'") == true)
                #expect(try await client.request("GET_WATCH", #"{"watch_id": "nope"}"#).error?.code == .notFound)
                #expect(try await client.request("WATCH_STOP", #"{"watch_id": "nope"}"#).error?.code == .notFound)

                try await feeder.send(Array(day[0..<120]))
                let watchId = id
                try await eventually(20, "120 bars applied") {
                    try await client.request("GET_WATCH", #"{"watch_id": "\#(watchId)"}"#).decode(WatchReply.self).watch
                        .barsApplied >= 120
                }
                seqBefore = try await client.request("GET_WATCH", #"{"watch_id": "\#(id)"}"#)
                    .decode(WatchReply.self).watch.seq
            }
            await feeder.close()
        } catch {
            await first.stop()
            throw error
        }
        await first.stop()

        // Bars that arrived while the service was down (stored by another writer).
        let missed = Array(day[120..<300])
        let store = try MarketDataStore.open(path: dir.database)
        try store.writeBars(
            Dictionary(grouping: missed, by: \.symbol).map { BarSeries(feedBars: $1, symbol: $0, timeframe: .minute1) }
        )

        first = try await LiveService(database: dir.database) { $0.maxWatches = 1 }
        let second = first
        do {
            try await withClient(second.endpoints.api) { client in
                let request = try WatchStartBody(
                    formula: FormulaDocument(name: "live", source: liveFormula),
                    criteria: CriteriaDocument(symbols: ["DBB", "FXY", "INDA"]),
                    timeframe: "1m"
                ).validated()
                let expected = try await latestRows(second.store, request)
                let watchId = id
                try await eventually(20, "the watch resumed with its set recomputed") {
                    let r = try await client.request("GET_WATCH", #"{"watch_id": "\#(watchId)"}"#)
                    guard r.isOK else { return false }
                    return rows(try r.decode(WatchReply.self).watch.matches ?? []) == expected
                }
                let reply = try await client.request("GET_WATCH", #"{"watch_id": "\#(id)", "events_after": 0}"#)
                    .decode(WatchReply.self)
                #expect(reply.watch.seq > seqBefore, "the missed bars change the set")
                let events = try #require(reply.events)
                #expect(events.map(\.seq) == Array(1...reply.watch.seq))
                #expect(fold(events) == Set((reply.watch.matches ?? []).map { "\($0.symbol) \($0.signal)" }))
                let list = try await client.request("LIST_WATCHES", "{}").decode(WatchListReply.self)
                #expect(list.watches.map(\.watchId) == [id])
                #expect(list.watches.first?.matches == nil)

                let stopped = try await client.request("WATCH_STOP", #"{"watch_id": "\#(id)"}"#).decode(WatchReply.self)
                #expect(stopped.watch.status == "stopped")
                #expect(try await client.request("LIST_WATCHES", "{}").decode(WatchListReply.self).watches.isEmpty)
                #expect(try await second.sessions.watches().isEmpty)
            }
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
    }

    /// `confirm: "tick"` evaluates forming bars and says so; `confirm: "bar"` ignores them.
    @Test func tickWatchesSeeFormingBarsAndBarWatchesDoNot() async throws {
        let dir = try LiveTempDir()
        let day = try await LiveService.seed(dir.database, before: "2025-06-17")
        let live = try await LiveService(database: dir.database)
        let feeder = try await Feeder(try #require(live.endpoints.feed))
        do {
            try await withClient(live.endpoints.api) { client in
                let formula = "signal jump = close > 1.5 * sma(close, 5)"
                let tick = try await client.request("WATCH_START", try watchStartBody(formula, confirm: "tick"))
                    .decode(WatchReply.self).watch
                let bar = try await client.request("WATCH_START", try watchStartBody(formula, confirm: "bar"))
                    .decode(WatchReply.self).watch
                #expect(tick.matchCount == 0 && bar.matchCount == 0)
                var forming = day[0]
                forming.final = false
                forming.close *= 3
                forming.high = forming.close
                try await feeder.send([forming])
                try await eventually(20, "the forming bar applied") {
                    try await client.request("GET_WATCH", #"{"watch_id": "\#(tick.watchId)"}"#)
                        .decode(WatchReply.self).watch.barsApplied >= 1
                }
                let seen = try await client.request("GET_WATCH", #"{"watch_id": "\#(tick.watchId)"}"#)
                    .decode(WatchReply.self).watch
                #expect(seen.matches?.map(\.symbol) == [forming.symbol])
                #expect(seen.matches?.first?.forming == true)
                #expect(seen.matches?.first?.timestamp == forming.timestamp.description)
                try await eventually(20, "the bar watch saw the bar too") {
                    try await client.request("GET_WATCH", #"{"watch_id": "\#(bar.watchId)"}"#)
                        .decode(WatchReply.self).watch.barsApplied >= 1
                }
                let unmoved = try await client.request("GET_WATCH", #"{"watch_id": "\#(bar.watchId)"}"#)
                    .decode(WatchReply.self).watch
                #expect(unmoved.matchCount == 0 && unmoved.seq == 0)
                // The final bar replaces the forming one: the jump never happened.
                try await feeder.send([day[0]])
                try await eventually(20, "the final bar applied") {
                    try await client.request("GET_WATCH", #"{"watch_id": "\#(tick.watchId)"}"#)
                        .decode(WatchReply.self).watch.barsApplied >= 2
                }
                let after = try await client.request(
                    "GET_WATCH",
                    #"{"watch_id": "\#(tick.watchId)", "events_after": 0}"#
                ).decode(WatchReply.self)
                #expect(after.watch.matchCount == 0)
                #expect(after.events?.map(\.event) == ["enter", "exit"])
                #expect(after.events?.first?.forming == true && after.events?.last?.forming == false)
            }
        } catch {
            await feeder.close()
            await live.stop()
            throw error
        }
        await feeder.close()
        await live.stop()
    }
}
