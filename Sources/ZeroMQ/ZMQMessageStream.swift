/// The received messages of one socket, in order. Single consumer; any task may iterate it.
///
/// Ends when the socket or its loop closes (buffered messages are still delivered first).
/// Cancelling the consuming task ends a pending `next()` with `nil`; no buffered message is lost.
public struct ZMQMessageStream: AsyncSequence, Sendable {
    public typealias Element = ZMQMessage
    let socket: ZMQSocket

    public struct AsyncIterator: AsyncIteratorProtocol {
        let socket: ZMQSocket  // keeps the socket open while someone iterates
        public mutating func next() async throws -> ZMQMessage? { try await socket.inbound.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(socket: socket) }
}
