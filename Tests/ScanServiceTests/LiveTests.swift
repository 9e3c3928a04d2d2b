import Foundation
import MarketData
import ScanCore
import ScanProtocol
import ScanService
import SessionStore
import Synchronization
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

    /// Every bar of the file as a final `1m` feed bar, in file order (symbol, then time).
    static func bars() throws -> [FeedBar] {
        let text = try String(contentsOfFile: path(), encoding: .utf8)
        var out: [FeedBar] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            guard f.count == 7, let ts = BarTimestamp(parsing: f[1]) else {
                throw TimedOut(what: "unreadable sample row \(line)")
            }
            let v = f[2...].compactMap(Double.init)
            guard v.count == 5 else { throw TimedOut(what: "unreadable sample row \(line)") }
            out.append(
                FeedBar(
                    symbol: f[0],
                    timeframe: .minute1,
                    timestamp: ts,
                    open: v[0],
                    high: v[1],
                    low: v[2],
                    close: v[3],
                    volume: v[4]
                )
            )
        }
        return out
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
        store = try MarketDataStore.open(path: database)
        sessions = try SessionStore(path: database)
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
        endpoints = try await withTimeout(10, "service bound") { try await service.boundEndpoints() }
    }

    func stop() async {
        service.shutdown()
        _ = try? await withTimeout(15, "service stopped") { try await self.task.value }
    }

    /// Loads the sample's symbols and its bars before `day` into `database`.
    static func seed(_ database: String, before day: String) throws -> [FeedBar] {
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

/// Folds enter/exit events (in `seq` order) into the set they describe.
func fold(_ events: [LiveEventDocument]) -> Set<String> {
    var set = Set<String>()
    for e in events.sorted(by: { $0.seq < $1.seq }) {
        guard let symbol = e.symbol, let signal = e.signal else { continue }
        if e.event == "enter" { set.insert("\(symbol) \(signal)") } else { set.remove("\(symbol) \(signal)") }
    }
    return set
}

@Suite(.serialized, .timeLimit(.minutes(3))) struct LiveTests {
    /// Issue 14 part 3: a real day of minute bars through the feed; after every bar the watch's set
    /// equals a latest-mode scan over the same stored bars, and its events rebuild the set.
    @Test func replayedDayKeepsTheWatchEqualToALatestScan() async throws {
        let dir = try LiveTempDir()
        let day = try LiveService.seed(dir.database, before: "2025-06-17")
        #expect(day.count == 603)
        let live = try await LiveService(database: dir.database)
        let collector = try await Collector(live.endpoints.events, prefix: "live.")
        let feeder = try await Feeder(try #require(live.endpoints.feed))
        do {
            try await withClient(live.endpoints.api) { client in
                try await Task.sleep(for: .milliseconds(200))  // the subscription reaches the PUB
                let started = try await client.request("WATCH_START", try watchStartBody()).decode(WatchReply.self)
                let id = started.watch.watchId
                let request = try started.watch.request.validated()
                #expect(started.watch.symbols == 3)
                #expect(rows(started.watch.matches ?? []) == (try await latestRows(live.store, request)))

                var entered = 0
                var exited = 0
                var lastSeq = started.watch.seq
                for (k, bar) in day.enumerated() {
                    try await feeder.send([bar])
                    let watch = try await withTimeout(20, "bar \(k + 1) applied") {
                        while true {
                            let w = try await client.request("GET_WATCH", #"{"watch_id": "\#(id)"}"#)
                                .decode(WatchReply.self).watch
                            if w.barsApplied >= k + 1 { return w }
                            try await Task.sleep(for: .milliseconds(2))
                        }
                    }
                    let expected = try await latestRows(live.store, request)
                    #expect(
                        rows(watch.matches ?? []) == expected,
                        "after bar \(k + 1) (\(bar.symbol) \(bar.timestamp))"
                    )
                    if watch.seq > lastSeq { lastSeq = watch.seq }
                    _ = (entered, exited)
                }
                let final = try await client.request("GET_WATCH", #"{"watch_id": "\#(id)", "events_after": 0}"#)
                    .decode(WatchReply.self)
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

                let ping = try await client.request("PING", "{}").decode(PingReply.self)
                #expect(ping.feed?.barsFinal == 603)
                #expect(ping.feed?.refused.values.reduce(0, +) == 0)
                #expect(ping.watchesRunning == 1)
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
}
