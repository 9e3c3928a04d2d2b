import Foundation

/// The text encodings the CSV readers accept.
///
/// Korean downloads (the KRX data portal, older Excel exports) are CP949 — Microsoft's superset of
/// EUC-KR (KS X 1001), which also covers the 8,822 Hangul syllables EUC-KR lacks. `auto` reads a file
/// as UTF-8 when its first 64 KiB are valid UTF-8, else as CP949.
public enum TextEncoding: String, Sendable, CaseIterable {
    /// UTF-8 when the start of the file is valid UTF-8, else CP949.
    case auto
    /// UTF-8 (a byte-order mark is skipped).
    case utf8 = "utf-8"
    /// CP949 / EUC-KR.
    case cp949

    /// Foundation's encoding for CP949: `kCFStringEncodingDOSKorean` (0x0422) as an `NSStringEncoding`.
    /// swift-corelibs-foundation decodes it on Linux through ICU (the KRX fixtures of `ImportLayoutTests` check it).
    static let foundationCP949 = String.Encoding(rawValue: 0x8000_0422)

    /// Whether `bytes` is valid UTF-8, allowing a multi-byte sequence cut off at the end when
    /// `truncated` (the bytes are the start of a longer file).
    static func isValidUTF8(_ bytes: ArraySlice<UInt8>, truncated: Bool) -> Bool {
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                continue
            }
            let length: Int
            switch b {
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return false
            }
            if i + length > end {
                return truncated && end - i < 4 && bytes[(i + 1)...].allSatisfy { $0 & 0xC0 == 0x80 }
            }
            for k in 1..<length where bytes[i + k] & 0xC0 != 0x80 { return false }
            i += length
        }
        return true
    }

    /// Decodes CP949 `bytes` to UTF-8, strictly: every byte pair must lie in CP949's lead/trail ranges,
    /// and the text must encode back to exactly the same bytes (Foundation's decoder maps or skips some
    /// invalid bytes silently). Throws naming the line of the first byte that is not CP949.
    static func decodeCP949(_ bytes: [UInt8], file: String) throws -> [UInt8] {
        func refuse(_ at: (line: Int, offset: Int)) -> MarketDataError {
            MarketDataError(
                .invalidInput,
                "\(file): line \(at.line): the file is neither UTF-8 nor CP949/EUC-KR text (byte offset \(at.offset))"
            )
        }
        if let bad = firstInvalidCP949(bytes) { throw refuse(bad) }
        guard let text = String(data: Data(bytes), encoding: foundationCP949),
            let back = text.data(using: foundationCP949), back.elementsEqual(bytes)
        else {
            // In range but unmapped: find the first pair Foundation cannot decode.
            var line = 1
            var i = 0
            while i < bytes.count {
                if bytes[i] < 0x80 {
                    if bytes[i] == 0x0A { line += 1 }
                    i += 1
                    continue
                }
                let pair = Data(bytes[i...(i + 1)])
                if String(data: pair, encoding: foundationCP949)?.data(using: foundationCP949) != pair { break }
                i += 2
            }
            throw refuse((line, i))
        }
        return Array(text.utf8)
    }

    /// The line and byte offset of the first byte outside CP949's ranges (ASCII, or a lead byte
    /// 0x81–0xFE followed by a trail byte 0x41–0x5A, 0x61–0x7A or 0x81–0xFE); `nil` when there is none.
    static func firstInvalidCP949(_ bytes: [UInt8]) -> (line: Int, offset: Int)? {
        var line = 1
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b < 0x80 {
                if b == 0x0A { line += 1 }
                i += 1
                continue
            }
            guard (0x81...0xFE).contains(b), i + 1 < bytes.count else { return (line, i) }
            let t = bytes[i + 1]
            guard (0x41...0x5A).contains(t) || (0x61...0x7A).contains(t) || (0x81...0xFE).contains(t) else {
                return (line, i)
            }
            i += 2
        }
        return nil
    }
}
