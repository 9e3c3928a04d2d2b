// libFuzzer target: the bar feed's decoder (what the service's feed PULL decodes from any feeder).
// Built by scripts/fuzz.sh with the ScanProtocol, ScanCore and FormulaEngine sources.
import ScanProtocol

/// The input is a feed message's body. Checked: the hand-written reader of the usual shape
/// (`FeedCodec.fastBars`) accepts only what the `JSONDecoder` path reads to exactly the same bars
/// (every field, in order, none refused), and the whole decoder never crashes.
@_cdecl("LLVMFuzzerTestOneInput")
public func feedCodecFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    let maxBars = 16
    let full = FeedCodec.decodeBody(body, maxBars: maxBars)
    if let fast = FeedCodec.fastBars(body, maxBars: maxBars) {
        guard case .success(let decoded) = full else {
            fatalError("the fast path read \(fast.count) bars from a body JSONDecoder refuses: \(full)")
        }
        let bars = decoded.compactMap { try? $0.get() }
        guard bars.count == decoded.count, bars == fast,
            zip(bars, fast).allSatisfy({ a, b in
                [a.open, a.high, a.low, a.close, a.volume].map(\.bitPattern)
                    == [b.open, b.high, b.low, b.close, b.volume].map(\.bitPattern)
                    && a.timestamp.utcOffsetSeconds == b.timestamp.utcOffsetSeconds
            })
        else {
            fatalError("the fast path read \(fast) where JSONDecoder read \(decoded)")
        }
    }
    _ = FeedCodec.decode([WireProtocol.versionBytes, Array(FeedCodec.verb.utf8), body], maxBars: maxBars)
    return 0
}
