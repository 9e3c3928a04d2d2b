import Foundation

/// When a live watch evaluates its formula (issue 14).
public enum ConfirmMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Only on final bars: a match, once reported, is never repainted by a bar still forming.
    case bar
    /// Also on bars still forming; every entry and event says whether its bar was forming.
    case tick
}

/// A standing scan: the formula, universe and timeframe of a `latest`-mode scan, evaluated again as
/// bars arrive.
public struct WatchRequest: Sendable, Hashable, Codable {
    public var symbolCriteria: SymbolCriteria
    public var timeframe: Timeframe
    public var formula: Formula
    public var parameters: [String: ParameterValue]
    public var confirm: ConfirmMode

    /// The timeframes a watch may use: the stored ones, which the bar feed appends to.
    public static let liveTimeframes: [Timeframe] = [.minute1, .daily]

    public init(
        symbolCriteria: SymbolCriteria = .all,
        timeframe: Timeframe = .minute1,
        formula: Formula,
        parameters: [String: ParameterValue] = [:],
        confirm: ConfirmMode = .bar
    ) {
        self.symbolCriteria = symbolCriteria
        self.timeframe = timeframe
        self.formula = formula
        self.parameters = parameters
        self.confirm = confirm
    }

    /// The batch scan whose answer the watch's set equals at every moment: the same formula,
    /// universe and timeframe in `latest` mode over the default date range.
    public var latestScan: BatchScanRequest {
        BatchScanRequest(
            symbolCriteria: symbolCriteria,
            timeframe: timeframe,
            dateRange: nil,
            formula: formula,
            parameters: parameters,
            mode: .latest
        )
    }
}

/// One member of a watch's current set: a signal matching on a symbol's newest bar.
public struct WatchEntry: Sendable, Hashable, Codable {
    public var match: SignalMatch
    /// The bar was still forming (only in ``ConfirmMode/tick`` watches).
    public var forming: Bool

    public init(match: SignalMatch, forming: Bool = false) {
        self.match = match
        self.forming = forming
    }

    /// The set is keyed by symbol and signal.
    public var key: WatchKey { WatchKey(symbol: match.symbol, signal: match.signal) }
}

/// A symbol and one of the formula's signals.
public struct WatchKey: Sendable, Hashable, Codable, Comparable {
    public var symbol: String
    public var signal: String

    public init(symbol: String, signal: String) {
        self.symbol = symbol
        self.signal = signal
    }

    public static func < (a: WatchKey, b: WatchKey) -> Bool {
        (a.symbol, a.signal) < (b.symbol, b.signal)
    }
}

/// `enter`: a symbol started matching a signal; `exit`: it stopped.
public enum WatchEventKind: String, Sendable, Hashable, Codable {
    case enter, exit
}

/// A change of a watch's set, numbered by `seq` from 1 for the watch's whole life (across restarts).
public struct WatchEvent: Sendable, Hashable, Codable {
    public var seq: Int
    public var kind: WatchEventKind
    /// For `enter`, the entry that entered; for `exit`, the symbol's newest evaluated bar (its close,
    /// time and values) with the signal that no longer matches.
    public var entry: WatchEntry
    public var time: Date

    public init(seq: Int, kind: WatchEventKind, entry: WatchEntry, time: Date = Date()) {
        self.seq = seq
        self.kind = kind
        self.entry = entry
        self.time = time
    }
}

/// A watch as persisted: its request, when it started, its set and the last event `seq`.
public struct StoredWatch: Sendable, Hashable, Codable {
    public var id: String
    public var request: WatchRequest
    public var createdAt: Date
    public var seq: Int
    public var entries: [WatchEntry]

    public init(id: String, request: WatchRequest, createdAt: Date, seq: Int, entries: [WatchEntry]) {
        self.id = id
        self.request = request
        self.createdAt = createdAt
        self.seq = seq
        self.entries = entries
    }
}

extension StoredWatch {
    /// The set a stored snapshot and the events after it describe: `entries` (the set at some `seq`)
    /// with `events` (those after that `seq`, oldest first) applied — `enter` adds its entry, `exit`
    /// removes its key. Sorted by symbol and signal.
    public static func folding(_ entries: [WatchEntry], _ events: [WatchEvent]) -> [WatchEntry] {
        var set = Dictionary(entries.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for e in events.sorted(by: { $0.seq < $1.seq }) {
            switch e.kind {
            case .enter: set[e.entry.key] = e.entry
            case .exit: set[e.entry.key] = nil
            }
        }
        return set.values.sorted { $0.key < $1.key }
    }
}

/// Where watches, their sets and their events are persisted. Implementations do their I/O off the
/// cooperative pool.
public protocol WatchRepository: Sendable {
    /// Inserts or replaces a watch (its request, set and `seq`).
    func saveWatch(_ watch: StoredWatch) async throws
    /// In one transaction: appends `events` to the watch's log and stores its new `seq`, and its new
    /// set when `entries` is given (a snapshot at `seq`); with `nil` the stored snapshot stays and the
    /// events after it complete it (``watches()`` folds them in).
    func recordEvents(watchId: String, events: [WatchEvent], seq: Int, entries: [WatchEntry]?) async throws
    /// Removes a watch and its events.
    func deleteWatch(id: String) async throws
    /// Every stored watch, oldest first, each with its set at its `seq` (the snapshot with the events
    /// after it folded in).
    func watches() async throws -> [StoredWatch]
    /// The watch's events with `seq > after`, oldest first, at most `limit`.
    func events(watchId: String, after: Int, limit: Int) async throws -> [WatchEvent]
}

/// How a watch's set changes when some of its symbols were evaluated again.
public enum WatchDiff {
    /// The events that turn `current` into the set with `fresh` for the `evaluated` symbols (every
    /// other symbol keeps its entries; `nil`: every symbol was evaluated): exits first, then entries,
    /// each sorted by symbol and signal. Entries that stay in the set are updated in place without
    /// an event.
    ///
    /// - Returns: the new set and the events, numbered from `seq + 1`.
    public static func apply(
        current: [WatchKey: WatchEntry],
        evaluated: Set<String>?,
        fresh: [WatchEntry],
        seq: Int,
        exitEntries: [String: WatchEntry] = [:],
        time: Date = Date()
    ) -> (set: [WatchKey: WatchEntry], events: [WatchEvent]) {
        var next = current
        let freshByKey = Dictionary(fresh.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var events: [WatchEvent] = []
        var n = seq
        let leaving = current.keys.filter {
            (evaluated?.contains($0.symbol) ?? true) && freshByKey[$0] == nil
        }.sorted()
        for key in leaving {
            guard let old = next.removeValue(forKey: key) else { continue }
            n += 1
            var entry = old
            if let newest = exitEntries[key.symbol] {
                entry = WatchEntry(
                    match: SignalMatch(
                        symbol: key.symbol,
                        timestamp: newest.match.timestamp,
                        signal: key.signal,
                        close: newest.match.close,
                        values: newest.match.values
                    ),
                    forming: newest.forming
                )
            }
            events.append(WatchEvent(seq: n, kind: .exit, entry: entry, time: time))
        }
        // Entries that stay are updated in place (one lookup each); only the new ones are sorted.
        var entering: [WatchKey] = []
        for (key, entry) in freshByKey {
            if let i = next.index(forKey: key) {
                next.values[i] = entry
            } else {
                entering.append(key)
            }
        }
        entering.sort()
        for key in entering {
            guard let entry = freshByKey[key] else { continue }
            n += 1
            events.append(WatchEvent(seq: n, kind: .enter, entry: entry, time: time))
            next[key] = entry
        }
        return (next, events)
    }
}
