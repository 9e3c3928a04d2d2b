import ScanProtocol
import ZeroMQ

/// A SUB socket on the service's events endpoint, subscribed to one topic prefix.
///
/// ``events`` yields every decoded event in arrival order (messages that are not events of this
/// protocol are skipped). A subscriber misses what was published before its subscription reached
/// the publisher (shortly after ``ScanClient/subscribe(prefix:connectTimeout:)`` returns; ZeroMQ
/// gives no sign of when) and whatever the publisher dropped at its high-water mark: read the state
/// after subscribing, compare each session's `seq` with the last one seen and re-read the session
/// (`GET_SESSION`) on a gap.
public final class EventSubscription: Sendable {
    /// The subscribed prefix.
    public let prefix: String
    /// The events endpoint.
    public let endpoint: String
    private let socket: ZMQSocket

    private init(prefix: String, endpoint: String, socket: ZMQSocket) {
        self.prefix = prefix
        self.endpoint = endpoint
        self.socket = socket
    }

    static func open(
        loop: ZMQLoop,
        endpoint: String,
        prefix: String,
        curve: CurveOptions?,
        connectTimeout: Duration
    ) async throws -> EventSubscription {
        var options = SocketOptions()
        options.lingerMs = 0
        options.subscriptions = [Array(prefix.utf8)]
        options.curve = curve
        options.reconnectIntervalMs = 100
        options.reconnectIntervalMaxMs = 2000
        options.receiveHighWaterMark = 100_000
        let socket: ZMQSocket
        do {
            socket = try await loop.makeSocket(.sub, options: options)
            let monitor = try await socket.monitor()
            try await socket.connect(endpoint)
            await Self.waitForHandshake(monitor, timeout: connectTimeout)
        } catch {
            throw ScanClientError.transport("cannot subscribe to \(endpoint): \(error)")
        }
        return EventSubscription(prefix: prefix, endpoint: endpoint, socket: socket)
    }

    /// Returns when the ZMTP handshake succeeded (the subscription is sent right after it), or after `timeout`.
    private static func waitForHandshake(_ monitor: ZMQMonitorEvents, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await event in monitor {
                        if case .handshakeSucceeded = event { return }
                    }
                } catch {}
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        // No pause after it: the SUBSCRIBE command travels right behind the handshake, but nothing
        // a SUB socket can see says when the publisher applied it (protocol §6), and no wait makes
        // that a guarantee. None is needed: every follower here reads the state after subscribing
        // and re-reads it on a `seq` gap or a quiet spell (SessionFollow, LiveFollow, ServiceWatch),
        // so an event published before the subscription took effect is covered by a reading.
    }

    /// The decoded events, in arrival order. Single consumer. Ends when the subscription is closed.
    public var events: Events { Events(messages: socket.messages) }

    /// The decoded live-watch events (`live.<watch_id>.<event>`), in arrival order. Single consumer;
    /// use either this or ``events``.
    public var liveEvents: LiveEvents { LiveEvents(messages: socket.messages) }

    /// Closes the socket; the ``events`` sequence ends. Idempotent.
    public func close() async { await socket.close() }

    /// An `AsyncSequence` of ``EventDocument``.
    public struct Events: AsyncSequence, Sendable {
        public typealias Element = EventDocument
        let messages: ZMQMessageStream

        public struct AsyncIterator: AsyncIteratorProtocol {
            var inner: ZMQMessageStream.AsyncIterator

            public mutating func next() async throws -> EventDocument? {
                while let message = try await inner.next() {
                    if let event = try? EventCodec.decode(message.frames) { return event }
                }
                return nil
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inner: messages.makeAsyncIterator()) }
    }
}

extension EventSubscription {
    /// An `AsyncSequence` of ``LiveEventDocument``.
    public struct LiveEvents: AsyncSequence, Sendable {
        public typealias Element = LiveEventDocument
        let messages: ZMQMessageStream

        public struct AsyncIterator: AsyncIteratorProtocol {
            var inner: ZMQMessageStream.AsyncIterator

            public mutating func next() async throws -> LiveEventDocument? {
                while let message = try await inner.next() {
                    if let event = try? LiveEventCodec.decode(message.frames) { return event }
                }
                return nil
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inner: messages.makeAsyncIterator()) }
    }
}
