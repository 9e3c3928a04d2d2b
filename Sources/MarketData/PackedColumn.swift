import Foundation

/// Little-endian packing of numeric columns into BLOBs, the on-disk form of a bar block.
///
/// Every value is stored in its fixed-width little-endian form (`Int64`, `Int32`, IEEE 754 `Float64`
/// bit patterns), so a block written on one machine reads back bit-for-bit on any other. On
/// little-endian hosts (every platform Swift runs on today) packing and unpacking are single
/// `memcpy`s, which is what makes loading millions of bars cheap.
enum PackedColumn {
    static func pack<T: FixedWidthInteger>(_ values: [T]) -> Data {
        #if _endian(little)
        return values.withUnsafeBytes { Data($0) }
        #else
        return values.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
        #endif
    }

    static func pack(_ values: [Double]) -> Data {
        pack(values.map(\.bitPattern))
    }

    /// Appends the values packed in `bytes` to `array`; `false` when they are not a whole number of values.
    static func append<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, to array: inout [T]) -> Bool {
        let size = MemoryLayout<T>.size
        guard bytes.count % size == 0 else { return false }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        let n = bytes.count / size
        let start = array.count
        array.append(contentsOf: repeatElement(0, count: n))
        array.withUnsafeMutableBytes { dst in
            dst.baseAddress!.advanced(by: start * size).copyMemory(from: base, byteCount: n * size)
        }
        #if !_endian(little)
        for i in start..<array.count { array[i] = T(littleEndian: array[i]) }
        #endif
        return true
    }

    static func append(_ bytes: UnsafeRawBufferPointer, to array: inout [Double]) -> Bool {
        guard bytes.count % 8 == 0 else { return false }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        let n = bytes.count / 8
        let start = array.count
        array.append(contentsOf: repeatElement(0, count: n))
        array.withUnsafeMutableBytes { dst in
            dst.baseAddress!.advanced(by: start * 8).copyMemory(from: base, byteCount: n * 8)
        }
        #if !_endian(little)
        array.withUnsafeMutableBufferPointer { buf in
            for i in start..<buf.count { buf[i] = Double(bitPattern: UInt64(littleEndian: buf[i].bitPattern)) }
        }
        #endif
        return true
    }

    /// Appends the values packed in `data` to `array`; `false` when `data` is not a whole number of values.
    static func append<T: FixedWidthInteger>(_ data: Data?, to array: inout [T]) -> Bool {
        guard let data, !data.isEmpty else { return true }
        let size = MemoryLayout<T>.size
        guard data.count % size == 0 else { return false }
        let n = data.count / size
        let start = array.count
        array.append(contentsOf: repeatElement(0, count: n))
        array.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in
                dst.baseAddress!.advanced(by: start * size).copyMemory(from: src.baseAddress!, byteCount: n * size)
            }
        }
        #if !_endian(little)
        for i in start..<array.count { array[i] = T(littleEndian: array[i]) }
        #endif
        return true
    }

    static func append(_ data: Data?, to array: inout [Double]) -> Bool {
        guard let data, !data.isEmpty else { return true }
        guard data.count % 8 == 0 else { return false }
        let n = data.count / 8
        let start = array.count
        array.append(contentsOf: repeatElement(0, count: n))
        array.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in
                dst.baseAddress!.advanced(by: start * 8).copyMemory(from: src.baseAddress!, byteCount: n * 8)
            }
        }
        #if !_endian(little)
        array.withUnsafeMutableBufferPointer { buf in
            for i in start..<buf.count { buf[i] = Double(bitPattern: UInt64(littleEndian: buf[i].bitPattern)) }
        }
        #endif
        return true
    }
}
