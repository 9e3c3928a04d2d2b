import CZeroMQ

/// A socket monitor event (`zmq_socket_monitor`). A plain value; any thread may use it.
public enum ZMQSocketEvent: Sendable, Hashable {
    case connected(endpoint: String)
    case disconnected(endpoint: String)
    case accepted(endpoint: String)
    /// `value` is libzmq's detail: an errno, a ZMTP protocol error code or a ZAP status code.
    case handshakeFailed(endpoint: String, errno: Int32)
    case handshakeSucceeded(endpoint: String)
    case closed(endpoint: String)
    case other(event: UInt16, endpoint: String)

    /// Decodes a monitor message: frame 1 = event (UInt16) + value (UInt32), native byte order;
    /// frame 2 = the endpoint. `nil` for a malformed message or `ZMQ_EVENT_MONITOR_STOPPED`.
    init?(monitorFrames frames: [[UInt8]]) {
        guard frames.count >= 2, frames[0].count >= 6 else { return nil }
        let head = frames[0]
        let event = UInt16(head[0]) | UInt16(head[1]) << 8
        let value = UInt32(head[2]) | UInt32(head[3]) << 8 | UInt32(head[4]) << 16 | UInt32(head[5]) << 24
        let raw = (UInt16(littleEndian: 1) == 1) ? (event, value) : (event.byteSwapped, value.byteSwapped)
        let endpoint = String(decoding: frames[1], as: UTF8.self)
        switch Int32(raw.0) {
        case ZMQ_EVENT_CONNECTED: self = .connected(endpoint: endpoint)
        case ZMQ_EVENT_DISCONNECTED: self = .disconnected(endpoint: endpoint)
        case ZMQ_EVENT_ACCEPTED: self = .accepted(endpoint: endpoint)
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: self = .handshakeSucceeded(endpoint: endpoint)
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            self = .handshakeFailed(endpoint: endpoint, errno: Int32(bitPattern: raw.1))
        case ZMQ_EVENT_CLOSED: self = .closed(endpoint: endpoint)
        case ZMQ_EVENT_MONITOR_STOPPED: return nil
        default: self = .other(event: raw.0, endpoint: endpoint)
        }
    }
}

/// The monitor events of one socket, in order. Single consumer; any task may iterate it.
/// Ends when the socket or its loop closes; a cancelled consumer's pending `next()` returns `nil`.
public struct ZMQMonitorEvents: AsyncSequence, Sendable {
    public typealias Element = ZMQSocketEvent
    let socket: ZMQSocket
    let buffer: InboundBuffer<ZMQSocketEvent>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let socket: ZMQSocket  // keeps the socket open while someone iterates
        let buffer: InboundBuffer<ZMQSocketEvent>
        public mutating func next() async throws -> ZMQSocketEvent? { try await buffer.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(socket: socket, buffer: buffer) }
}
