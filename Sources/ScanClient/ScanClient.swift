import Foundation
import ScanCore
import ScanProtocol
import Synchronization
import ZeroMQ

/// A client of `scan-service` (DESIGN §5, `protocol/README.md`): a DEALER to the api endpoint for
/// requests and, on demand, SUB sockets to the events endpoint.
///
/// Every request carries a fresh `request_id` and waits for the reply with that id, so any number of
/// tasks may call the client at once. Every call has a timeout and throws ``ScanClientError`` on
/// it; a service `ERROR` reply becomes ``ScanClientError/service(_:)``. Codecs and bodies are
/// ScanProtocol's. The sockets live on one ``ZMQLoop`` thread; nothing blocks the cooperative pool.
public final class ScanClient: Sendable {
    /// Where the service is and how long to wait for it.
    public struct Configuration: Sendable, Hashable {
        /// The service's ROUTER (`tcp://HOST:PORT`, default port 5555).
        public var endpoint: String
        /// The service's events PUB (default: the api port + 1, as `scan-service --port-base` lays them out).
        public var eventsEndpoint: String
        /// Timeout of every request that is answered at once.
        public var requestTimeout: Duration
        /// Timeout of `RUN_SCAN` with `wait: true` (answered when the session ends).
        public var waitTimeout: Duration
        /// CURVE client settings when the service uses CURVE.
        public var curve: CurveOptions?

        public init(
            endpoint: String = "tcp://127.0.0.1:5555",
            eventsEndpoint: String? = nil,
            requestTimeout: Duration = .seconds(10),
            waitTimeout: Duration = .seconds(3600),
            curve: CurveOptions? = nil
        ) {
            self.endpoint = endpoint
            self.eventsEndpoint = eventsEndpoint ?? Self.eventsEndpoint(forAPI: endpoint) ?? "tcp://127.0.0.1:5556"
            self.requestTimeout = requestTimeout
            self.waitTimeout = waitTimeout
            self.curve = curve
        }

        /// `tcp://HOST:PORT` → `tcp://HOST:PORT+1` (the events socket next to the api socket); `nil`
        /// when the endpoint has no numeric port.
        public static func eventsEndpoint(forAPI endpoint: String) -> String? {
            guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]),
                port > 0, port < 65535
            else { return nil }
            return "\(endpoint[..<colon]):\(port + 1)"
        }
    }

    public let configuration: Configuration
    private let context: ZMQContext
    private let loop: ZMQLoop
    private let dealer: ZMQSocket
    private let pending = PendingReplies()
    private let counter = Atomic<Int>(0)
    private let reader: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let prefix: String

    private init(configuration: Configuration, context: ZMQContext, loop: ZMQLoop, dealer: ZMQSocket) {
        self.configuration = configuration
        self.context = context
        self.loop = loop
        self.dealer = dealer
        self.prefix = "c\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))-"
    }

    /// Connects to the service (the connection itself completes in the background; requests wait
    /// for it within their timeout).
    public static func connect(_ configuration: Configuration) async throws -> ScanClient {
        let context: ZMQContext
        let loop: ZMQLoop
        let dealer: ZMQSocket
        do {
            context = try ZMQContext()
            loop = try ZMQLoop(context: context, name: "scan-client")
            var options = SocketOptions()
            options.lingerMs = 0
            // Queue requests only on a completed connection: a request sent while the service is
            // down waits (and times out) instead of running later, after the caller gave up.
            options.immediate = true
            options.curve = configuration.curve
            options.reconnectIntervalMs = 100
            options.reconnectIntervalMaxMs = 2000
            dealer = try await loop.makeSocket(.dealer, options: options, connectingTo: [configuration.endpoint])
        } catch {
            throw ScanClientError.transport("cannot connect to \(configuration.endpoint): \(error)")
        }
        let client = ScanClient(configuration: configuration, context: context, loop: loop, dealer: dealer)
        client.startReader()
        return client
    }

    /// Connects to `endpoint` with default timeouts.
    public static func connect(endpoint: String, eventsEndpoint: String? = nil) async throws -> ScanClient {
        try await connect(Configuration(endpoint: endpoint, eventsEndpoint: eventsEndpoint))
    }

    /// Closes the sockets; pending calls fail with ``ScanClientError/closed``. Idempotent.
    public func close() async {
        pending.closeAll(ScanClientError.closed)
        reader.withLock { $0 }?.cancel()
        await loop.shutdown()
        await context.terminate()
    }

    // MARK: Requests

    /// `RUN_SCAN`. Without `wait` the reply (the new session) comes at once; with `wait` it comes
    /// when the session ends and carries the result.
    public func runScan(
        _ request: ScanRequestDocument,
        wait: Bool = false,
        timeout: Duration? = nil
    ) async throws
        -> SessionReply
    {
        try await call(
            .runScan,
            RunScanBody(request: request, wait: wait),
            timeout: timeout ?? (wait ? configuration.waitTimeout : configuration.requestTimeout)
        ).decodeOK(SessionReply.self)
    }

    /// `RUN_SCAN` of a domain request.
    public func runScan(
        _ request: BatchScanRequest,
        wait: Bool = false,
        timeout: Duration? = nil
    ) async throws
        -> SessionReply
    {
        try await runScan(ScanRequestDocument(request), wait: wait, timeout: timeout)
    }

    /// `GET_SESSION`.
    public func session(_ id: String, timeout: Duration? = nil) async throws -> SessionDocument {
        try await call(.getSession, SessionIdBody(sessionId: id), timeout: timeout).decodeOK(SessionReply.self).session
    }

    /// `GET_RESULT`: the result with its matches cut to `[offset, offset + limit)` (all when `limit` is nil).
    public func result(
        _ id: String,
        offset: Int = 0,
        limit: Int? = nil,
        timeout: Duration? = nil
    ) async throws
        -> ResultDocument
    {
        try await call(.getResult, GetResultBody(sessionId: id, offset: offset, limit: limit), timeout: timeout)
            .decodeOK(ResultReply.self).result
    }

    /// `CANCEL`: answered once the session has ended (`cancelled`, or whatever it ended as first).
    public func cancel(_ id: String, timeout: Duration? = nil) async throws -> SessionDocument {
        try await call(.cancel, SessionIdBody(sessionId: id), timeout: timeout).decodeOK(SessionReply.self).session
    }

    /// `LIST_SESSIONS`, newest first.
    public func listSessions(
        status: ScanStatus? = nil,
        limit: Int? = nil,
        timeout: Duration? = nil
    ) async throws
        -> [SessionDocument]
    {
        try await call(.listSessions, ListSessionsBody(status: status?.rawValue, limit: limit), timeout: timeout)
            .decodeOK(SessionListReply.self).sessions
    }

    /// `PING`: version, uptime, live nodes, running sessions.
    public func ping(timeout: Duration? = nil) async throws -> PingReply {
        try await call(.ping, PingBody(), timeout: timeout).decodeOK(PingReply.self)
    }

    /// `LIST_SYMBOLS`: the service's symbols matching `query`, with the markets and sectors it has.
    public func listSymbols(
        _ query: SymbolQuery = SymbolQuery(),
        timeout: Duration? = nil
    ) async throws
        -> SymbolListReply
    {
        try await call(.listSymbols, ListSymbolsBody(query), timeout: timeout).decodeOK(SymbolListReply.self)
    }

    /// The names of `symbols` as the service knows them (unknown symbols are left out), for showing
    /// a result without a local copy of the store.
    public func symbolNames(_ symbols: [String], timeout: Duration? = nil) async throws -> [String: String] {
        guard !symbols.isEmpty else { return [:] }
        let reply = try await listSymbols(SymbolQuery(symbols: Array(Set(symbols))), timeout: timeout)
        return Dictionary(reply.symbols.map { ($0.symbol, $0.name) }) { a, _ in a }
    }

    /// Sends `verb` with `body` and returns the reply (`OK` or `ERROR`) with this request's id.
    public func call<Body: Encodable>(_ verb: Verb, _ body: Body, timeout: Duration? = nil) async throws -> Reply {
        let n = counter.add(1, ordering: .relaxed).newValue
        let id = prefix + String(n)
        let frames: [[UInt8]]
        do {
            frames = try RequestCodec.encode(verb, body, requestId: .string(id))
        } catch {
            throw ScanClientError.badReply("cannot encode the \(verb.rawValue) body: \(error)")
        }
        return try await exchange(
            ZMQMessage(frames),
            id: id,
            verb: verb.rawValue,
            timeout: timeout ?? configuration.requestTimeout
        )
    }

    /// Sends raw frames (after nothing: a DEALER sends the empty delimiter itself, so include it) and
    /// waits for the reply whose `request_id` is `id`. For tests and tools that send odd messages.
    public func exchange(_ message: ZMQMessage, id: String, verb: String, timeout: Duration) async throws -> Reply {
        let dealer = self.dealer
        let pending = self.pending
        let endpoint = configuration.endpoint
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Reply, any Error>) in
            guard pending.register(id, continuation) else { return }
            let sender = Task {
                do {
                    try await dealer.send(message)
                } catch {
                    pending.resume(id, with: .failure(ScanClientError.transport("\(error)")))
                }
            }
            Task {
                try? await Task.sleep(for: timeout)
                sender.cancel()
                pending.resume(
                    id,
                    with: .failure(ScanClientError.timedOut(verb: verb, endpoint: endpoint, after: timeout))
                )
            }
        }
    }

    private func startReader() {
        let dealer = self.dealer
        let pending = self.pending
        let task = Task.detached {
            do {
                for try await message in dealer.messages {
                    let reply: Reply
                    do {
                        reply = try ReplyCodec.decode(message.frames)
                    } catch {
                        continue  // not a reply of this protocol: nothing can wait for it
                    }
                    guard case .string(let id)? = reply.requestId else {
                        pending.resumeOnly(with: reply)
                        continue
                    }
                    pending.resume(id, with: .success(reply))
                }
            } catch {
                pending.closeAll(ScanClientError.transport("\(error)"))
            }
        }
        reader.withLock { $0 = task }
    }

    // MARK: Events

    /// Subscribes to events whose topic starts with `prefix` (`scan.` for all, or
    /// `EventCodec.prefix(sessionId:)` for one session). Waits (up to `connectTimeout`) until the
    /// connection to the events socket is made; the subscription reaches the publisher right
    /// behind it, with no sign of when. Events published before that are not received: read the
    /// state after subscribing (``session(_:timeout:)``) and again on a `seq` gap.
    public func subscribe(
        prefix: String = WireProtocol.eventTopicPrefix,
        connectTimeout: Duration = .seconds(2)
    )
        async throws -> EventSubscription
    {
        try await EventSubscription.open(
            loop: loop,
            endpoint: configuration.eventsEndpoint,
            prefix: prefix,
            curve: configuration.curve,
            connectTimeout: connectTimeout
        )
    }
}

extension Reply {
    /// The `OK` body as `T`; an `ERROR` reply throws ``ScanClientError/service(_:)``.
    func decodeOK<T: Decodable>(_ type: T.Type) throws(ScanClientError) -> T {
        if !isOK { throw .service(error ?? ProtocolError(.badRequest, String(decoding: body, as: UTF8.self))) }
        do {
            return try JSONCoding.decode(T.self, from: body)
        } catch {
            throw .badReply(error.message)
        }
    }
}
