import CZeroMQ

/// A message waiting for room in a socket (loop thread only). `nextFrame` > 0 once part of it is queued
/// in libzmq, after which it can no longer be withdrawn.
struct PendingSend {
    let ticket: UInt64
    var frames: [[UInt8]]
    var nextFrame = 0
    let continuation: CheckedContinuation<Void, any Error>?
}

/// Where a socket's received messages go.
enum InboundSink {
    /// A user socket: messages to its ``ZMQSocket/messages`` buffer.
    case messages(InboundBuffer<ZMQMessage>)
    /// The PAIR reading a user socket's monitor: decoded events to its ``ZMQMonitorEvents`` buffer.
    case monitor(InboundBuffer<ZMQSocketEvent>)

    var room: Int {
        switch self {
        case .messages(let buffer): buffer.room
        case .monitor(let buffer): buffer.room
        }
    }

    func finish(throwing failure: ZMQError? = nil) {
        switch self {
        case .messages(let buffer): buffer.finish(throwing: failure)
        case .monitor(let buffer): buffer.finish(throwing: failure)
        }
    }
}

/// One libzmq socket owned by a loop. Created, used and closed on that loop's thread only.
final class SocketEntry {
    let id: Int
    let handle: UnsafeMutableRawPointer
    let canReceive: Bool
    let sink: InboundSink
    var pendingSends: [PendingSend] = []
    /// Frames of a multipart message whose remaining frames were not yet readable.
    var partialFrames: [[UInt8]] = []
    /// Whether received messages carry their connection's ZAP user id (sockets with a ZAP domain).
    var readsUserId = false
    /// The user id of the message in ``partialFrames``.
    var partialUserId: String?
    /// The monitor PAIR reading this socket's events, when ``ZMQSocket/monitor()`` was called.
    var monitor: (entryID: Int, events: InboundBuffer<ZMQSocketEvent>)?
    /// For a monitor PAIR: the socket it monitors.
    var monitoredSocketID: Int?
    /// POLLOUT was reported but the first pending send still would block (e.g. one ROUTER peer is full
    /// while others are not): retry after `stallBackoffMs` instead of polling POLLOUT in a busy loop.
    var stallBackoffMs: Int32 = 0

    init(id: Int, handle: UnsafeMutableRawPointer, canReceive: Bool, sink: InboundSink) {
        self.id = id
        self.handle = handle
        self.canReceive = canReceive
        self.sink = sink
    }
}
