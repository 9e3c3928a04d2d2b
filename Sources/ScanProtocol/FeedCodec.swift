import FormulaEngine
import Foundation
import ScanCore

/// One bar pushed to the service's bar feed.
public struct FeedBar: Sendable, Hashable {
    public var symbol: String
    /// `1m` or `1d` (the stored timeframes).
    public var timeframe: Timeframe
    /// The bar's start: a local date for `1d`, an instant with the exchange's offset for `1m`.
    public var timestamp: BarTimestamp
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    public var volume: Double
    /// `false` for a bar still forming (kept in memory, never stored).
    public var final: Bool

    public init(
        symbol: String,
        timeframe: Timeframe,
        timestamp: BarTimestamp,
        open: Double,
        high: Double,
        low: Double,
        close: Double,
        volume: Double,
        final: Bool = true
    ) {
        self.symbol = symbol
        self.timeframe = timeframe
        self.timestamp = timestamp
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.final = final
    }
}

/// Why the feed refused a message or a bar. Stable codes; every refusal is counted by code.
public enum FeedRefusalReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// Not `MSCAN/1 | BARS | BODY`, or the body is not JSON of the expected shape.
    case malformed
    /// More bars in one message than the service takes (the whole message is refused).
    case tooLarge = "too_large"
    /// A bar with a missing or mistyped field, a bad time, or a negative volume.
    case badBar = "bad_bar"
    /// A timeframe other than the stored `1m` and `1d`.
    case wrongTimeframe = "wrong_timeframe"
    /// A price or volume that is NaN or infinite.
    case nonFinite = "non_finite"
    /// A symbol the store does not know.
    case unknownSymbol = "unknown_symbol"
    /// A bar not after the symbol's last final bar (or, forming, before its forming bar).
    case outOfOrder = "out_of_order"
    /// The store could not take the bars (they were not appended).
    case storeFailed = "store_failed"
}

/// A refused message or bar: the reason, a message for people, and the bar's symbol when known.
public struct FeedRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: FeedRefusalReason
    public var message: String
    public var symbol: String?

    public init(_ reason: FeedRefusalReason, _ message: String, symbol: String? = nil) {
        self.reason = reason
        self.message = message
        self.symbol = symbol
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}

/// Encodes and decodes bar-feed messages: `"MSCAN/1" | "BARS" | BODY`, where BODY is one BAR object
/// or `{"bars": [BAR, …]}` and BAR is `{"symbol", "timeframe"?, "time", "open", "high", "low",
/// "close", "volume", "final"?}` (`protocol/README.md` §11).
public enum FeedCodec {
    /// The verb frame of a feed message.
    public static let verb = "BARS"
    /// Default largest number of bars in one message.
    public static let defaultMaxBars = 10_000

    /// Decodes a message. A message that is not a feed message at all, or has more than `maxBars`
    /// bars, is refused whole; otherwise each bar is decoded (or refused) on its own, in order.
    public static func decode(
        _ frames: [[UInt8]],
        maxBars: Int = defaultMaxBars
    ) -> Result<
        [Result<FeedBar, FeedRefusal>], FeedRefusal
    > {
        guard frames.count == 3 else {
            return .failure(
                FeedRefusal(.malformed, "a feed message has 3 frames (MSCAN/1, BARS, body), got \(frames.count)")
            )
        }
        guard frames[0] == WireProtocol.versionBytes else {
            return .failure(FeedRefusal(.malformed, "the first frame must be \"\(WireProtocol.version)\""))
        }
        guard frames[1] == Array(verb.utf8) else {
            return .failure(FeedRefusal(.malformed, "the second frame must be \"\(verb)\""))
        }
        // The shape feeders send, read by hand; anything else (and every refusal) by JSONDecoder.
        if let bars = fastBars(frames[2], maxBars: maxBars) { return .success(bars.map { .success($0) }) }
        return decodeBody(frames[2], maxBars: maxBars)
    }

    /// A message body decoded by `JSONDecoder`: the whole body refused, or each bar (or its refusal).
    package static func decodeBody(
        _ body: [UInt8],
        maxBars: Int
    ) -> Result<[Result<FeedBar, FeedRefusal>], FeedRefusal> {
        let data = Data(body)
        // "NaN" and "Infinity" (as strings) decode, so that they are refused as non-finite.
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity",
            negativeInfinity: "-Infinity",
            nan: "NaN"
        )
        let single: Bool
        do {
            single = try decoder.decode(ShapeProbe.self, from: data).isSingleBar
        } catch {
            return .failure(FeedRefusal(.malformed, "the body must be a JSON object: a bar or {\"bars\": [...]}"))
        }
        if single {
            guard let bar = try? decoder.decode(LenientBar.self, from: data) else {
                return .failure(FeedRefusal(.malformed, "unreadable bar"))
            }
            return .success([bar.value])
        }
        let batch: LenientBatch
        do {
            batch = try decoder.decode(LenientBatch.self, from: data)
        } catch {
            return .failure(FeedRefusal(.malformed, "field 'bars' must be an array of bar objects"))
        }
        guard batch.count <= maxBars else {
            return .failure(FeedRefusal(.tooLarge, "\(batch.count) bars in one message; the limit is \(maxBars)"))
        }
        return .success(batch.bars.map(\.value))
    }

    /// The frames a feeder sends (PUSH) for `bars`, as one batch.
    public static func encode(_ bars: [FeedBar]) throws -> [[UInt8]] {
        let body = BatchOut(bars: bars.map(BarOut.init))
        return [WireProtocol.versionBytes, Array(verb.utf8), try JSONCoding.encode(body)]
    }

    struct ShapeProbe: Decodable {
        var isSingleBar: Bool
        enum CodingKeys: String, CodingKey { case bars, symbol }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            isSingleBar = !c.contains(.bars)
        }
    }

    struct LenientBatch: Decodable {
        var bars: [LenientBar]
        var count: Int { bars.count }
    }

    /// A bar decoded on its own: a bad bar becomes its refusal instead of failing the batch.
    struct LenientBar: Decodable {
        var value: Result<FeedBar, FeedRefusal>

        init(from decoder: any Decoder) throws {
            do {
                value = .success(try Self.bar(decoder))
            } catch let r as FeedRefusal {
                value = .failure(r)
            } catch let e as DecodingError {
                value = .failure(FeedRefusal(.badBar, RequestCodec.describe(e)))
            } catch {
                value = .failure(FeedRefusal(.badBar, "\(error)"))
            }
        }

        enum Key: String, CodingKey { case symbol, timeframe, time, open, high, low, close, volume, final }

        static func bar(_ decoder: any Decoder) throws -> FeedBar {
            let c = try decoder.container(keyedBy: Key.self)
            let symbol = try c.decode(String.self, forKey: .symbol)
            guard !symbol.isEmpty else { throw FeedRefusal(.badBar, "field 'symbol' must not be empty") }
            func fail(_ r: FeedRefusalReason, _ m: String) -> FeedRefusal { FeedRefusal(r, m, symbol: symbol) }
            let tfText = try c.decodeIfPresent(String.self, forKey: .timeframe) ?? Timeframe.minute1.rawValue
            guard let tf = FeedCodec.fedTimeframe(tfText) else {
                throw fail(
                    .wrongTimeframe,
                    "bar of \(symbol): timeframe '\(tfText)' is not fed; the feed takes 1m and 1d bars (others are resampled from them)"
                )
            }
            let timeText = try c.decode(String.self, forKey: .time)
            guard let ts = BarTimestamp(parsing: timeText), ts.isIntraday == tf.isIntraday else {
                let want =
                    tf.isIntraday ? "an ISO 8601 time with offset (2025-06-09T09:30:00-04:00)" : "a date YYYY-MM-DD"
                throw fail(.badBar, "bar of \(symbol): field 'time' must be \(want) for \(tf) bars (got '\(timeText)')")
            }
            if tf == .minute1, (ts.epochSeconds % 60 + 60) % 60 != 0 {
                throw fail(.badBar, "bar of \(symbol): a 1m bar starts on a whole minute (got '\(timeText)')")
            }
            var v: [Double] = []
            for key in [Key.open, .high, .low, .close, .volume] {
                let x = try c.decode(Double.self, forKey: key)
                guard x.isFinite else {
                    throw fail(.nonFinite, "bar of \(symbol) at \(timeText): '\(key.rawValue)' is not a finite number")
                }
                v.append(x)
            }
            guard v[4] >= 0 else { throw fail(.badBar, "bar of \(symbol) at \(timeText): negative volume") }
            let final = try c.decodeIfPresent(Bool.self, forKey: .final) ?? true
            return FeedBar(
                symbol: symbol,
                timeframe: tf,
                timestamp: ts,
                open: v[0],
                high: v[1],
                low: v[2],
                close: v[3],
                volume: v[4],
                final: final
            )
        }
    }

    struct BatchOut: Encodable { var bars: [BarOut] }

    struct BarOut: Encodable {
        var symbol: String
        var timeframe: String
        var time: String
        var open, high, low, close, volume: Double
        var final: Bool

        init(_ b: FeedBar) {
            symbol = b.symbol
            timeframe = b.timeframe.rawValue
            time = b.timestamp.description
            open = b.open
            high = b.high
            low = b.low
            close = b.close
            volume = b.volume
            final = b.final
        }
    }
}

/// The bar feed's counters, in the `PING` reply: `{"bars_final", "bars_forming", "refused": {code: n},
/// "last_refusal"?}`.
public struct FeedStatusDocument: Sendable, Hashable, Codable {
    /// Final bars appended to the store since the service started.
    public var barsFinal: Int
    /// Forming bars taken (kept in memory).
    public var barsForming: Int
    /// Refusals by ``FeedRefusalReason`` code (every code present, 0 included).
    public var refused: [String: Int]
    public var lastRefusal: FeedRefusalDocument?

    enum CodingKeys: String, CodingKey {
        case barsFinal = "bars_final"
        case barsForming = "bars_forming"
        case refused
        case lastRefusal = "last_refusal"
    }

    public init(barsFinal: Int, barsForming: Int, refused: [String: Int], lastRefusal: FeedRefusalDocument?) {
        self.barsFinal = barsFinal
        self.barsForming = barsForming
        self.refused = refused
        self.lastRefusal = lastRefusal
    }
}

/// A refusal as published on `feed.refused` and kept as `last_refusal`:
/// `{"reason", "message", "symbol"?, "count", "time"}` (`count`: refusals of this reason so far).
public struct FeedRefusalDocument: Sendable, Hashable, Codable {
    public var reason: String
    public var message: String
    public var symbol: String?
    public var count: Int
    public var time: String

    public init(_ refusal: FeedRefusal, count: Int, time: Date = Date()) {
        reason = refusal.reason.rawValue
        message = refusal.message
        symbol = refusal.symbol
        self.count = count
        self.time = WireTime.format(time)
    }

    /// The topic refusals are published on.
    public static let topic = "feed.refused"
}

extension BarSeries {
    /// The series of `bars` (one symbol and timeframe, sorted by time), as the feed appends them.
    public init(feedBars bars: [FeedBar], symbol: String, timeframe: Timeframe) {
        self.init(
            symbol: symbol,
            timeframe: timeframe,
            times: bars.map(\.timestamp.epochSeconds),
            utcOffsets: timeframe.isIntraday ? bars.map(\.timestamp.utcOffsetSeconds) : [],
            columns: PriceColumns(
                open: bars.map(\.open),
                high: bars.map(\.high),
                low: bars.map(\.low),
                close: bars.map(\.close),
                volume: bars.map(\.volume)
            )
        )
    }
}
