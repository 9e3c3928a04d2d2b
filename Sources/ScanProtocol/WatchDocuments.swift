import Foundation
import ScanCore

// MARK: - Request bodies

/// `WATCH_START`: `{"formula", "criteria"?, "timeframe"?, "parameters"?, "confirm"?}`.
public struct WatchStartBody: Sendable, Hashable, Codable {
    public var formula: FormulaDocument
    public var criteria: CriteriaDocument?
    public var timeframe: String?
    public var parameters: [String: ParameterDocument]?
    /// `bar` (default) or `tick`.
    public var confirm: String?

    public init(
        formula: FormulaDocument,
        criteria: CriteriaDocument? = nil,
        timeframe: String? = nil,
        parameters: [String: ParameterDocument]? = nil,
        confirm: String? = nil
    ) {
        self.formula = formula
        self.criteria = criteria
        self.timeframe = timeframe
        self.parameters = parameters
        self.confirm = confirm
    }

    /// The wire form of `request`.
    public init(_ request: WatchRequest) {
        let scan = ScanRequestDocument(request.latestScan)
        self.init(
            formula: scan.formula,
            criteria: scan.criteria,
            timeframe: scan.timeframe,
            parameters: scan.parameters,
            confirm: request.confirm.rawValue
        )
    }

    /// Checks every field (as `RUN_SCAN` does) and builds the domain request.
    public func validated() throws(ProtocolError) -> WatchRequest {
        let scan = try ScanRequestDocument(
            formula: formula,
            criteria: criteria,
            timeframe: timeframe,
            parameters: parameters
        ).validated()
        guard WatchRequest.liveTimeframes.contains(scan.timeframe) else {
            let live = WatchRequest.liveTimeframes.map(\.rawValue).joined(separator: " or ")
            throw .badRequest(
                "field 'timeframe' of a watch must be \(live), the timeframes the bar feed appends to (got '\(scan.timeframe)')"
            )
        }
        var mode = ConfirmMode.bar
        if let c = confirm {
            guard let parsed = ConfirmMode(rawValue: c) else {
                throw .badRequest("field 'confirm' must be 'bar' or 'tick' (got '\(c)')")
            }
            mode = parsed
        }
        return WatchRequest(
            symbolCriteria: scan.symbolCriteria,
            timeframe: scan.timeframe,
            formula: scan.formula,
            parameters: scan.parameters,
            confirm: mode
        )
    }
}

/// `WATCH_STOP`: `{"watch_id"}`.
public struct WatchIdBody: Sendable, Hashable, Codable {
    public var watchId: String

    enum CodingKeys: String, CodingKey { case watchId = "watch_id" }

    public init(watchId: String) { self.watchId = watchId }
}

/// `GET_WATCH`: `{"watch_id", "events_after"?, "limit"?}`; with `events_after` the reply also carries
/// the logged events with a greater `seq` (at most `limit`, default and maximum 1000).
public struct GetWatchBody: Sendable, Hashable, Codable {
    public var watchId: String
    public var eventsAfter: Int?
    public var limit: Int?

    enum CodingKeys: String, CodingKey {
        case watchId = "watch_id"
        case eventsAfter = "events_after"
        case limit
    }

    public init(watchId: String, eventsAfter: Int? = nil, limit: Int? = nil) {
        self.watchId = watchId
        self.eventsAfter = eventsAfter
        self.limit = limit
    }
}

/// `LIST_WATCHES`: `{}`.
public struct ListWatchesBody: Sendable, Hashable, Codable {
    public init() {}
}

// MARK: - Documents

/// One entry of a watch's set: a signal matching on a symbol's newest bar.
/// `{"symbol", "signal", "timestamp", "close", "values", "forming"}`.
public struct WatchEntryDocument: Sendable, Hashable, Codable {
    public var symbol: String
    public var signal: String
    /// The bar's time: `YYYY-MM-DD` (daily) or ISO 8601 with offset (intraday).
    public var timestamp: String
    public var close: Double?
    /// The formula's `column` values at that bar; `null` where undefined.
    public var values: [String: Double?]
    /// The bar was still forming (only in `confirm: "tick"` watches).
    public var forming: Bool

    enum CodingKeys: String, CodingKey { case symbol, signal, timestamp, close, values, forming }

    public init(
        symbol: String,
        signal: String,
        timestamp: String,
        close: Double?,
        values: [String: Double?],
        forming: Bool
    ) {
        self.symbol = symbol
        self.signal = signal
        self.timestamp = timestamp
        self.close = close
        self.values = values
        self.forming = forming
    }

    public init(_ e: WatchEntry) { self.init(e, timestamp: e.match.timestamp.description) }

    /// With the entry's bar time already formatted (`e.match.timestamp.description`).
    init(_ e: WatchEntry, timestamp: String) {
        func number(_ x: Double) -> Double? { x.isFinite ? x : nil }
        self.init(
            symbol: e.match.symbol,
            signal: e.match.signal,
            timestamp: timestamp,
            close: number(e.match.close),
            values: e.match.values.mapValues(number),
            forming: e.forming
        )
    }

    /// Always writes `close` and every value, `null` included.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(symbol, forKey: .symbol)
        try c.encode(signal, forKey: .signal)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(close, forKey: .close)
        try c.encode(values, forKey: .values)
        try c.encode(forming, forKey: .forming)
    }
}

/// The WATCH document: `{"watch_id", "status", "request", "created_at", "seq", "bars_applied",
/// "symbols", "match_count", "matches"?, "errors"}`.
public struct WatchDocument: Sendable, Hashable, Codable {
    public var watchId: String
    /// `running`, or `stopped` in the reply to `WATCH_STOP`.
    public var status: String
    public var request: WatchStartBody
    public var createdAt: String
    /// The `seq` of the last event published; the set is the fold of events 1 … `seq`.
    public var seq: Int
    /// How many bars the feed had accepted (since the service started) when the set was last evaluated.
    public var barsApplied: Int
    /// Symbols in the watch's universe.
    public var symbols: Int
    public var matchCount: Int
    /// The set, sorted by symbol then signal (absent in `LIST_WATCHES`).
    public var matches: [WatchEntryDocument]?
    /// Symbols that could not be evaluated (unknown symbol, unreadable bars).
    public var errors: [ResultDocument.ErrorEntry]

    enum CodingKeys: String, CodingKey {
        case watchId = "watch_id"
        case status, request
        case createdAt = "created_at"
        case seq
        case barsApplied = "bars_applied"
        case symbols
        case matchCount = "match_count"
        case matches, errors
    }

    public init(
        watchId: String,
        status: String,
        request: WatchStartBody,
        createdAt: String,
        seq: Int,
        barsApplied: Int,
        symbols: Int,
        matchCount: Int,
        matches: [WatchEntryDocument]?,
        errors: [ResultDocument.ErrorEntry]
    ) {
        self.watchId = watchId
        self.status = status
        self.request = request
        self.createdAt = createdAt
        self.seq = seq
        self.barsApplied = barsApplied
        self.symbols = symbols
        self.matchCount = matchCount
        self.matches = matches
        self.errors = errors
    }
}

/// `{"watch": WATCH, "events"?: [LIVE_EVENT]}` (WATCH_START, WATCH_STOP, GET_WATCH).
public struct WatchReply: Sendable, Hashable, Codable {
    public var watch: WatchDocument
    public var events: [LiveEventDocument]?

    public init(watch: WatchDocument, events: [LiveEventDocument]? = nil) {
        self.watch = watch
        self.events = events
    }
}

/// `{"watches": [WATCH]}` (LIST_WATCHES), oldest first, without their `matches`.
public struct WatchListReply: Sendable, Hashable, Codable {
    public var watches: [WatchDocument]

    public init(watches: [WatchDocument]) { self.watches = watches }
}

// MARK: - Events

/// The body of `live.<watch_id>.enter|exit|stopped`: `{"watch_id", "event", "seq", "confirm",
/// "time", "symbol"?, "signal"?, "timestamp"?, "close"?, "values"?, "forming"?}` (the entry fields are
/// absent on `stopped`).
public struct LiveEventDocument: Sendable, Hashable, Codable {
    public var watchId: String
    /// `enter`, `exit` or `stopped`.
    public var event: String
    public var seq: Int
    /// The watch's confirm mode, `bar` or `tick`.
    public var confirm: String
    /// When the event was published (ISO 8601 UTC).
    public var time: String
    public var symbol: String?
    public var signal: String?
    public var timestamp: String?
    public var close: Double?
    public var values: [String: Double?]?
    public var forming: Bool?

    enum CodingKeys: String, CodingKey {
        case watchId = "watch_id"
        case event, seq, confirm, time, symbol, signal, timestamp, close, values, forming
    }

    public init(watchId: String, event: WatchEvent, confirm: ConfirmMode) {
        self.init(
            watchId: watchId,
            event: event,
            confirm: confirm,
            time: WireTime.format(event.time),
            timestamp: event.entry.match.timestamp.description
        )
    }

    /// An event's document with its publishing time and bar time already formatted.
    private init(watchId: String, event: WatchEvent, confirm: ConfirmMode, time: String, timestamp: String) {
        let e = WatchEntryDocument(event.entry, timestamp: timestamp)
        self.watchId = watchId
        self.event = event.kind.rawValue
        self.seq = event.seq
        self.confirm = confirm.rawValue
        self.time = time
        self.symbol = e.symbol
        self.signal = e.signal
        self.timestamp = e.timestamp
        self.close = e.close
        self.values = e.values
        self.forming = e.forming
    }

    /// The documents of a round's events, the same as ``init(watchId:event:confirm:)`` makes one by
    /// one, with each run of equal publishing times and bar times formatted once (a round's events
    /// share one publishing time, and most of them the minute's bar time).
    public static func documents(watchId: String, events: [WatchEvent], confirm: ConfirmMode) -> [LiveEventDocument] {
        var time: (date: Date, text: String)?
        var bar: (timestamp: BarTimestamp, text: String)?
        return events.map { event in
            if time?.date != event.time { time = (event.time, WireTime.format(event.time)) }
            let t = event.entry.match.timestamp
            if bar?.timestamp != t { bar = (t, t.description) }
            return LiveEventDocument(
                watchId: watchId,
                event: event,
                confirm: confirm,
                time: time?.text ?? WireTime.format(event.time),
                timestamp: bar?.text ?? t.description
            )
        }
    }

    /// The `stopped` event that ends a watch's stream.
    public init(stoppedWatch watchId: String, seq: Int, confirm: ConfirmMode, time: Date = Date()) {
        self.watchId = watchId
        self.event = "stopped"
        self.seq = seq
        self.confirm = confirm.rawValue
        self.time = WireTime.format(time)
    }

    /// `live.<watch_id>.<event>`.
    public var topic: String { LiveEventCodec.topic(watchId: watchId, event: event) }

    /// The set entry an `enter`/`exit` event names (`nil` for `stopped`).
    public var entry: WatchEntryDocument? {
        guard let symbol, let signal, let timestamp else { return nil }
        return WatchEntryDocument(
            symbol: symbol,
            signal: signal,
            timestamp: timestamp,
            close: close,
            values: values ?? [:],
            forming: forming ?? false
        )
    }
}

/// Encodes and decodes `TOPIC | BODY` live-watch events.
public enum LiveEventCodec {
    /// The prefix of every live-watch topic.
    public static let topicPrefix = "live."

    public static func topic(watchId: String, event: String) -> String { "\(topicPrefix)\(watchId).\(event)" }

    /// The subscription prefix for one watch (`live.<watch_id>.`).
    public static func prefix(watchId: String) -> String { "\(topicPrefix)\(watchId)." }

    /// `TOPIC | BODY`, the body written by hand (issue 14 part 5: a round publishes hundreds of events,
    /// and `JSONEncoder` costs more per event than the rest of the publish path): the JSON
    /// `JSONCoding.encode` writes (sorted keys, slashes unescaped, non-finite numbers as `null`), except
    /// that an `enter`/`exit` event always has its `close` (`null` when undefined), as its schema requires.
    public static func encode(_ event: LiveEventDocument) -> [[UInt8]] {
        [Array(event.topic.utf8), body(event)]
    }

    /// The body of `live.<watch_id>.<event>` (`protocol/schemas/live-event.json`).
    static func body(_ e: LiveEventDocument) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(UInt8(ascii: "{"))
        let hasEntry = e.symbol != nil || e.signal != nil || e.timestamp != nil || e.close != nil
        if hasEntry {
            out.append(contentsOf: "\"close\":".utf8)
            ResultJSONWriter.appendNumber(e.close, to: &out)
            out.append(UInt8(ascii: ","))
        }
        out.append(contentsOf: "\"confirm\":".utf8)
        ResultJSONWriter.appendString(e.confirm, to: &out)
        out.append(contentsOf: ",\"event\":".utf8)
        ResultJSONWriter.appendString(e.event, to: &out)
        if let forming = e.forming {
            out.append(contentsOf: (forming ? ",\"forming\":true" : ",\"forming\":false").utf8)
        }
        out.append(contentsOf: ",\"seq\":".utf8)
        out.append(contentsOf: String(e.seq).utf8)
        for (key, value) in [("signal", e.signal), ("symbol", e.symbol)] {
            guard let value else { continue }
            out.append(contentsOf: ",\"\(key)\":".utf8)
            ResultJSONWriter.appendString(value, to: &out)
        }
        out.append(contentsOf: ",\"time\":".utf8)
        ResultJSONWriter.appendString(e.time, to: &out)
        if let timestamp = e.timestamp {
            out.append(contentsOf: ",\"timestamp\":".utf8)
            ResultJSONWriter.appendString(timestamp, to: &out)
        }
        if let values = e.values {
            out.append(contentsOf: ",\"values\":{".utf8)
            for (i, key) in values.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                ResultJSONWriter.appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                ResultJSONWriter.appendNumber(values[key] ?? nil, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: ",\"watch_id\":".utf8)
        ResultJSONWriter.appendString(e.watchId, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    public static func decode(_ frames: [[UInt8]]) throws(ProtocolError) -> LiveEventDocument {
        guard frames.count == 2 else { throw .badRequest("an event has 2 frames (topic, body), got \(frames.count)") }
        return try JSONCoding.decode(LiveEventDocument.self, from: frames[1])
    }
}
