/// Malformed binary input: truncated, a bad header, an impossible count or invalid UTF-8.
public struct WireFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Appends little-endian values to a byte buffer. Not thread-safe (a value type; use one per message).
package struct BinaryWriter: Sendable {
    package private(set) var bytes: [UInt8]

    package init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    package mutating func u8(_ v: UInt8) { bytes.append(v) }
    /// `b` as is.
    package mutating func raw(_ b: some Collection<UInt8>) { bytes.append(contentsOf: b) }
    package mutating func u16(_ v: UInt16) { append(v.littleEndian) }
    package mutating func u32(_ v: UInt32) { append(v.littleEndian) }
    package mutating func u64(_ v: UInt64) { append(v.littleEndian) }
    package mutating func i32(_ v: Int32) { append(v.littleEndian) }
    package mutating func i64(_ v: Int64) { append(v.littleEndian) }
    package mutating func f64(_ v: Double) { append(v.bitPattern.littleEndian) }
    package mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    /// A count or size as `u32`; values that do not fit are clamped (callers never send 4 G items).
    package mutating func count(_ n: Int) { u32(UInt32(clamping: n)) }

    /// `u32` byte length, then UTF-8.
    package mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            count(buf.count)
            bytes.append(contentsOf: buf)
        }
    }

    private mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) }
    }

    /// Several fixed-width fields in one append: `fill` writes exactly `size` bytes through a
    /// ``Fields`` (the same bytes as the fields one by one, which cost an append each: a match's
    /// dozen fields are most of what writing it costs).
    @inline(__always)
    package mutating func fields(_ size: Int, _ fill: (inout Fields) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: size, alignment: 8) { buffer in
            var f = Fields(base: buffer)
            fill(&f)
            precondition(f.offset == size, "fields wrote \(f.offset) bytes, not \(size)")
            bytes.append(contentsOf: UnsafeRawBufferPointer(buffer))
        }
    }

    /// Little-endian fields written one after another into ``fields(_:_:)``'s scratch bytes; valid
    /// only inside `fill` (it points at them).
    package struct Fields {
        let base: UnsafeMutableRawBufferPointer
        private(set) var offset = 0

        init(base: UnsafeMutableRawBufferPointer) { self.base = base }

        @inline(__always) package mutating func u8(_ v: UInt8) { store(v) }
        @inline(__always) package mutating func u16(_ v: UInt16) { store(v.littleEndian) }
        @inline(__always) package mutating func i32(_ v: Int32) { store(v.littleEndian) }
        @inline(__always) package mutating func i64(_ v: Int64) { store(v.littleEndian) }
        @inline(__always) package mutating func f64(_ v: Double) { store(v.bitPattern.littleEndian) }
        @inline(__always) package mutating func bool(_ v: Bool) { store(UInt8(v ? 1 : 0)) }

        @inline(__always) private mutating func store<T: FixedWidthInteger>(_ v: T) {
            base.storeBytes(of: v, toByteOffset: offset, as: T.self)
            offset += MemoryLayout<T>.size
        }
    }
}

/// Reads little-endian values with bounds checks: every read of malformed input throws
/// ``WireFormatError``, never traps.
package struct BinaryReader: Sendable {
    package let bytes: [UInt8]
    package private(set) var position: Int

    package init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    package var remaining: Int { bytes.count - position }
    package var isAtEnd: Bool { position == bytes.count }

    private mutating func take<T: FixedWidthInteger>(_: T.Type, _ what: String) throws(WireFormatError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw WireFormatError(
                "truncated message: \(what) needs \(size) bytes at offset \(position), \(remaining) left"
            )
        }
        let v = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: T.self) }
        position += size
        return T(littleEndian: v)
    }

    package mutating func u8(_ what: String = "u8") throws(WireFormatError) -> UInt8 { try take(UInt8.self, what) }
    package mutating func u16(_ what: String = "u16") throws(WireFormatError) -> UInt16 { try take(UInt16.self, what) }
    package mutating func u32(_ what: String = "u32") throws(WireFormatError) -> UInt32 { try take(UInt32.self, what) }
    package mutating func u64(_ what: String = "u64") throws(WireFormatError) -> UInt64 { try take(UInt64.self, what) }
    package mutating func i32(_ what: String = "i32") throws(WireFormatError) -> Int32 { try take(Int32.self, what) }
    package mutating func i64(_ what: String = "i64") throws(WireFormatError) -> Int64 { try take(Int64.self, what) }
    package mutating func f64(_ what: String = "f64") throws(WireFormatError) -> Double {
        Double(bitPattern: try take(UInt64.self, what))
    }

    package mutating func bool(_ what: String = "bool") throws(WireFormatError) -> Bool {
        switch try u8(what) {
        case 0: return false
        case 1: return true
        case let b: throw WireFormatError("\(what): expected 0 or 1, got \(b)")
        }
    }

    /// A `u32` count of items that take at least `minItemBytes` each; larger than the rest of the
    /// message could hold → error (so a garbage count never allocates gigabytes).
    package mutating func count(_ what: String, minItemBytes: Int = 1) throws(WireFormatError) -> Int {
        let n = Int(try u32(what))
        guard n <= remaining / max(1, minItemBytes) else {
            throw WireFormatError("\(what) \(n) is more than the remaining \(remaining) bytes can hold")
        }
        return n
    }

    package mutating func string(_ what: String = "string") throws(WireFormatError) -> String {
        let n = try count("\(what) length")
        let slice = bytes[position..<(position + n)]
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw WireFormatError("\(what) is not valid UTF-8")
        }
        position += n
        return s
    }

    /// The next `n` bytes as is.
    package mutating func raw(_ n: Int, _ what: String) throws(WireFormatError) -> ArraySlice<UInt8> {
        guard n >= 0, remaining >= n else {
            throw WireFormatError(
                "truncated message: \(what) needs \(n) bytes at offset \(position), \(remaining) left"
            )
        }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    /// Throws unless every byte was read.
    package func expectEnd(_ what: String) throws(WireFormatError) {
        guard isAtEnd else { throw WireFormatError("\(what): \(remaining) unexpected trailing bytes") }
    }
}
