import CZeroMQ

/// CURVE keys and Z85 text. Pure functions; any thread may call them.
public enum Curve {
    /// `zmq_curve_keypair`: a new key pair as Z85 text.
    public static func keyPair() throws -> (publicKey: String, secretKey: String) {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        if zmq_curve_keypair(&publicKey, &secretKey) != 0 {
            throw ZMQError.last("zmq_curve_keypair")
        }
        return (text(publicKey), text(secretKey))
    }

    /// Whether this libzmq supports CURVE (`zmq_has("curve")`).
    public static var isAvailable: Bool { zmq_has("curve") != 0 }

    private static func text(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
