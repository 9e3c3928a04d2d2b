import Foundation

/// Owns a set of sockets on one dedicated thread running a `zmq_poll` loop.
///
/// ## Threading model
///
/// libzmq sockets are not thread-safe, so a loop confines them: every socket it makes is created,
/// used and closed on the loop's own `Thread` (not Swift's cooperative pool), which sits in
/// `zmq_poll` over its sockets plus the read end of a wake pipe.
///
/// - **Commands.** Async callers (``ZMQSocket`` methods) never touch a socket: they append a command
///   to a locked queue, write one byte to the wake pipe (only if no wake is already pending) and
///   suspend on a continuation the thread resumes with the result. Nothing blocking runs on the
///   cooperative pool; the lock is held only to append or take the queue.
/// - **Receiving.** On POLLIN the thread reads every complete message available (`ZMQ_DONTWAIT`
///   until EAGAIN), copying each frame once out of its `zmq_msg_t`, and appends the batch to the
///   socket's bounded buffer (capacity `receiveBufferCapacity`) under one lock, resuming a waiting
///   consumer. A full buffer is not polled for input any more, so libzmq's queues and then the
///   peer's high-water mark push back; the consumer wakes the loop once it has drained half of it.
/// - **Sending.** ``ZMQSocket/send(_:)`` queues its message with `ZMQ_DONTWAIT`; if the socket has no
///   room the message waits in a per-socket queue and the loop polls POLLOUT to retry, in order.
///   ``ZMQSocket/trySend(_:)`` never waits.
/// - **Errors.** EINTR is retried; EAGAIN only means "not now"; ETERM (the context terminating)
///   ends the loop cleanly: sockets closed, receives end with `nil`, sends throw.
/// - **Shutdown.** ``shutdown()`` (or dropping the loop and all its sockets) makes the thread close
///   every socket — each with its bounded `ZMQ_LINGER` — reject queued commands, and exit;
///   `shutdown()` returns once the thread has exited.
///
/// The loop object itself is `Sendable`: any task may call it.
public final class ZMQLoop: Sendable {
    let core: LoopCore

    /// Starts the loop's thread. `receiveBufferCapacity` bounds the messages buffered per socket
    /// before the loop stops reading it (back-pressure reaches the peer through libzmq's HWM).
    public init(context: ZMQContext, name: String, receiveBufferCapacity: Int = 1024) throws {
        let core = try LoopCore(context: context, name: name, receiveBufferCapacity: receiveBufferCapacity)
        self.core = core
        let thread = Thread {
            let loop = LoopThread(core: core)
            loop.run()
        }
        thread.name = "zmq-loop \(name)"
        thread.start()
    }

    deinit {
        core.requestStop()
    }

    /// The name given at creation (also the thread's name, prefixed `zmq-loop`).
    public var name: String { core.name }

    /// Creates a socket owned by this loop, with `options` applied before any bind or connect.
    public func makeSocket(_ type: SocketType, options: SocketOptions = SocketOptions()) async throws -> ZMQSocket {
        let made = try await core.perform("zmq_socket \(type)") { thread throws(ZMQError) in
            let made = try thread.makeSocket(type, options: options)
            return SocketRegistration(id: made.id, inbound: made.inbound)
        }
        return ZMQSocket(loop: self, id: made.id, type: type, inbound: made.inbound)
    }

    /// Creates a socket and binds it to each endpoint; the socket is closed again if a bind fails.
    /// Returns the socket and the resolved endpoints (`tcp://127.0.0.1:*` becomes the real port).
    public func makeSocket(
        _ type: SocketType,
        options: SocketOptions = SocketOptions(),
        binding endpoints: [String]
    ) async throws -> (socket: ZMQSocket, endpoints: [String]) {
        let socket = try await makeSocket(type, options: options)
        var resolved: [String] = []
        do {
            for endpoint in endpoints { resolved.append(try await socket.bind(endpoint)) }
        } catch {
            await socket.close()
            throw error
        }
        return (socket, resolved)
    }

    /// Creates a socket and connects it to each endpoint; the socket is closed again if one fails.
    public func makeSocket(
        _ type: SocketType,
        options: SocketOptions = SocketOptions(),
        connectingTo endpoints: [String]
    ) async throws -> ZMQSocket {
        let socket = try await makeSocket(type, options: options)
        do {
            for endpoint in endpoints { try await socket.connect(endpoint) }
        } catch {
            await socket.close()
            throw error
        }
        return socket
    }

    /// Closes every socket (with its bounded linger) and stops the thread. Pending receives end;
    /// pending sends throw. Idempotent. Returns once the thread has exited.
    public func shutdown() async {
        core.requestStop()
        await core.waitUntilExited()
    }

    /// Whether the loop's thread has exited (after ``shutdown()`` or the context's termination).
    public var isStopped: Bool { core.hasExited }
}

/// What `makeSocket` hands back from the loop thread.
private struct SocketRegistration: Sendable {
    let id: Int
    let inbound: InboundBuffer<ZMQMessage>
}
