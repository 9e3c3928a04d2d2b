import FormulaEngine
import ScanCore

/// Node-facing messages: one binary frame each (`"MSN" | version | kind | payload`, little-endian,
/// length-checked), plus a topic frame on the control PUB (`ctl.cancel | frame`).
///
/// - jobs PUSH → node PULL: ``ChunkMessage``
/// - node PUSH → results PULL: ``ChunkResultMessage``, ``ChunkRefusedMessage`` and ``HeartbeatMessage``
/// - control PUB → node SUB: ``CancelMessage`` under topic `ctl.cancel`
public enum NodeMessage: Sendable, Hashable {
    case chunk(ChunkMessage)
    case result(ChunkResultMessage)
    case heartbeat(HeartbeatMessage)
    case cancel(CancelMessage)
    case refused(ChunkRefusedMessage)

    /// The binary protocol version this build writes and reads (3: chunks carry the data version,
    /// heartbeats the node's store, nodes refuse chunks of other data; 2 added the leases).
    public static let version: UInt8 = 3
    static let magic: [UInt8] = [0x4D, 0x53, 0x4E]  // "MSN"

    enum Kind: UInt8 {
        case chunk = 1
        case result = 2
        case heartbeat = 3
        case cancel = 4
        case refused = 5
    }

    /// The topic of cancel messages on the control PUB.
    public static let cancelTopic = "ctl.cancel"

    public func encode() -> [UInt8] {
        var w: BinaryWriter
        if case .result(let m) = self {
            w = BinaryWriter(capacity: ChunkResultMessage.estimatedBytes(m.results))
        } else {
            w = BinaryWriter()
        }
        w.u8(Self.magic[0])
        w.u8(Self.magic[1])
        w.u8(Self.magic[2])
        w.u8(Self.version)
        switch self {
        case .chunk(let m):
            w.u8(Kind.chunk.rawValue)
            m.write(to: &w)
        case .result(let m):
            w.u8(Kind.result.rawValue)
            m.write(to: &w)
        case .heartbeat(let m):
            w.u8(Kind.heartbeat.rawValue)
            m.write(to: &w)
        case .cancel(let m):
            w.u8(Kind.cancel.rawValue)
            w.string(m.jobId)
        case .refused(let m):
            w.u8(Kind.refused.rawValue)
            m.write(to: &w)
        }
        return w.bytes
    }

    /// Decodes one frame; throws ``WireFormatError`` for anything malformed (never traps).
    public static func decode(_ bytes: [UInt8]) throws(WireFormatError) -> NodeMessage {
        var r = BinaryReader(bytes)
        guard bytes.count >= 5, Array(bytes[0..<3]) == magic else {
            throw WireFormatError("not a node message (bad magic)")
        }
        _ = try r.u16()
        _ = try r.u8()
        let version = try r.u8("version")
        guard version == Self.version else {
            throw WireFormatError(
                "node message version \(version) is not supported (this build speaks \(Self.version))"
            )
        }
        let kindByte = try r.u8("kind")
        guard let kind = Kind(rawValue: kindByte) else {
            throw WireFormatError("unknown node message kind \(kindByte)")
        }
        let message: NodeMessage
        switch kind {
        case .chunk: message = .chunk(try ChunkMessage.read(from: &r))
        case .result: message = .result(try ChunkResultMessage.read(from: &r))
        case .heartbeat: message = .heartbeat(try HeartbeatMessage.read(from: &r))
        case .cancel: message = .cancel(CancelMessage(jobId: try r.string("job id")))
        case .refused: message = .refused(try ChunkRefusedMessage.read(from: &r))
        }
        try r.expectEnd("node message")
        return message
    }
}

/// One chunk of a job, leased to whichever node pulls it.
public struct ChunkMessage: Sendable, Hashable {
    public var jobId: String
    public var chunkIndex: Int
    /// 1 for the first dispatch, +1 for each re-dispatch after an expired lease.
    public var attempt: Int
    /// This dispatch's secret: only the node that pulled the chunk knows it, and its result and
    /// heartbeats must name it.
    public var lease: LeaseToken
    public var symbols: [String]
    public var timeframe: Timeframe
    public var dateRange: DateRange
    public var formula: Formula
    public var parameters: [String: ParameterValue]
    public var mode: ScanMode
    /// Warm-up bars the formula needs before the range (the plan's lookback).
    public var lookback: Int
    /// The event study to run on each match (`nil`: none).
    public var study: StudySpec?
    /// Whether each symbol reports its condition funnel.
    public var explain: Bool
    /// The store version the service resolved the universe against; a node whose store is at
    /// another version refuses the chunk (``ChunkRefusedMessage``). `nil`: any data will do.
    public var dataVersion: StoreVersion?

    public init(
        jobId: String,
        chunkIndex: Int,
        attempt: Int,
        symbols: [String],
        timeframe: Timeframe,
        dateRange: DateRange,
        formula: Formula,
        parameters: [String: ParameterValue],
        mode: ScanMode,
        lookback: Int,
        lease: LeaseToken = .none,
        study: StudySpec? = nil,
        explain: Bool = false,
        dataVersion: StoreVersion? = nil
    ) {
        self.study = study
        self.explain = explain
        self.dataVersion = dataVersion
        self.jobId = jobId
        self.chunkIndex = chunkIndex
        self.attempt = attempt
        self.lease = lease
        self.symbols = symbols
        self.timeframe = timeframe
        self.dateRange = dateRange
        self.formula = formula
        self.parameters = parameters
        self.mode = mode
        self.lookback = lookback
    }

    func write(to w: inout BinaryWriter) {
        w.dispatch(jobId: jobId, chunkIndex: chunkIndex, attempt: attempt, lease: lease)
        w.count(symbols.count)
        for s in symbols { w.string(s) }
        w.string(timeframe.rawValue)
        w.i32(dateRange.from.daysSinceEpoch)
        w.i32(dateRange.to.daysSinceEpoch)
        w.string(formula.name)
        w.string(formula.source)
        w.count(parameters.count)
        for (k, v) in parameters.sorted(by: { $0.key < $1.key }) {
            w.string(k)
            switch v {
            case .number(let d):
                w.u8(0)
                w.f64(d)
            case .bool(let b):
                w.u8(1)
                w.bool(b)
            }
        }
        w.u8(mode == .range ? 0 : 1)
        w.count(lookback)
        w.analysis(study: study, explain: explain)
        w.storeVersion(dataVersion)
    }

    static func read(from r: inout BinaryReader) throws(WireFormatError) -> ChunkMessage {
        let (jobId, index, attempt, lease) = try r.dispatch()
        let n = try r.count("symbol count", minItemBytes: 4)
        var symbols: [String] = []
        symbols.reserveCapacity(n)
        for _ in 0..<n { symbols.append(try r.string("symbol")) }
        let tfText = try r.string("timeframe")
        guard let tf = Timeframe(rawValue: tfText) else { throw WireFormatError("unknown timeframe '\(tfText)'") }
        let from = CalendarDay(daysSinceEpoch: try r.i32("range start"))
        let to = CalendarDay(daysSinceEpoch: try r.i32("range end"))
        let formula = Formula(name: try r.string("formula name"), source: try r.string("formula source"))
        let pc = try r.count("parameter count", minItemBytes: 6)
        var params: [String: ParameterValue] = [:]
        for _ in 0..<pc {
            let k = try r.string("parameter name")
            switch try r.u8("parameter tag") {
            case 0: params[k] = .number(try r.f64("parameter value"))
            case 1: params[k] = .bool(try r.bool("parameter value"))
            case let t: throw WireFormatError("unknown parameter tag \(t)")
            }
        }
        let modeByte = try r.u8("mode")
        guard modeByte <= 1 else { throw WireFormatError("unknown mode \(modeByte)") }
        let lookback = Int(try r.u32("lookback"))
        let (study, explain) = try r.analysis()
        let dataVersion = try r.storeVersion("data version")
        return ChunkMessage(
            jobId: jobId,
            chunkIndex: index,
            attempt: attempt,
            symbols: symbols,
            timeframe: tf,
            dateRange: DateRange(from: from, to: to),
            formula: formula,
            parameters: params,
            mode: modeByte == 0 ? .range : .latest,
            lookback: lookback,
            lease: lease,
            study: study,
            explain: explain,
            dataVersion: dataVersion
        )
    }
}

/// A node's results for one chunk (one ``SymbolResult`` per symbol of the chunk).
public struct ChunkResultMessage: Sendable, Hashable {
    public var jobId: String
    public var chunkIndex: Int
    public var attempt: Int
    /// The lease of the chunk message this answers (``ChunkMessage/lease``).
    public var lease: LeaseToken
    public var nodeName: String
    public var results: [SymbolResult]

    public init(
        jobId: String,
        chunkIndex: Int,
        attempt: Int,
        lease: LeaseToken = .none,
        nodeName: String,
        results: [SymbolResult]
    ) {
        self.jobId = jobId
        self.chunkIndex = chunkIndex
        self.attempt = attempt
        self.lease = lease
        self.nodeName = nodeName
        self.results = results
    }

    func write(to w: inout BinaryWriter) {
        w.dispatch(jobId: jobId, chunkIndex: chunkIndex, attempt: attempt, lease: lease)
        w.string(nodeName)
        Self.writeResults(results, to: &w)
    }

    /// About the bytes ``writeResults(_:to:)`` writes for `results` (a match 25 and a little room, a
    /// column 10, a forward figure 8, a symbol's study and funnel sums a few hundred), so a chunk's
    /// message is usually written into one buffer instead of one copied each time it grows.
    static func estimatedBytes(_ results: [SymbolResult]) -> Int {
        var bytes = 1_024
        for r in results {
            bytes += 64 + r.symbol.utf8.count + (r.error?.utf8.count ?? 0)
            if r.baseline != nil || r.funnel != nil { bytes += 512 }
            guard let first = r.matches.first else { continue }
            let forward = first.forward.map { 1 + 8 * ($0.returnCount + 2) } ?? 1
            bytes += r.matches.count * (32 + 10 * first.columns.count + forward)
        }
        return bytes
    }

    /// Writes the results block of a chunk result (name tables, then each symbol's result and
    /// matches). Shared with the session store's chunk records (``SymbolResultsCodec``).
    static func writeResults(_ results: [SymbolResult], to w: inout BinaryWriter) {
        var names = MatchNames()
        for r in results { for m in r.matches { names.add(m) } }
        names.write(to: &w)
        w.count(results.count)
        for r in results {
            w.string(r.symbol)
            if let e = r.error {
                w.u8(1)
                w.string(e)
            } else {
                w.u8(0)
            }
            w.u64(UInt64(clamping: r.barsScanned))
            w.count(r.matches.count)
            for m in r.matches { names.write(m, to: &w) }
            w.analysis(of: r)
        }
    }

    static func read(from r: inout BinaryReader) throws(WireFormatError) -> ChunkResultMessage {
        let (jobId, index, attempt, lease) = try r.dispatch()
        let node = try r.string("node name")
        let results = try readResults(from: &r)
        return ChunkResultMessage(
            jobId: jobId,
            chunkIndex: index,
            attempt: attempt,
            lease: lease,
            nodeName: node,
            results: results
        )
    }

    /// The results block (``SymbolResultsCodec``'s bytes) of `message`, an encoded RESULT that
    /// ``NodeMessage/decode(_:)`` accepted: its bytes after the dispatch header and the node name.
    package static func resultsBlock(of message: [UInt8]) throws(WireFormatError) -> ArraySlice<UInt8> {
        var r = BinaryReader(message)
        _ = try r.u16()
        _ = try r.u8()
        _ = try r.u8("version")
        guard try r.u8("kind") == NodeMessage.Kind.result.rawValue else {
            throw WireFormatError("not a RESULT message")
        }
        _ = try r.dispatch()
        _ = try r.string("node name")
        return message[r.position...]
    }

    /// Reads the block ``writeResults(_:to:)`` wrote.
    static func readResults(from r: inout BinaryReader) throws(WireFormatError) -> [SymbolResult] {
        let names = try MatchNames.read(from: &r)
        let n = try r.count("result count", minItemBytes: 19)
        var results: [SymbolResult] = []
        results.reserveCapacity(n)
        for _ in 0..<n {
            let symbol = try r.string("symbol")
            var error: String?
            if try r.bool("error flag") { error = try r.string("error message") }
            let bars = Int(clamping: try r.u64("bars scanned"))
            let mc = try r.count("match count", minItemBytes: 26)
            var matches: [SignalMatch] = []
            matches.reserveCapacity(mc)
            for _ in 0..<mc { matches.append(try names.readMatch(symbol: symbol, from: &r)) }
            let (baseline, funnel) = try r.analysis(symbol: symbol)
            results.append(
                SymbolResult(
                    symbol: symbol,
                    matches: matches,
                    error: error,
                    barsScanned: bars,
                    baseline: baseline,
                    funnel: funnel
                )
            )
        }
        return results
    }
}

/// A node's liveness report, pushed about once a second on the results socket.
public struct HeartbeatMessage: Sendable, Hashable {
    public var nodeName: String
    /// Random per node process start: a changed incarnation means the node restarted.
    public var incarnation: UInt64
    public var threads: Int
    public var chunksDone: Int
    /// Symbols evaluated since the node started: while the node holds chunks it must grow, else the
    /// node is stalled (its evaluation hangs) and its leases are not extended.
    public var symbolsDone: Int
    public var inFlight: Int
    /// Chunks the node holds (queued or running), each with its lease: those leases are extended.
    public var held: [HeldChunk]
    /// The node's store as shown to people (`sqlite:PATH`, or the PostgreSQL URL without password).
    public var store: String
    /// The version of the node's store, `nil` when it could not be read.
    public var dataVersion: StoreVersion?

    public init(
        nodeName: String,
        incarnation: UInt64,
        threads: Int,
        chunksDone: Int,
        symbolsDone: Int = 0,
        inFlight: Int,
        held: [HeldChunk] = [],
        store: String = "",
        dataVersion: StoreVersion? = nil
    ) {
        self.store = store
        self.dataVersion = dataVersion
        self.nodeName = nodeName
        self.incarnation = incarnation
        self.threads = threads
        self.chunksDone = chunksDone
        self.symbolsDone = symbolsDone
        self.inFlight = inFlight
        self.held = held
    }

    func write(to w: inout BinaryWriter) {
        w.string(nodeName)
        w.u64(incarnation)
        w.count(threads)
        w.u64(UInt64(clamping: chunksDone))
        w.u64(UInt64(clamping: symbolsDone))
        w.count(inFlight)
        w.count(held.count)
        for h in held {
            w.string(h.jobId)
            w.count(h.chunkIndex)
            h.lease.write(to: &w)
        }
        w.string(store)
        w.storeVersion(dataVersion)
    }

    static func read(from r: inout BinaryReader) throws(WireFormatError) -> HeartbeatMessage {
        let name = try r.string("node name")
        let inc = try r.u64("incarnation")
        let threads = Int(try r.u32("threads"))
        let done = Int(clamping: try r.u64("chunks done"))
        let symbolsDone = Int(clamping: try r.u64("symbols done"))
        let inFlight = Int(try r.u32("in flight"))
        let hc = try r.count("held count", minItemBytes: 24)
        var held: [HeldChunk] = []
        for _ in 0..<hc {
            held.append(
                HeldChunk(
                    jobId: try r.string("held job id"),
                    chunkIndex: Int(try r.u32("held chunk index")),
                    lease: try LeaseToken.read(from: &r)
                )
            )
        }
        let store = try r.string("store")
        let dataVersion = try r.storeVersion("data version")
        return HeartbeatMessage(
            nodeName: name,
            incarnation: inc,
            threads: threads,
            chunksDone: done,
            symbolsDone: symbolsDone,
            inFlight: inFlight,
            held: held,
            store: store,
            dataVersion: dataVersion
        )
    }
}

/// A node's answer to a chunk of data it does not hold: its store is at another version than the
/// chunk's ``ChunkMessage/dataVersion`` (a lagging copy, a replica behind, another store). The
/// service gives the chunk to another node.
public struct ChunkRefusedMessage: Sendable, Hashable {
    public var jobId: String
    public var chunkIndex: Int
    public var attempt: Int
    /// The refused dispatch's lease (from the chunk): only it ends that dispatch.
    public var lease: LeaseToken
    public var nodeName: String
    /// The version the node's store is at, `nil` when the store could not be read.
    public var nodeVersion: StoreVersion?
    /// Why, for people (e.g. `store at 3f2a9c1b00d4e5f6:16, chunk wants 3f2a9c1b00d4e5f6:17`).
    public var reason: String

    public init(
        jobId: String,
        chunkIndex: Int,
        attempt: Int,
        lease: LeaseToken = .none,
        nodeName: String,
        nodeVersion: StoreVersion?,
        reason: String
    ) {
        self.lease = lease
        self.jobId = jobId
        self.chunkIndex = chunkIndex
        self.attempt = attempt
        self.nodeName = nodeName
        self.nodeVersion = nodeVersion
        self.reason = reason
    }

    func write(to w: inout BinaryWriter) {
        w.dispatch(jobId: jobId, chunkIndex: chunkIndex, attempt: attempt, lease: lease)
        w.string(nodeName)
        w.storeVersion(nodeVersion)
        w.string(reason)
    }

    static func read(from r: inout BinaryReader) throws(WireFormatError) -> ChunkRefusedMessage {
        let (jobId, index, attempt, lease) = try r.dispatch()
        return ChunkRefusedMessage(
            jobId: jobId,
            chunkIndex: index,
            attempt: attempt,
            lease: lease,
            nodeName: try r.string("node name"),
            nodeVersion: try r.storeVersion("node version"),
            reason: try r.string("reason")
        )
    }
}

extension BinaryWriter {
    /// The dispatch a chunk, a result and a refusal start with: the job id, the chunk index (u32),
    /// the attempt (u32) and the lease (two u64).
    mutating func dispatch(jobId: String, chunkIndex: Int, attempt: Int, lease: LeaseToken) {
        string(jobId)
        count(chunkIndex)
        count(attempt)
        lease.write(to: &self)
    }

    /// An optional store version: a presence byte, then the identity (u64) and the version (i64).
    mutating func storeVersion(_ v: StoreVersion?) {
        guard let v else {
            u8(0)
            return
        }
        u8(1)
        u64(v.storeId)
        i64(v.version)
    }
}

extension BinaryReader {
    /// The dispatch written by ``BinaryWriter/dispatch(jobId:chunkIndex:attempt:lease:)``.
    mutating func dispatch() throws(WireFormatError) -> (
        jobId: String, chunkIndex: Int, attempt: Int, lease: LeaseToken
    ) {
        let jobId = try string("job id")
        let index = Int(try u32("chunk index"))
        let attempt = Int(try u32("attempt"))
        let lease = try LeaseToken.read(from: &self)
        return (jobId, index, attempt, lease)
    }

    mutating func storeVersion(_ what: String) throws(WireFormatError) -> StoreVersion? {
        switch try u8("\(what) flag") {
        case 0: return nil
        case 1: return StoreVersion(storeId: try u64("\(what) store id"), version: try i64(what))
        case let f: throw WireFormatError("bad \(what) flag \(f)")
        }
    }
}

/// `(job, chunk)`: the key results are accepted once by.
public struct ChunkRef: Sendable, Hashable {
    public var jobId: String
    public var chunkIndex: Int

    public init(jobId: String, chunkIndex: Int) {
        self.jobId = jobId
        self.chunkIndex = chunkIndex
    }
}

/// A chunk a node holds, with the lease it got it under (heartbeats list them).
public struct HeldChunk: Sendable, Hashable {
    public var jobId: String
    public var chunkIndex: Int
    public var lease: LeaseToken

    public init(jobId: String, chunkIndex: Int, lease: LeaseToken) {
        self.jobId = jobId
        self.chunkIndex = chunkIndex
        self.lease = lease
    }

    public var ref: ChunkRef { ChunkRef(jobId: jobId, chunkIndex: chunkIndex) }
}

/// A random 128-bit secret naming one dispatch of one chunk. The service draws a new one for every
/// dispatch (from the system's cryptographic generator) and sends it only inside the chunk message,
/// so only the node that pulled that message can name it: a result or a heartbeat without it is
/// not from the chunk's holder. Never printed whole.
public struct LeaseToken: Sendable, Hashable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// No lease (all zero): never issued by a service.
    public static let none = LeaseToken(high: 0, low: 0)

    /// A fresh secret.
    public static func random() -> LeaseToken {
        var g = SystemRandomNumberGenerator()
        var token = LeaseToken(high: g.next(), low: g.next())
        if token == .none { token.low = 1 }
        return token
    }

    /// Its first 16 bits in hex: enough to tell leases apart in logs, useless to a forger.
    public var description: String { String(high >> 48, radix: 16) }

    func write(to w: inout BinaryWriter) {
        w.u64(high)
        w.u64(low)
    }

    static func read(from r: inout BinaryReader) throws(WireFormatError) -> LeaseToken {
        LeaseToken(high: try r.u64("lease"), low: try r.u64("lease"))
    }
}

/// Tells nodes to drop a job's queued chunks and stop its running ones.
public struct CancelMessage: Sendable, Hashable {
    public var jobId: String
    public init(jobId: String) { self.jobId = jobId }
}

/// The signal and column names of a list of matches, written once; each match refers to them by
/// index. Writes and reads a match's body: `u16 signal, i64 epoch, i32 utc_offset, bool intraday,
/// f64 close, u16 value_count, {u16 column, f64 value} × value_count`, then its forward outcome.
struct MatchNames {
    private var signalIndex: [String: Int] = [:]
    private(set) var signals: [String] = []
    private var columnIndex: [String: Int] = [:]
    private(set) var columns: [String] = []

    init() {}

    /// Adds the names `m` uses.
    mutating func add(_ m: borrowing SignalMatch) {
        if signalId(m.signal) == nil {
            signalIndex[m.signal] = signals.count
            signals.append(m.signal)
        }
        m.columns.forEachColumn { k, _ in
            if columnId(k) == nil {
                columnIndex[k] = columns.count
                columns.append(k)
            }
        }
    }

    /// The index of signal `name`: a formula has a few, so most lookups compare with a short list
    /// instead of hashing the name.
    private func signalId(_ name: String) -> Int? {
        if signals.count <= 8 { return signals.firstIndex(of: name) }
        return signalIndex[name]
    }

    private func columnId(_ name: String) -> Int? {
        if columns.count <= 8 { return columns.firstIndex(of: name) }
        return columnIndex[name]
    }

    /// `u32 signal_count, string × signal_count, u32 column_count, string × column_count`.
    func write(to w: inout BinaryWriter) {
        w.count(signals.count)
        for s in signals { w.string(s) }
        w.count(columns.count)
        for c in columns { w.string(c) }
    }

    static func read(from r: inout BinaryReader) throws(WireFormatError) -> MatchNames {
        var names = MatchNames()
        let sc = try r.count("signal name count", minItemBytes: 4)
        for _ in 0..<sc { names.signals.append(try r.string("signal name")) }
        let cc = try r.count("column name count", minItemBytes: 4)
        for _ in 0..<cc { names.columns.append(try r.string("column name")) }
        return names
    }

    /// The body of `m`, whose names were ``add(_:)``ed.
    func write(_ m: borrowing SignalMatch, to w: inout BinaryWriter) {
        let signal = UInt16(truncatingIfNeeded: signalId(m.signal) ?? 0)
        let t = m.timestamp
        let close = m.close
        let columns = UInt16(truncatingIfNeeded: m.columns.count)
        w.fields(2 + 8 + 4 + 1 + 8 + 2) { f in
            f.u16(signal)
            f.i64(t.epochSeconds)
            f.i32(t.utcOffsetSeconds)
            f.bool(t.isIntraday)
            f.f64(close)
            f.u16(columns)
        }
        m.columns.forEachColumn { k, v in
            w.u16(UInt16(truncatingIfNeeded: columnId(k) ?? 0))
            w.f64(v)
        }
        w.forward(m.forward)
    }

    /// A match body of `symbol`, checked: indices within the tables, a bar time in the years
    /// 0001…9999 with an offset within ±18 h.
    func readMatch(symbol: String, from r: inout BinaryReader) throws(WireFormatError) -> SignalMatch {
        let si = Int(try r.u16("signal index"))
        guard si < signals.count else { throw WireFormatError("signal index \(si) out of range") }
        let epoch = try r.i64("timestamp")
        let offset = try r.i32("utc offset")
        // Anything else is not a bar time, and would overflow date arithmetic downstream.
        guard (-62_135_596_800...253_402_300_799).contains(epoch) else {
            throw WireFormatError("timestamp \(epoch) is outside the years 0001…9999")
        }
        guard abs(Int(offset)) <= 18 * 3600 else {
            throw WireFormatError("utc offset \(offset) s is beyond ±18 h")
        }
        let intraday = try r.bool("intraday flag")
        let close = try r.f64("close")
        let vc = Int(try r.u16("value count"))
        // One column (the usual case) without a dictionary: no heap object per match.
        var values = MatchColumns.none
        if vc == 1 {
            let name = try column(from: &r)
            values = .one(name: name, value: try r.f64("column value"))
        } else if vc > 1 {
            var d: [String: Double] = [:]
            d.reserveCapacity(vc)
            for _ in 0..<vc {
                let name = try column(from: &r)
                d[name] = try r.f64("column value")
            }
            values = MatchColumns(d)
        }
        return SignalMatch(
            symbol: symbol,
            timestamp: BarTimestamp(epochSeconds: epoch, utcOffsetSeconds: offset, isIntraday: intraday),
            signal: signals[si],
            close: close,
            columns: values,
            forward: try r.forward()
        )
    }

    private func column(from r: inout BinaryReader) throws(WireFormatError) -> String {
        let ci = Int(try r.u16("column index"))
        guard ci < columns.count else { throw WireFormatError("column index \(ci) out of range") }
        return columns[ci]
    }
}

/// A sorted list of matches (a scan's result) in binary: ``MatchNames``, `u32 symbol_count, string ×
/// symbol_count`, `u32 match_count`, then per match `u32 symbol` and its body. The session stores'
/// form of a final result's matches: a few bytes per match, no JSON, exact doubles.
package enum MatchListCodec {
    package static func write(_ matches: [SignalMatch], to w: inout BinaryWriter) {
        var names = MatchNames()
        let (symbols, ids) = symbolIds(matches)
        matches.withUnsafeBufferPointer { all in
            for i in all.indices { names.add(all[i]) }
        }
        names.write(to: &w)
        w.count(symbols.count)
        for s in symbols { w.string(s) }
        w.count(matches.count)
        matches.withUnsafeBufferPointer { all in
            for i in all.indices {
                w.u32(ids[i])
                names.write(all[i], to: &w)
            }
        }
    }

    /// The distinct symbols of `matches` in the order they first occur, and each match's index
    /// among them. ASCII symbols (all of them in practice) are found in an ``ASCIINameTable``; one
    /// that is not sends the whole list through a `Dictionary` (String equality is Unicode's, which
    /// bytes alone do not decide).
    static func symbolIds(_ matches: [SignalMatch]) -> (symbols: [String], ids: [UInt32]) {
        var table = ASCIINameTable()
        var ids: [UInt32] = []
        ids.reserveCapacity(matches.count)
        let allASCII = matches.withUnsafeBufferPointer { all in
            for i in all.indices {
                guard let id = table.id(all[i].symbol) else { return false }
                ids.append(id)
            }
            return true
        }
        if allASCII { return (table.names, ids) }
        var symbolIndex: [String: UInt32] = [:]
        var symbols: [String] = []
        ids.removeAll(keepingCapacity: true)
        for m in matches {
            if let id = symbolIndex[m.symbol] {
                ids.append(id)
            } else {
                let id = UInt32(symbols.count)
                symbolIndex[m.symbol] = id
                symbols.append(m.symbol)
                ids.append(id)
            }
        }
        return (symbols, ids)
    }

    package static func read(from r: inout BinaryReader) throws(WireFormatError) -> [SignalMatch] {
        let names = try MatchNames.read(from: &r)
        let sc = try r.count("symbol count", minItemBytes: 4)
        var symbols: [String] = []
        symbols.reserveCapacity(sc)
        for _ in 0..<sc { symbols.append(try r.string("symbol")) }
        let n = try r.count("match count", minItemBytes: 30)
        var matches: [SignalMatch] = []
        matches.reserveCapacity(n)
        for _ in 0..<n {
            let si = Int(try r.u32("symbol index"))
            guard si < symbols.count else { throw WireFormatError("symbol index \(si) out of range") }
            matches.append(try names.readMatch(symbol: symbols[si], from: &r))
        }
        return matches
    }
}

/// The results of a chunk in the node protocol's binary encoding (the results block of a chunk result,
/// DESIGN §6), for stores that keep chunk results between a chunk's arrival and its session's end: a
/// few `memcpy`s per match instead of JSON, and the decoder the fuzzers exercise.
package enum SymbolResultsCodec {
    /// The bytes of `results`.
    package static func encode(_ results: [SymbolResult]) -> [UInt8] {
        var w = BinaryWriter(capacity: ChunkResultMessage.estimatedBytes(results))
        ChunkResultMessage.writeResults(results, to: &w)
        return w.bytes
    }

    /// The results ``encode(_:)`` wrote, or ``WireFormatError`` for anything else (also trailing bytes).
    package static func decode(_ bytes: [UInt8], from start: Int = 0) throws(WireFormatError) -> [SymbolResult] {
        var r = BinaryReader(bytes, position: start)
        let results = try ChunkResultMessage.readResults(from: &r)
        guard r.position == bytes.count else {
            throw WireFormatError("\(bytes.count - r.position) bytes after the chunk's results")
        }
        return results
    }
}

/// Ids of ASCII names in the order they were first seen, found by an FNV-1a hash of their bytes
/// in an open-addressed table: a lookup costs a few multiplications, where `Dictionary`'s SipHash
/// (seeded and finalized per lookup) dominated storing a result of tens of thousands of matches.
struct ASCIINameTable {
    private(set) var names: [String] = []
    private var hashes: [UInt64] = []
    /// `id + 1` per slot, 0 when empty; a power of two, at most half full.
    private var slots = [UInt32](repeating: 0, count: 64)

    /// The id of `name`, a new one when it was not seen; `nil` when it is not ASCII.
    mutating func id(_ name: String) -> UInt32? {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var ascii = true
        for b in name.utf8 {
            ascii = ascii && b < 0x80
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3
        }
        guard ascii else { return nil }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        while slots[i] != 0 {
            let id = Int(slots[i] - 1)
            if hashes[id] == h && names[id] == name { return UInt32(id) }
            i = (i + 1) & mask
        }
        let id = UInt32(names.count)
        names.append(name)
        hashes.append(h)
        slots[i] = id + 1
        if names.count * 2 > slots.count { grow() }
        return id
    }

    private mutating func grow() {
        slots = [UInt32](repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for (id, h) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = UInt32(id + 1)
        }
    }
}
