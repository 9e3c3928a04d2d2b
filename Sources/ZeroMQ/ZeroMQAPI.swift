// The public surface of the ZeroMQ binding. (Stub: issue 3 implements it; these signatures are the
// contract the service and node code is written against. Implementations may add API, not change it.)

/// A multipart message: its frames, each an exact byte string (empty frames preserved).
public struct ZMQMessage: Sendable, Hashable {
    public var frames: [[UInt8]]
    public init(_ frames: [[UInt8]]) { self.frames = frames }
    /// Frames from UTF-8 strings.
    public init(strings: [String]) { self.frames = strings.map { Array($0.utf8) } }
}

/// A libzmq error: errno plus libzmq's text (`zmq_strerror`).
public struct ZMQError: Error, Sendable, Hashable, CustomStringConvertible {
    public var errno: Int32
    public var message: String
    /// What was being done (`zmq_bind tcp://127.0.0.1:5555`).
    public var operation: String
    public init(errno: Int32, message: String, operation: String) {
        self.errno = errno
        self.message = message
        self.operation = operation
    }
    public var description: String { "\(operation): \(message) (errno \(errno))" }
}

/// libzmq socket types.
public enum SocketType: Sendable, Hashable, CaseIterable {
    case req, rep, dealer, router, pub, sub, xpub, push, pull, pair
}

/// CURVE security settings of one socket (keys are Z85 text, 40 characters).
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
public struct SocketOptions: Sendable, Hashable {
    /// ZMQ_LINGER in milliseconds (default 0 here; never -1).
    public var lingerMs: Int32 = 0
    public var sendHighWaterMark: Int32?
    public var receiveHighWaterMark: Int32?
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

/// A libzmq context. Thread-safe (libzmq contexts are).
public final class ZMQContext: Sendable {
    public init(ioThreads: Int32 = 1) throws {}
}

/// Owns a set of sockets on one dedicated thread running a `zmq_poll` loop.
///
/// Every socket it creates is created, used and closed on that thread only; async callers send
/// commands to the thread and never touch a socket. Nothing here blocks Swift's cooperative pool.
public final class ZMQLoop: Sendable {
    /// Starts the loop's thread. `receiveBufferCapacity` bounds the messages buffered per socket
    /// before the loop stops reading it (back-pressure reaches the peer through libzmq's HWM).
    public init(context: ZMQContext, name: String, receiveBufferCapacity: Int = 1024) throws {}

    /// Creates a socket owned by this loop, with `options` applied before any bind or connect.
    public func makeSocket(_ type: SocketType, options: SocketOptions = SocketOptions()) async throws -> ZMQSocket {
        ZMQSocket()
    }

    /// Closes every socket (with its bounded linger) and stops the thread. Pending receives end;
    /// pending sends throw. Idempotent.
    public func shutdown() async {}
}

/// A handle on a socket owned by a ``ZMQLoop``. Sendable: every call is forwarded to the loop's thread.
public final class ZMQSocket: Sendable {
    init() {}

    /// Binds; returns the resolved endpoint (`tcp://127.0.0.1:*` becomes the real port).
    @discardableResult
    public func bind(_ endpoint: String) async throws -> String { endpoint }
    public func connect(_ endpoint: String) async throws {}
    public func unbind(_ endpoint: String) async throws {}
    public func disconnect(_ endpoint: String) async throws {}

    /// Sends a multipart message, suspending while the socket cannot take it (high-water mark);
    /// throws a ``ZMQError`` (e.g. EHOSTUNREACH on a ROUTER_MANDATORY socket for an unknown peer).
    public func send(_ message: ZMQMessage) async throws {}

    /// Sends only if the socket can take the message now; `false` when it would block.
    public func trySend(_ message: ZMQMessage) async throws -> Bool { true }

    /// Received messages, in order. Single consumer. Ends when the socket or its loop closes.
    /// Cancelling the consuming task ends a pending `next()` with `nil` (no message is lost:
    /// a message is taken from the buffer only by a `next()` that returns it).
    public var messages: ZMQMessageStream { ZMQMessageStream() }

    /// Receives the next message; `nil` when the socket closed.
    public func receive() async throws -> ZMQMessage? { nil }

    public func subscribe(_ prefix: [UInt8]) async throws {}
    public func unsubscribe(_ prefix: [UInt8]) async throws {}

    /// Socket monitor events (connected, disconnected, accepted, handshake failed, …).
    public func monitor() async throws -> ZMQMonitorEvents { ZMQMonitorEvents() }

    /// Closes this socket with its linger. Idempotent.
    public func close() async {}
}

/// The received messages of one socket.
public struct ZMQMessageStream: AsyncSequence, Sendable {
    public typealias Element = ZMQMessage
    public struct AsyncIterator: AsyncIteratorProtocol {
        public mutating func next() async throws -> ZMQMessage? { nil }
    }
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}

/// A socket monitor event.
public enum ZMQSocketEvent: Sendable, Hashable {
    case connected(endpoint: String)
    case disconnected(endpoint: String)
    case accepted(endpoint: String)
    case handshakeFailed(endpoint: String, errno: Int32)
    case handshakeSucceeded(endpoint: String)
    case closed(endpoint: String)
    case other(event: UInt16, endpoint: String)
}

public struct ZMQMonitorEvents: AsyncSequence, Sendable {
    public typealias Element = ZMQSocketEvent
    public struct AsyncIterator: AsyncIteratorProtocol {
        public mutating func next() async throws -> ZMQSocketEvent? { nil }
    }
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}

/// CURVE keys and Z85 text.
public enum Curve {
    /// `zmq_curve_keypair`: a new key pair as Z85 text.
    public static func keyPair() throws -> (publicKey: String, secretKey: String) { ("", "") }
}

public enum Z85 {
    /// Encodes bytes whose count is a multiple of 4; `nil` otherwise.
    public static func encode(_ bytes: [UInt8]) -> String? { nil }
    /// Decodes Z85 text whose length is a multiple of 5; `nil` for invalid text.
    public static func decode(_ text: String) -> [UInt8]? { nil }
}
