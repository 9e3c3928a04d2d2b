// libFuzzer target: the node message codec (what the service's results PULL and a node's jobs PULL
// and control SUB decode from the network). Built by scripts/fuzz.sh with the ScanProtocol, ScanCore
// and FormulaEngine sources.
import Glibc
import ScanCore
import ScanProtocol

/// The input is one frame. A frame that decodes must re-encode to a frame that decodes to the same
/// message (compared field by field, numbers by bit pattern so NaN — "undefined" — counts, and
/// dictionaries by sorted key: the name tables follow dictionary order, which is not canonical).
@_cdecl("LLVMFuzzerTestOneInput")
public func nodeCodecFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let frame = Array(UnsafeBufferPointer(start: data, count: size))
    guard let message = try? NodeMessage.decode(frame) else { return 0 }
    let again: NodeMessage
    do {
        again = try NodeMessage.decode(message.encode())
    } catch {
        fatalError("a re-encoded node message does not decode: \(error)")
    }
    let (a, b) = (canonical(message), canonical(again))
    guard a == b else { fatalError("a node message changed across a round trip:\n\(a)\n\(b)") }
    return 0
}

/// Every field of a message as text, in a fixed order.
func canonical(_ message: NodeMessage) -> String {
    func number(_ v: Double) -> String { String(v.bitPattern, radix: 16) }
    func values(_ d: [String: Double]) -> String {
        d.keys.sorted().map { "\($0)=\(number(d[$0]!))" }.joined(separator: ",")
    }
    switch message {
    case .chunk(let c):
        let parameters = c.parameters.keys.sorted().map { key -> String in
            switch c.parameters[key]! {
            case .number(let v): "\(key)=n\(number(v))"
            case .bool(let v): "\(key)=b\(v)"
            }
        }
        return [
            "chunk", c.jobId, "\(c.chunkIndex)", "\(c.attempt)", c.symbols.joined(separator: "|"),
            c.timeframe.rawValue, "\(c.dateRange.from)", "\(c.dateRange.to)", c.formula.name, c.formula.source,
            parameters.joined(separator: ","), c.mode.rawValue, "\(c.lookback)", "\(c.lease)", "\(c.explain)",
            c.dataVersion.map(\.description) ?? "-",
        ].joined(separator: "\u{1}")
    case .result(let r):
        let results = r.results.map { s in
            let matches = s.matches.map { m in
                "\(m.symbol)@\(m.timestamp.description):\(m.signal):\(number(m.close)):\(values(m.values))"
            }
            return "\(s.symbol)/\(s.error ?? "-")/\(s.barsScanned)/\(matches.joined(separator: ";"))"
        }
        return (["result", r.jobId, "\(r.chunkIndex)", "\(r.attempt)", "\(r.lease)", r.nodeName] + results).joined(
            separator: "\u{1}"
        )
    case .heartbeat(let h):
        let held = h.held.map { "\($0.jobId)#\($0.chunkIndex)#\($0.lease)" }.joined(separator: ",")
        return [
            "heartbeat", h.nodeName, "\(h.incarnation)", "\(h.threads)", "\(h.chunksDone)", "\(h.symbolsDone)",
            "\(h.inFlight)", held, h.store, h.dataVersion.map(\.description) ?? "-",
        ]
        .joined(separator: "\u{1}")
    case .refused(let f):
        return [
            "refused", f.jobId, "\(f.chunkIndex)", "\(f.attempt)", "\(f.lease)", f.nodeName,
            f.nodeVersion.map(\.description) ?? "-", f.reason,
        ]
        .joined(separator: "\u{1}")
    case .cancel(let c):
        return "cancel\u{1}\(c.jobId)"
    }
}

/// `FUZZ_WRITE_SEEDS=DIR` (scripts/fuzz.sh seeds): writes one frame of every kind into DIR and exits.
@_cdecl("LLVMFuzzerInitialize")
public func nodeCodecSeeds(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    guard let dir = getenv("FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) else { return 0 }
    let day = { (y: Int, m: Int, d: Int) in CalendarDay(year: y, month: m, day: d)! }
    let range = DateRange(from: day(2022, 1, 3), to: day(2022, 9, 19))
    let match = SignalMatch(
        symbol: "005930",
        timestamp: BarTimestamp(day: day(2022, 9, 19)),
        signal: "golden",
        close: 54_400,
        values: ["rsi14": 41.5, "gap": .nan]
    )
    let intraday = SignalMatch(
        symbol: "INDA",
        timestamp: BarTimestamp(parsing: "2025-06-09T09:35:00-04:00")!,
        signal: "dead",
        close: 56.25,
        values: [:]
    )
    let messages: [(String, NodeMessage)] = [
        (
            "chunk",
            .chunk(
                ChunkMessage(
                    jobId: "0b9c6a2e-1f0d-4d8e-9a51-3f7c2b8e4d10",
                    chunkIndex: 3,
                    attempt: 1,
                    symbols: ["005930", "000660", "035420"],
                    timeframe: .daily,
                    dateRange: range,
                    formula: Formula(name: "f1", source: "input fast = 5\nsignal up = close > sma(close, fast)"),
                    parameters: ["fast": .number(8), "strict": .bool(true)],
                    mode: .range,
                    lookback: 19
                )
            )
        ),
        (
            "result",
            .result(
                ChunkResultMessage(
                    jobId: "0b9c6a2e-1f0d-4d8e-9a51-3f7c2b8e4d10",
                    chunkIndex: 3,
                    attempt: 2,
                    nodeName: "node-1",
                    results: [
                        SymbolResult(symbol: "005930", matches: [match], barsScanned: 250),
                        SymbolResult(symbol: "INDA", matches: [intraday], barsScanned: 390),
                        SymbolResult(symbol: "999999", error: "unknown symbol '999999'"),
                    ]
                )
            )
        ),
        (
            "heartbeat",
            .heartbeat(
                HeartbeatMessage(
                    nodeName: "node-2",
                    incarnation: 0x1234_5678_9ABC,
                    threads: 4,
                    chunksDone: 17,
                    inFlight: 1,
                    held: [
                        HeldChunk(jobId: "job", chunkIndex: 0, lease: LeaseToken(high: 1, low: 2)),
                        HeldChunk(jobId: "job", chunkIndex: 7, lease: LeaseToken(high: 3, low: 4)),
                    ]
                )
            )
        ),
        (
            "refused",
            .refused(
                ChunkRefusedMessage(
                    jobId: "0b9c6a2e-1f0d-4d8e-9a51-3f7c2b8e4d10",
                    chunkIndex: 3,
                    attempt: 1,
                    lease: LeaseToken(high: 5, low: 6),
                    nodeName: "node-3",
                    nodeVersion: StoreVersion(storeId: 0x3F2A_9C1B_00D4_E5F6, version: 16),
                    reason: "store at 3f2a9c1b00d4e5f6:16, chunk wants 3f2a9c1b00d4e5f6:17"
                )
            )
        ),
        ("cancel", .cancel(CancelMessage(jobId: "0b9c6a2e-1f0d-4d8e-9a51-3f7c2b8e4d10"))),
    ]
    for (name, message) in messages {
        let bytes = message.encode()
        guard let f = fopen("\(dir)/\(name).bin", "wb") else { fatalError("cannot write \(dir)/\(name).bin") }
        _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
    exit(0)
}
