import Foundation
import MarketData
import ScanCore
import ScanProtocol
import ZeroMQ

/// A PUSH socket on a scan-service's bar feed (protocol §11.1): any program that has bars sends them
/// with ``send(_:)``. Nothing is answered; refusals show in `PING` and on `feed.refused`.
public final class BarFeeder: Sendable {
    /// The feed endpoint.
    public let endpoint: String
    private let context: ZMQContext
    private let loop: ZMQLoop
    private let socket: ZMQSocket

    private init(endpoint: String, context: ZMQContext, loop: ZMQLoop, socket: ZMQSocket) {
        self.endpoint = endpoint
        self.context = context
        self.loop = loop
        self.socket = socket
    }

    /// `tcp://HOST:PORT` of the api socket → `tcp://HOST:PORT+5` (the feed, as `--port-base` lays them out).
    public static func feedEndpoint(forAPI endpoint: String) -> String? {
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]),
            port > 0, port + 5 <= 65535
        else { return nil }
        return "\(endpoint[..<colon]):\(port + 5)"
    }

    /// Connects (in the background: messages wait for the connection, up to the send timeout).
    /// - Parameter lingerMs: how long ``close()`` waits for unsent bars.
    public static func connect(
        endpoint: String,
        curve: CurveOptions? = nil,
        lingerMs: Int32 = 10_000
    ) async throws
        -> BarFeeder
    {
        do {
            let context = try ZMQContext()
            let loop = try ZMQLoop(context: context, name: "bar-feeder")
            var options = SocketOptions()
            options.lingerMs = lingerMs
            options.curve = curve
            options.reconnectIntervalMs = 100
            options.reconnectIntervalMaxMs = 2000
            let socket = try await loop.makeSocket(.push, options: options, connectingTo: [endpoint])
            return BarFeeder(endpoint: endpoint, context: context, loop: loop, socket: socket)
        } catch {
            throw ScanClientError.transport("cannot connect to the feed \(endpoint): \(error)")
        }
    }

    /// Sends one message of bars (at most the service's limit, 10 000 by default), waiting while
    /// the connection's queue is full.
    public func send(_ bars: [FeedBar]) async throws {
        do {
            try await socket.send(ZMQMessage(try FeedCodec.encode(bars)))
        } catch {
            throw ScanClientError.transport("cannot send bars to \(endpoint): \(error)")
        }
    }

    /// Closes the socket, waiting up to its linger for queued bars to go out.
    public func close() async {
        await socket.close()
        await loop.shutdown()
        await context.terminate()
    }
}

/// A bar CSV (`symbol,date|timestamp,open,high,low,close,volume`) read for replaying as a live feed:
/// its bars sorted by time, grouped into one batch per bar time.
public struct FeedReplay: Sendable {
    /// Batches in time order; every bar of one batch has the same start.
    public let batches: [[FeedBar]]
    public let timeframe: Timeframe

    /// Reads `path`; keeps the bars whose session date lies in `days` (all when `nil`).
    /// - Throws: ``FeedReplayError`` naming the line of the first bad row.
    public init(path: String, timeframe: Timeframe, days: DateRange? = nil) throws {
        guard timeframe == .minute1 || timeframe == .daily else {
            throw FeedReplayError(path: path, line: 0, message: "only 1m and 1d bars are fed (got \(timeframe))")
        }
        self.timeframe = timeframe
        let reader: CSVReader
        do {
            reader = try CSVReader(path: path)
        } catch {
            throw FeedReplayError(path: path, line: 0, message: "\(error)")
        }
        guard try reader.next() else { throw FeedReplayError(path: path, line: 1, message: "empty file: no header") }
        var column: [String: Int] = [:]
        for i in 0..<reader.fieldCount where column[reader.string(i).lowercased()] == nil {
            column[reader.string(i).lowercased()] = i
        }
        let timeName = column["timestamp"] != nil ? "timestamp" : "date"
        let names = ["symbol", timeName, "open", "high", "low", "close", "volume"]
        let missing = names.filter { column[$0] == nil }
        guard missing.isEmpty else {
            throw FeedReplayError(
                path: path,
                line: reader.line,
                message: "header lacks \(missing.joined(separator: ", "))"
            )
        }
        let idx = names.compactMap { column[$0] }
        var bars: [FeedBar] = []
        while try reader.next() {
            let line = reader.line
            if let m = reader.malformation { throw FeedReplayError(path: path, line: line, message: m) }
            let symbol = reader.string(idx[0])
            let text = reader.string(idx[1])
            guard !symbol.isEmpty else { throw FeedReplayError(path: path, line: line, message: "empty symbol") }
            guard var ts = BarTimestamp(parsing: text) else {
                throw FeedReplayError(path: path, line: line, message: "unreadable \(timeName) '\(text)'")
            }
            if timeframe == .daily { ts = BarTimestamp(day: ts.day) }
            guard timeframe == .daily || ts.isIntraday else {
                throw FeedReplayError(
                    path: path,
                    line: line,
                    message: "a 1m bar needs a time with offset, not '\(text)'"
                )
            }
            var v: [Double] = []
            for (k, name) in ["open", "high", "low", "close", "volume"].enumerated() {
                guard let x = reader.double(idx[k + 2]) else {
                    throw FeedReplayError(path: path, line: line, message: "'\(name)' is not a number")
                }
                v.append(x)
            }
            if let days, !days.contains(ts.day) { continue }
            bars.append(
                FeedBar(
                    symbol: symbol,
                    timeframe: timeframe,
                    timestamp: ts,
                    open: v[0],
                    high: v[1],
                    low: v[2],
                    close: v[3],
                    volume: v[4]
                )
            )
        }
        bars.sort { ($0.timestamp.epochSeconds, $0.symbol) < ($1.timestamp.epochSeconds, $1.symbol) }
        var batches: [[FeedBar]] = []
        for b in bars {
            if let t = batches.last?.first?.timestamp.epochSeconds, t == b.timestamp.epochSeconds {
                batches[batches.count - 1].append(b)
            } else {
                batches.append([b])
            }
        }
        self.batches = batches
    }

    /// Number of bars.
    public var count: Int { batches.reduce(0) { $0 + $1.count } }

    /// How long to wait before batch `i` at `speed` × real time: the time since the previous batch,
    /// at most five bars' worth (a night or a weekend is not waited out), divided by `speed`; zero
    /// for the first batch or `speed` 0.
    public func pause(before i: Int, speed: Double) -> Duration {
        guard i > 0, i < batches.count, speed > 0, let a = batches[i - 1].first, let b = batches[i].first else {
            return .zero
        }
        let period: Int64 = timeframe == .daily ? 86_400 : 60
        let gap = min(b.timestamp.epochSeconds - a.timestamp.epochSeconds, 5 * period)
        return .milliseconds(Int64((Double(gap) * 1000 / speed).rounded()))
    }

    /// Sends every batch to `feeder`, pausing as ``pause(before:speed:)`` says; `progress` gets the
    /// bars sent so far after each message. At `speed` 0 the bars go in as few messages as the
    /// feed's limit allows (so the service applies them in a few rounds).
    public func play(
        to feeder: BarFeeder,
        speed: Double,
        progress: @Sendable (_ sent: Int, _ batch: [FeedBar]) -> Void = { _, _ in }
    ) async throws {
        var sent = 0
        if speed == 0 {
            // No pacing: as few messages as the limit allows (each symbol's bars stay in time order).
            let all = batches.flatMap { $0 }
            var start = 0
            while start < all.count {
                let part = Array(all[start..<min(all.count, start + FeedCodec.defaultMaxBars)])
                try await feeder.send(part)
                start += part.count
                sent += part.count
                progress(sent, part)
            }
            return
        }
        for (i, batch) in batches.enumerated() {
            let wait = pause(before: i, speed: speed)
            if wait > .zero { try await Task.sleep(for: wait) }
            var start = 0
            while start < batch.count {
                let part = Array(batch[start..<min(batch.count, start + FeedCodec.defaultMaxBars)])
                try await feeder.send(part)
                start += part.count
            }
            sent += batch.count
            progress(sent, batch)
        }
    }
}

/// A bar file that cannot be replayed.
public struct FeedReplayError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var message: String

    public var description: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
}
