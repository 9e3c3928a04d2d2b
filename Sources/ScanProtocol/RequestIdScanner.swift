/// Finds the top-level `"request_id"` of a request body without decoding the rest, so that it can be
/// echoed even when the body is not decodable (nested deeper than the JSON parser allows, an integer
/// out of range, a bad field), and a number is echoed exactly as it was sent
/// (`12345678901234567890`, `1.50`).
///
/// A linear scan over the bytes with no recursion (nesting costs a counter, not a stack frame). Pure;
/// any thread.
enum RequestIdScanner {
    /// The `request_id` of `body` (a JSON object), or `nil` when it has none, it is not a scalar, or the
    /// body is malformed before it.
    static func requestId(in body: [UInt8]) -> JSONScalar? {
        var i = 0
        skipSpace(body, &i)
        guard i < body.count, body[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        while true {
            skipSpace(body, &i)
            guard i < body.count, body[i] == UInt8(ascii: "\"") else { return nil }
            guard let keyEnd = stringEnd(body, i) else { return nil }
            let key = body[i..<keyEnd]
            i = keyEnd
            skipSpace(body, &i)
            guard i < body.count, body[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skipSpace(body, &i)
            let valueStart = i
            guard let valueEnd = valueEnd(body, i) else { return nil }
            if decodedString(key) == "request_id" { return scalar(body[valueStart..<valueEnd]) }
            i = valueEnd
            skipSpace(body, &i)
            guard i < body.count, body[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
    }

    private static func skipSpace(_ b: [UInt8], _ i: inout Int) {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    /// The index after the closing quote of the string starting at `start`.
    private static func stringEnd(_ b: [UInt8], _ start: Int) -> Int? {
        // Raw bytes, constants hoisted: a `request_id` may be a megabyte of text.
        let quote: UInt8 = 0x22
        let backslash: UInt8 = 0x5C
        return b.withUnsafeBufferPointer { p -> Int? in
            var i = start + 1
            let n = p.count
            while i < n {
                let c = p[i]
                if c == backslash {
                    i += 2
                } else if c == quote {
                    return i + 1
                } else {
                    i += 1
                }
            }
            return nil
        }
    }

    /// The index after the value starting at `start` (a string, an object or array of any depth, or a
    /// bare literal).
    private static func valueEnd(_ b: [UInt8], _ start: Int) -> Int? {
        guard start < b.count else { return nil }
        switch b[start] {
        case UInt8(ascii: "\""):
            return stringEnd(b, start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = start
            while i < b.count {
                switch b[i] {
                case UInt8(ascii: "\""):
                    guard let end = stringEnd(b, i) else { return nil }
                    i = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default: break
                }
                i += 1
            }
            return nil
        default:
            var i = start
            while i < b.count, !",}] \t\r\n".utf8.contains(b[i]) { i += 1 }
            return i > start ? i : nil
        }
    }

    private static func decodedString(_ quoted: ArraySlice<UInt8>) -> String? {
        let bytes = Array(quoted)
        if !bytes.contains(0x5C) { return String(validating: bytes[1..<(bytes.count - 1)], as: UTF8.self) }
        return try? JSONCoding.decode(String.self, from: bytes)
    }

    private static func scalar(_ text: ArraySlice<UInt8>) -> JSONScalar? {
        guard let first = text.first else { return nil }
        switch first {
        case UInt8(ascii: "\""): return decodedString(text).map(JSONScalar.string)
        case UInt8(ascii: "t"): return text.elementsEqual("true".utf8) ? .bool(true) : nil
        case UInt8(ascii: "f"): return text.elementsEqual("false".utf8) ? .bool(false) : nil
        case UInt8(ascii: "n"): return text.elementsEqual("null".utf8) ? .null : nil
        default:
            guard isNumber(text), let s = String(validating: text, as: UTF8.self) else { return nil }
            return .literal(s)
        }
    }

    /// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    static func isNumber(_ text: ArraySlice<UInt8>) -> Bool {
        var i = text.startIndex
        func digits() -> Int {
            let s = i
            while i < text.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[i]) { i += 1 }
            return i - s
        }
        if i < text.endIndex, text[i] == UInt8(ascii: "-") { i += 1 }
        guard i < text.endIndex else { return false }
        if text[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < text.endIndex, text[i] == UInt8(ascii: ".") {
            i += 1
            if digits() == 0 { return false }
        }
        if i < text.endIndex, text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E") {
            i += 1
            if i < text.endIndex, text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { return false }
        }
        return i == text.endIndex
    }
}
