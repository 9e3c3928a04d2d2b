import Foundation

/// A streaming CSV reader (RFC 4180 with the usual leniencies) over a file, a chunk at a time.
///
/// Handles quoted fields (with `""` escapes and line breaks inside), LF and CRLF line ends, a UTF-8
/// byte-order mark, and skips blank lines. Field bytes are kept as UTF-8, so Korean names pass
/// through unchanged; a CP949/EUC-KR file (``TextEncoding``) is decoded to UTF-8 first. Each record
/// knows the line it starts on (line 1 is the first line of the file).
public final class CSVReader {
    /// The open file, or `nil` when the whole (decoded) text is already in `buffer`.
    private let file: UnsafeMutablePointer<FILE>?
    private var buffer: [UInt8]
    private var bufferCount = 0
    private var pos = 0
    private var atEOF = false
    private var startedFile = false

    /// The current record's unescaped bytes, and where each field ends in them.
    private var data: [UInt8] = []
    private var ends: [Int] = []
    private var lineNumber = 1

    /// Size of the file in bytes.
    public let totalBytes: Int64
    /// Bytes consumed so far.
    public private(set) var bytesRead: Int64 = 0
    /// The line the current record starts on.
    public private(set) var line = 0
    /// Set when the current record is malformed (an unterminated quoted field at the end of the file).
    public private(set) var malformation: String?

    /// Opens `path` for reading in `encoding`: UTF-8 is streamed a chunk at a time; a CP949 file
    /// (named, or found by ``TextEncoding/auto``) is read whole and decoded, strictly.
    public init(path: String, encoding: TextEncoding = .utf8, chunkSize: Int = 1 << 20) throws {
        guard let f = fopen(path, "rb") else {
            throw MarketDataError(.io, "cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        var st = stat()
        let size = fstat(fileno(f), &st) == 0 ? Int64(st.st_size) : 0
        buffer = [UInt8](repeating: 0, count: max(chunkSize, 4096))
        var decoded: [UInt8]?
        switch encoding {
        case .utf8:
            break
        case .cp949:
            decoded = try TextEncoding.decodeCP949(Self.readAll(f, path: path), file: path)
        case .auto:
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, min($0.count, 1 << 16), f) }
            if !TextEncoding.isValidUTF8(buffer[0..<n], truncated: Int64(n) < size) {
                rewind(f)
                decoded = try TextEncoding.decodeCP949(Self.readAll(f, path: path), file: path)
            } else {
                rewind(f)
            }
        }
        if let decoded {
            fclose(f)
            file = nil
            buffer = decoded
            bufferCount = decoded.count
            atEOF = true
            totalBytes = Int64(decoded.count)
        } else {
            file = f
            totalBytes = size
        }
        if file == nil { skipByteOrderMark() }
    }

    private static func readAll(_ f: UnsafeMutablePointer<FILE>, path: String) throws -> [UInt8] {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            all.append(contentsOf: chunk[0..<n])
            if n < chunk.count { break }
        }
        if ferror(f) != 0 {
            fclose(f)
            throw MarketDataError(.io, "cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        return all
    }

    deinit { if let file { fclose(file) } }

    /// Number of fields of the current record.
    public var fieldCount: Int { ends.count }

    private func range(_ i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }

    /// The field's bytes with surrounding spaces removed.
    private func trimmed(_ i: Int) -> Range<Int> {
        let data = self.data
        var r = range(i)
        while r.lowerBound < r.upperBound && data[r.lowerBound] == 0x20 { r = (r.lowerBound + 1)..<r.upperBound }
        while r.lowerBound < r.upperBound && data[r.upperBound - 1] == 0x20 { r = r.lowerBound..<(r.upperBound - 1) }
        return r
    }

    /// Field `i` as a string (surrounding spaces removed); `""` when the record has no such field.
    public func string(_ i: Int) -> String {
        guard i < ends.count else { return "" }
        return String(decoding: data[trimmed(i)], as: UTF8.self)
    }

    /// Whether field `i` is missing or blank.
    public func isBlank(_ i: Int) -> Bool { i >= ends.count || trimmed(i).isEmpty }

    /// Field `i` as a number: decimal notation (`123`, `-4.5`, `1e6`); `nil` when it is not one.
    public func double(_ i: Int) -> Double? {
        guard i < ends.count else { return nil }
        let r = trimmed(i)
        guard !r.isEmpty else { return nil }
        let data = self.data
        // Clinger's fast path: up to 15 significant digits and 22 decimals is exact in one division.
        var mantissa: Int64 = 0
        var digits = 0
        var decimals = 0
        var sawDot = false
        var negative = false
        var k = r.lowerBound
        if data[k] == UInt8(ascii: "-") {
            negative = true
            k += 1
        }
        var fast = k < r.upperBound
        while k < r.upperBound && fast {
            let b = data[k]
            if b >= 0x30 && b <= 0x39 {
                if mantissa > 0 || b != 0x30 { digits += 1 }
                mantissa = mantissa &* 10 &+ Int64(b - 0x30)
                if sawDot { decimals += 1 }
            } else if b == UInt8(ascii: ".") && !sawDot {
                sawDot = true
            } else {
                fast = false
            }
            k += 1
        }
        if fast && digits <= 15 && decimals <= 22 && !(sawDot && r.upperBound - r.lowerBound == (negative ? 2 : 1)) {
            var v = Double(mantissa)
            if decimals > 0 { v /= Self.powersOf10[decimals] }
            return negative ? -v : v
        }
        guard let v = Double(String(decoding: data[r], as: UTF8.self)), v.isFinite else { return nil }
        return v
    }

    /// Field `i` as a number that may group its digits with commas (`"1,234,567"`, `-12,000.5`, as the
    /// KRX data portal writes them; the field is quoted in the file); plain numbers as ``double(_:)``.
    /// Groups must be three digits: `1,23` is not a number.
    public func groupedDouble(_ i: Int) -> Double? {
        if let v = double(i) { return v }
        guard i < ends.count else { return nil }
        let text = String(decoding: data[trimmed(i)], as: UTF8.self)
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let groups = parts[0].split(separator: ",", omittingEmptySubsequences: false)
        guard groups.count > 1 else { return nil }
        var first = groups[0]
        if first.hasPrefix("-") { first = first.dropFirst() }
        guard (1...3).contains(first.count), first.allSatisfy(\.isASCII), first.allSatisfy(\.isNumber),
            groups.dropFirst().allSatisfy({ $0.count == 3 && $0.allSatisfy { $0.isASCII && $0.isNumber } })
        else { return nil }
        guard let v = Double(text.replacingOccurrences(of: ",", with: "")), v.isFinite else { return nil }
        return v
    }

    private static let powersOf10: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }

    private func refill() throws {
        guard !atEOF, let file else { return }
        let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if n < buffer.count {
            if ferror(file) != 0 { throw MarketDataError(.io, "read error: \(String(cString: strerror(errno)))") }
            atEOF = true
        }
        bufferCount = n
        pos = 0
        if !startedFile { skipByteOrderMark() }
    }

    private func skipByteOrderMark() {
        startedFile = true
        if bufferCount - pos >= 3 && buffer[pos] == 0xEF && buffer[pos + 1] == 0xBB && buffer[pos + 2] == 0xBF {
            pos += 3
            bytesRead += 3
        }
    }

    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

    /// Reads the next non-blank record; `false` at the end of the file.
    public func next() throws -> Bool {
        // Work on locals: touching stored properties of a class per byte costs exclusivity checks.
        var data = self.data
        var ends = self.ends
        self.data = []
        self.ends = []
        defer {
            self.data = data
            self.ends = ends
        }
        data.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        malformation = nil
        var state = State.fieldStart
        var started = false
        var lineNumber = self.lineNumber
        var recordLine = lineNumber
        defer {
            self.lineNumber = lineNumber
            self.line = recordLine
        }
        while true {
            if pos >= bufferCount {
                try refill()
                if pos >= bufferCount {
                    // End of file.
                    guard started else { return false }
                    if state == .quoted { malformation = "unterminated quoted field" }
                    ends.append(data.count)
                    return true
                }
            }
            let start = pos
            var i = start
            let count = bufferCount
            var finished = false
            buffer.withUnsafeBufferPointer { buf in
                scan: while i < count {
                    let b = buf[i]
                    i += 1
                    switch state {
                    case .quoted:
                        if b == 0x22 {
                            state = .quoteInQuoted
                        } else {
                            if b == 0x0A { lineNumber += 1 }
                            data.append(b)
                        }
                        continue scan
                    case .fieldStart where b == 0x22:
                        state = .quoted
                        started = true
                        continue scan
                    case .quoteInQuoted where b == 0x22:
                        data.append(b)
                        state = .quoted
                        continue scan
                    default:
                        break
                    }
                    switch b {
                    case 0x0D:
                        continue scan
                    case 0x0A:
                        lineNumber += 1
                        if !started {
                            recordLine = lineNumber  // blank line: the record starts on the next one
                            continue scan
                        }
                        ends.append(data.count)
                        finished = true
                        break scan
                    case 0x2C:
                        started = true
                        ends.append(data.count)
                        state = .fieldStart
                    default:
                        started = true
                        data.append(b)
                        state = .unquoted
                    }
                }
            }
            bytesRead += Int64(i - start)
            pos = i
            if finished { return true }
        }
    }
}
