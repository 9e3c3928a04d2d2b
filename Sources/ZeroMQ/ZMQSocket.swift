import CZeroMQ

/// A handle on a socket owned by a ``ZMQLoop``. Sendable: every call is forwarded to the loop's thread,
/// so any task may call any method; the libzmq socket itself is only ever touched by that thread.
///
/// The socket stays open while this handle (or a ``messages`` stream or ``monitor()`` stream made
/// from it) is alive, until ``close()`` or the loop's shutdown. Dropping the last reference closes it.
public final class ZMQSocket: Sendable {
    /// The owning loop (kept alive by its sockets).
    public let loop: ZMQLoop
    /// The libzmq socket type.
    public let type: SocketType
    let id: Int
    let inbound: InboundBuffer<ZMQMessage>

    init(loop: ZMQLoop, id: Int, type: SocketType, inbound: InboundBuffer<ZMQMessage>) {
        self.loop = loop
        self.id = id
        self.type = type
        self.inbound = inbound
    }

    deinit {
        let id = id
        _ = loop.core.submit(LoopCommand(run: { $0.closeSocket(id) }, reject: { _ in }))
    }

    /// Binds; returns the resolved endpoint (`tcp://127.0.0.1:*` becomes the real port).
    @discardableResult
    public func bind(_ endpoint: String) async throws -> String {
        let id = id
        return try await loop.core.perform("zmq_bind \(endpoint)") { thread throws(ZMQError) in
            try thread.bind(id, endpoint)
        }
    }

    public func connect(_ endpoint: String) async throws {
        let id = id
        try await loop.core.perform("zmq_connect \(endpoint)") { thread throws(ZMQError) in
            try thread.connect(id, endpoint)
        }
    }

    public func unbind(_ endpoint: String) async throws {
        let id = id
        try await loop.core.perform("zmq_unbind \(endpoint)") { thread throws(ZMQError) in
            try thread.unbind(id, endpoint)
        }
    }

    public func disconnect(_ endpoint: String) async throws {
        let id = id
        try await loop.core.perform("zmq_disconnect \(endpoint)") { thread throws(ZMQError) in
            try thread.disconnect(id, endpoint)
        }
    }

    /// Sends a multipart message, suspending while the socket cannot take it (high-water mark);
    /// throws a ``ZMQError`` (e.g. EHOSTUNREACH on a ROUTER_MANDATORY socket for an unknown peer).
    ///
    /// Returns once libzmq has queued the message (not when the peer got it). Cancelling the task
    /// while the message still waits for room withdraws it and throws (`ZMQError.cancelled`).
    public func send(_ message: ZMQMessage) async throws {
        guard !message.frames.isEmpty else {
            throw ZMQError(errno: EINVAL, message: "a message needs at least one frame", operation: "zmq_send")
        }
        try Task.checkCancellation()
        let core = loop.core
        let id = id
        let ticket = core.nextTicket()
        let frames = message.frames
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let command = LoopCommand(
                    run: { $0.send(id, ticket: ticket, frames: frames, continuation: continuation) },
                    reject: { continuation.resume(throwing: $0) }
                )
                if !core.submit(command) { continuation.resume(throwing: ZMQError.loopStopped("zmq_send")) }
            }
        } onCancel: {
            _ = core.submit(LoopCommand(run: { $0.cancelSend(id, ticket: ticket) }, reject: { _ in }))
        }
    }

    /// Sends only if the socket can take the message now; `false` when it would block.
    public func trySend(_ message: ZMQMessage) async throws -> Bool {
        guard !message.frames.isEmpty else {
            throw ZMQError(errno: EINVAL, message: "a message needs at least one frame", operation: "zmq_send")
        }
        let id = id
        let frames = message.frames
        return try await loop.core.perform("zmq_send") { thread throws(ZMQError) in
            try thread.trySend(id, frames: frames)
        }
    }

    /// Sends, in order and in one turn of the loop's thread, each message the socket can take now;
    /// stops at the first that would block. Returns how many were sent.
    public func trySend(_ messages: [ZMQMessage]) async throws -> Int {
        guard !messages.isEmpty else { return 0 }
        guard messages.allSatisfy({ !$0.frames.isEmpty }) else {
            throw ZMQError(errno: EINVAL, message: "a message needs at least one frame", operation: "zmq_send")
        }
        let id = id
        let batch = messages.map(\.frames)
        return try await loop.core.perform("zmq_send") { thread throws(ZMQError) in
            var sent = 0
            for frames in batch {
                guard try thread.trySend(id, frames: frames) else { break }
                sent += 1
            }
            return sent
        }
    }

    /// Received messages, in order. Single consumer. Ends when the socket or its loop closes.
    /// Cancelling the consuming task ends a pending `next()` with `nil` (no message is lost:
    /// a message is taken from the buffer only by a `next()` that returns it).
    public var messages: ZMQMessageStream { ZMQMessageStream(socket: self) }

    /// Receives the next message; `nil` when the socket closed (or the calling task was cancelled).
    public func receive() async throws -> ZMQMessage? { try await inbound.next() }

    public func subscribe(_ prefix: [UInt8]) async throws {
        let id = id
        try await loop.core.perform("ZMQ_SUBSCRIBE") { thread throws(ZMQError) in
            try thread.setOption(id, ZMQ_SUBSCRIBE, prefix, "ZMQ_SUBSCRIBE")
        }
    }

    public func unsubscribe(_ prefix: [UInt8]) async throws {
        let id = id
        try await loop.core.perform("ZMQ_UNSUBSCRIBE") { thread throws(ZMQError) in
            try thread.setOption(id, ZMQ_UNSUBSCRIBE, prefix, "ZMQ_UNSUBSCRIBE")
        }
    }

    /// Socket monitor events (connected, disconnected, accepted, handshake failed, …).
    ///
    /// Start it before `bind`/`connect` to see every event. Calling it again returns the same stream.
    /// Events are read by an inproc PAIR owned by the same loop.
    public func monitor() async throws -> ZMQMonitorEvents {
        let id = id
        let events = try await loop.core.perform("zmq_socket_monitor") { thread throws(ZMQError) in
            try thread.monitor(id)
        }
        return ZMQMonitorEvents(socket: self, buffer: events)
    }

    /// Closes this socket with its linger. Idempotent. Buffered messages stay readable; then the
    /// message stream ends.
    public func close() async {
        let id = id
        _ = try? await loop.core.perform("zmq_close") { thread in thread.closeSocket(id) }
    }
}
