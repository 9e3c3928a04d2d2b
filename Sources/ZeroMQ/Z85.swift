import CZeroMQ

/// Z85 text (ZeroMQ RFC 32), the encoding of CURVE keys. Pure functions; any thread may call them.
public enum Z85 {
    /// Encodes bytes whose count is a multiple of 4; `nil` otherwise. (`zmq_z85_encode`.)
    public static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count % 4 == 0 else { return nil }
        if bytes.isEmpty { return "" }
        var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        let encoded = bytes.withUnsafeBufferPointer { source in
            text.withUnsafeMutableBufferPointer { dest in
                zmq_z85_encode(dest.baseAddress, source.baseAddress, source.count) != nil
            }
        }
        guard encoded else { return nil }
        return String(decoding: text.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes Z85 text whose length is a multiple of 5; `nil` for invalid text. (`zmq_z85_decode`.)
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 5 == 0, !utf8.contains(0) else { return nil }
        if utf8.isEmpty { return [] }
        var bytes = [UInt8](repeating: 0, count: utf8.count / 5 * 4)
        let cString = utf8.map { CChar(bitPattern: $0) } + [0]
        let decoded = bytes.withUnsafeMutableBufferPointer { dest in
            cString.withUnsafeBufferPointer { source in
                zmq_z85_decode(dest.baseAddress, source.baseAddress) != nil
            }
        }
        return decoded ? bytes : nil
    }
}
