import CZeroMQ

/// CURVE security settings of one socket (keys are Z85 text, 40 characters).
///
/// A plain value; any thread may build one. It is applied on the loop's thread when the socket is made.
public struct CurveOptions: Sendable, Hashable {
    public var isServer: Bool
    public var publicKey: String
    public var secretKey: String
    /// The server's public key (clients only).
    public var serverKey: String?
    public init(isServer: Bool, publicKey: String, secretKey: String, serverKey: String? = nil) {
        self.isServer = isServer
        self.publicKey = publicKey
        self.secretKey = secretKey
        self.serverKey = serverKey
    }
}

/// Options applied when a socket is created, before any bind or connect.
/// `nil` leaves libzmq's default, except `linger`, which is never infinite.
///
/// A plain value; any thread may build one. It is applied on the loop's thread by
/// ``ZMQLoop/makeSocket(_:options:)``.
public struct SocketOptions: Sendable, Hashable {
    /// ZMQ_LINGER in milliseconds (default 0 here; never -1).
    public var lingerMs: Int32 = 0
    public var sendHighWaterMark: Int32?
    public var receiveHighWaterMark: Int32?
    /// ZMQ_SNDBUF / ZMQ_RCVBUF: the kernel's socket buffer sizes in bytes (a fixed size also turns
    /// off the kernel's buffer auto-tuning, so little can hide in TCP buffers).
    public var kernelSendBufferBytes: Int32?
    public var kernelReceiveBufferBytes: Int32?
    /// ZMQ_MAXMSGSIZE in bytes: a peer sending more is disconnected and the message dropped.
    public var maxMessageSize: Int64?
    public var routerMandatory: Bool?
    public var immediate: Bool?
    public var routingId: [UInt8]?
    /// ZMQ_SUBSCRIBE prefixes (SUB sockets).
    public var subscriptions: [[UInt8]] = []
    public var heartbeatIntervalMs: Int32?
    public var heartbeatTTLMs: Int32?
    public var heartbeatTimeoutMs: Int32?
    public var reconnectIntervalMs: Int32?
    public var reconnectIntervalMaxMs: Int32?
    public var curve: CurveOptions?
    public var zapDomain: String?
    public init() {}
}

// MARK: Applying options (loop thread only)

extension SocketOptions {
    /// Sets every option on `socket`. Loop thread only; `socket` is not yet bound or connected.
    func apply(to socket: UnsafeMutableRawPointer) throws(ZMQError) {
        // A negative linger would mean "forever"; the binding promises a bounded close.
        try setInt(socket, ZMQ_LINGER, max(0, lingerMs), "ZMQ_LINGER")
        if let value = sendHighWaterMark { try setInt(socket, ZMQ_SNDHWM, value, "ZMQ_SNDHWM") }
        if let value = receiveHighWaterMark { try setInt(socket, ZMQ_RCVHWM, value, "ZMQ_RCVHWM") }
        if let value = kernelSendBufferBytes { try setInt(socket, ZMQ_SNDBUF, value, "ZMQ_SNDBUF") }
        if let value = kernelReceiveBufferBytes { try setInt(socket, ZMQ_RCVBUF, value, "ZMQ_RCVBUF") }
        if let value = maxMessageSize {
            var raw = value
            try set(socket, ZMQ_MAXMSGSIZE, &raw, MemoryLayout<Int64>.size, "ZMQ_MAXMSGSIZE")
        }
        if let value = routerMandatory {
            try setInt(socket, ZMQ_ROUTER_MANDATORY, value ? 1 : 0, "ZMQ_ROUTER_MANDATORY")
        }
        if let value = immediate { try setInt(socket, ZMQ_IMMEDIATE, value ? 1 : 0, "ZMQ_IMMEDIATE") }
        if let value = routingId { try setBytes(socket, ZMQ_ROUTING_ID, value, "ZMQ_ROUTING_ID") }
        for prefix in subscriptions { try setBytes(socket, ZMQ_SUBSCRIBE, prefix, "ZMQ_SUBSCRIBE") }
        if let value = heartbeatIntervalMs { try setInt(socket, ZMQ_HEARTBEAT_IVL, value, "ZMQ_HEARTBEAT_IVL") }
        if let value = heartbeatTTLMs { try setInt(socket, ZMQ_HEARTBEAT_TTL, value, "ZMQ_HEARTBEAT_TTL") }
        if let value = heartbeatTimeoutMs {
            try setInt(socket, ZMQ_HEARTBEAT_TIMEOUT, value, "ZMQ_HEARTBEAT_TIMEOUT")
        }
        if let value = reconnectIntervalMs { try setInt(socket, ZMQ_RECONNECT_IVL, value, "ZMQ_RECONNECT_IVL") }
        if let value = reconnectIntervalMaxMs {
            try setInt(socket, ZMQ_RECONNECT_IVL_MAX, value, "ZMQ_RECONNECT_IVL_MAX")
        }
        if let domain = zapDomain { try setBytes(socket, ZMQ_ZAP_DOMAIN, Array(domain.utf8), "ZMQ_ZAP_DOMAIN") }
        if let curve { try curve.apply(to: socket) }
    }
}

extension CurveOptions {
    fileprivate func apply(to socket: UnsafeMutableRawPointer) throws(ZMQError) {
        guard zmq_has("curve") != 0 else {
            throw ZMQError(
                errno: ENOTSUP,
                message: "this libzmq was built without CURVE support",
                operation: "ZMQ_CURVE_SERVER"
            )
        }
        if isServer {
            try setInt(socket, ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")
            try setKey(socket, ZMQ_CURVE_SECRETKEY, secretKey, "ZMQ_CURVE_SECRETKEY")
            if !publicKey.isEmpty { try setKey(socket, ZMQ_CURVE_PUBLICKEY, publicKey, "ZMQ_CURVE_PUBLICKEY") }
        } else {
            guard let serverKey else {
                throw ZMQError(
                    errno: EINVAL,
                    message: "a CURVE client needs the server's public key",
                    operation: "ZMQ_CURVE_SERVERKEY"
                )
            }
            try setKey(socket, ZMQ_CURVE_SERVERKEY, serverKey, "ZMQ_CURVE_SERVERKEY")
            try setKey(socket, ZMQ_CURVE_PUBLICKEY, publicKey, "ZMQ_CURVE_PUBLICKEY")
            try setKey(socket, ZMQ_CURVE_SECRETKEY, secretKey, "ZMQ_CURVE_SECRETKEY")
        }
    }
}

// MARK: zmq_setsockopt wrappers

private func set(
    _ socket: UnsafeMutableRawPointer,
    _ option: Int32,
    _ value: UnsafeRawPointer?,
    _ size: Int,
    _ name: String
) throws(ZMQError) {
    while zmq_setsockopt(socket, option, value, size) != 0 {
        let error = ZMQError.last("zmq_setsockopt \(name)")
        if error.errno != EINTR { throw error }
    }
}

func setInt(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: Int32, _ name: String) throws(ZMQError) {
    var raw = value
    try set(socket, option, &raw, MemoryLayout<Int32>.size, name)
}

func setBytes(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ value: [UInt8], _ name: String) throws(ZMQError) {
    try set(socket, option, value, value.count, name)
}

/// A CURVE key as 40 characters of Z85 text (libzmq wants them NUL-terminated: 41 bytes).
private func setKey(_ socket: UnsafeMutableRawPointer, _ option: Int32, _ key: String, _ name: String) throws(ZMQError)
{
    let bytes = Array(key.utf8)
    guard bytes.count == 40, Z85.decode(key)?.count == 32 else {
        throw ZMQError(errno: EINVAL, message: "a CURVE key must be 40 characters of Z85 text", operation: name)
    }
    try set(socket, option, bytes + [0], 41, name)
}
