import FormulaEngine
import ScanCore

extension FeedCodec {
    /// The bars of a feed body in the shape feeders send (`{"bars": [BAR, …]}` with plain fields),
    /// read without Foundation's `JSONDecoder` (issue 14 part 5: decoding a minute of 2,000 bars that
    /// way cost more than evaluating them); `nil` for anything else — another shape, a field that is
    /// missing, repeated, unknown or of another type, an escape in a string, a number past a
    /// `Double`, more than `maxBars` bars, or any bar the checks would refuse — which the `JSONDecoder`
    /// path then decodes, so every refusal and its message stays that path's. What this accepts it
    /// reads as that path would (`Fuzz/Targets/FeedCodecFuzz.swift` checks it).
    package static func fastBars(_ body: [UInt8], maxBars: Int) -> [FeedBar]? {
        body.withUnsafeBufferPointer { buffer -> [FeedBar]? in
            var p = FastJSON(bytes: buffer)
            guard p.take(UInt8(ascii: "{")), p.string() == "bars", p.take(UInt8(ascii: ":")),
                p.take(UInt8(ascii: "["))
            else { return nil }
            var bars: [FeedBar] = []
            if !p.take(UInt8(ascii: "]")) {
                repeat {
                    guard bars.count < maxBars, let bar = p.bar() else { return nil }
                    bars.append(bar)
                } while p.take(UInt8(ascii: ","))
                guard p.take(UInt8(ascii: "]")) else { return nil }
            }
            guard p.take(UInt8(ascii: "}")), p.atEnd else { return nil }
            return bars
        }
    }

    /// The timeframes the feed takes (`1m`, `1d`), from a bar's `timeframe` field.
    static func fedTimeframe(_ text: String) -> Timeframe? {
        guard let tf = Timeframe(rawValue: text), tf == .minute1 || tf == .daily else { return nil }
        return tf
    }

    /// A bar's `time` as the feed takes it for `tf`: a date for `1d`, an instant with offset on a
    /// whole minute for `1m`.
    static func fedTimestamp(_ text: String, _ tf: Timeframe) -> BarTimestamp? {
        guard let ts = BarTimestamp(parsing: text), ts.isIntraday == tf.isIntraday else { return nil }
        if tf == .minute1, (ts.epochSeconds % 60 + 60) % 60 != 0 { return nil }
        return ts
    }
}

/// A forward reader of the one JSON shape ``FeedCodec/fastBars(_:maxBars:)`` takes: every method
/// skips the whitespace before what it reads and returns `nil`/`false` on anything else.
private struct FastJSON {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var atEnd: Bool {
        mutating get {
            skipSpace()
            return i == bytes.count
        }
    }

    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    /// Consumes `byte` when it comes next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }

    /// A string without escapes (or control characters); `nil` for anything else.
    mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                defer { i += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            if b == UInt8(ascii: "\\") || b < 0x20 || b >= 0x80 && !validUTF8Lead(at: i) { return nil }
            i += 1
        }
        return nil
    }

    /// Non-ASCII bytes are taken only as well-formed UTF-8 (what `JSONDecoder` requires too); a
    /// malformed sequence goes to the `JSONDecoder` path.
    private mutating func validUTF8Lead(at index: Int) -> Bool {
        let b = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch b {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: return false
        }
        guard index + length <= bytes.count else { return false }
        for k in 1..<length {
            let c = bytes[index + k]
            guard c >= (k == 1 ? low : 0x80), c <= (k == 1 ? high : 0xBF) else { return false }
        }
        i = index + length - 1  // the caller steps past the last byte
        return true
    }

    /// A finite number in JSON's grammar.
    mutating func number() -> Double? {
        skipSpace()
        let start = i
        func digits() -> Int {
            let from = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
            return i - from
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        let n = digits()
        guard n > 0, n == 1 || bytes[intStart] != UInt8(ascii: "0") else { return nil }
        var fraction = false
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            fraction = true
            guard digits() > 0 else { return nil }
        }
        var exponent = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            // `JSONDecoder` refuses `0e2` (though it takes `0e-2` and `0.0e2`): a bare 0 with an exponent is left to it.
            guard fraction || bytes[intStart] != UInt8(ascii: "0") else { return nil }
            exponent = true
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { return nil }
        }
        guard i - start <= 64,
            let x = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)),
            x.isFinite,
            // A negative zero, and a zero with an exponent (`JSONDecoder` refuses `1e-400`, which
            // underflows to 0): left to the JSONDecoder path.
            x != 0 || x.sign == .plus && !exponent
        else { return nil }
        return x
    }

    /// `true` or `false`.
    mutating func bool() -> Bool? {
        skipSpace()
        if word("true") { return true }
        if word("false") { return false }
        return nil
    }

    private mutating func word(_ w: StaticString) -> Bool {
        let n = w.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        for k in 0..<n where bytes[i + k] != w.utf8Start[k] { return false }
        i += n
        return true
    }

    /// One bar object whose every field is present once, of its type, and passes the feed's checks.
    mutating func bar() -> FeedBar? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var symbol: String?
        var timeframe: String?
        var time: String?
        var values: [Double?] = [nil, nil, nil, nil, nil]
        var final: Bool?
        if !take(UInt8(ascii: "}")) {
            repeat {
                guard let key = string(), take(UInt8(ascii: ":")) else { return nil }
                switch key {
                case "symbol":
                    guard symbol == nil, let v = string() else { return nil }
                    symbol = v
                case "timeframe":
                    guard timeframe == nil, let v = string() else { return nil }
                    timeframe = v
                case "time":
                    guard time == nil, let v = string() else { return nil }
                    time = v
                case "open", "high", "low", "close", "volume":
                    let k =
                        switch key {
                        case "open": 0
                        case "high": 1
                        case "low": 2
                        case "close": 3
                        default: 4
                        }
                    guard values[k] == nil, let v = number() else { return nil }
                    values[k] = v
                case "final":
                    guard final == nil, let v = bool() else { return nil }
                    final = v
                default: return nil
                }
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
        }
        guard let symbol, !symbol.isEmpty, let time,
            let tf = FeedCodec.fedTimeframe(timeframe ?? Timeframe.minute1.rawValue),
            let ts = FeedCodec.fedTimestamp(time, tf),
            let open = values[0], let high = values[1], let low = values[2], let close = values[3],
            let volume = values[4], volume >= 0
        else { return nil }
        return FeedBar(
            symbol: symbol,
            timeframe: tf,
            timestamp: ts,
            open: open,
            high: high,
            low: low,
            close: close,
            volume: volume,
            final: final ?? true
        )
    }
}
