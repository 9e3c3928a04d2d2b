/// Answers libzmq's ZAP requests (ZeroMQ RFC 27) for one context: a CURVE client whose public key is on
/// the allow-list of the socket's ZAP domain is accepted, every other client is refused.
///
/// libzmq asks the ZAP handler of a context (a REP socket bound at `inproc://zeromq.zap.01`) about every
/// connection to a socket that has a ZAP domain (``SocketOptions/zapDomain``) or is a CURVE server. The
/// authenticator owns that socket on a ``ZMQLoop`` of its own and answers from a task; it never touches
/// another socket. Start it before binding the sockets it protects; ``stop()`` closes it (connections made
/// afterwards are refused by libzmq, since nobody answers).
public final class ZAPAuthenticator: Sendable {
    /// The endpoint libzmq sends ZAP requests to.
    public static let endpoint = "inproc://zeromq.zap.01"

    private let loop: ZMQLoop
    private let socket: ZMQSocket
    private let task: Task<Void, Never>

    /// Starts answering for `context` with one allow-list for every domain.
    ///
    /// - Parameters:
    ///   - allowedClientKeys: CURVE public keys (Z85, 40 characters) of the clients to accept.
    ///   - domains: when not empty, only requests for these ZAP domains can be accepted.
    public convenience init(
        context: ZMQContext,
        allowedClientKeys: Set<String>,
        domains: Set<String> = []
    )
        async throws
    {
        try await self.init(context: context, rules: Rules(keys: allowedClientKeys, domains: domains))
    }

    /// Starts answering for `context`: a request for a domain is accepted only with a key on that
    /// domain's list; a domain not in `allowedKeysByDomain` is refused.
    public convenience init(context: ZMQContext, allowedKeysByDomain: [String: Set<String>]) async throws {
        try await self.init(context: context, rules: Rules(anyDomain: nil, byDomain: allowedKeysByDomain))
    }

    /// Which keys are allowed where.
    struct Rules: Sendable {
        /// Keys allowed whatever the domain (`nil`: only `byDomain` applies).
        var anyDomain: Set<String>?
        var byDomain: [String: Set<String>]

        init(anyDomain: Set<String>?, byDomain: [String: Set<String>]) {
            self.anyDomain = anyDomain
            self.byDomain = byDomain
        }

        /// One list for `domains` (every domain when empty).
        init(keys: Set<String>, domains: Set<String>) {
            self.init(
                anyDomain: domains.isEmpty ? keys : nil,
                byDomain: Dictionary(uniqueKeysWithValues: domains.map { ($0, keys) })
            )
        }

        func allowed(domain: String) -> Set<String>? { anyDomain ?? byDomain[domain] }
    }

    private init(context: ZMQContext, rules: Rules) async throws {
        loop = try ZMQLoop(context: context, name: "zap")
        do {
            socket = try await loop.makeSocket(.rep)
            try await socket.bind(Self.endpoint)
        } catch {
            await loop.shutdown()
            throw error
        }
        let socket = self.socket
        task = Task {
            while let request = try? await socket.receive() {
                let reply = ZAPAuthenticator.answer(request, rules: rules)
                do { try await socket.send(reply) } catch { return }
            }
        }
    }

    /// Stops answering and closes the ZAP socket. Idempotent.
    public func stop() async {
        task.cancel()
        await loop.shutdown()
        await task.value
    }

    /// The reply to one ZAP request: `1.0 | request id | status | text | user id | metadata`.
    /// The user id of an accepted client is its public key (Z85).
    static func answer(_ request: ZMQMessage, allowedClientKeys: Set<String>, domains: Set<String>) -> ZMQMessage {
        answer(request, rules: Rules(keys: allowedClientKeys, domains: domains))
    }

    static func answer(_ request: ZMQMessage, rules: Rules) -> ZMQMessage {
        let f = request.frames
        // version, request id, domain, address, routing id, mechanism, credentials…
        guard f.count >= 6, f[0] == Array("1.0".utf8) else {
            return ZMQMessage([
                Array("1.0".utf8), f.count > 1 ? f[1] : [], Array("500".utf8),
                Array("malformed ZAP request".utf8), [], [],
            ])
        }
        func reply(_ code: String, _ text: String, user: String = "") -> ZMQMessage {
            ZMQMessage([Array("1.0".utf8), f[1], Array(code.utf8), Array(text.utf8), Array(user.utf8), []])
        }
        let domain = String(decoding: f[2], as: UTF8.self)
        guard let allowedClientKeys = rules.allowed(domain: domain) else {
            return reply("400", "domain '\(domain)' is not served")
        }
        guard String(decoding: f[5], as: UTF8.self) == "CURVE" else {
            return reply("400", "only CURVE clients are accepted")
        }
        guard f.count >= 7, f[6].count == 32, let key = Z85.encode(f[6]) else {
            return reply("400", "malformed CURVE credentials")
        }
        guard allowedClientKeys.contains(key) else { return reply("400", "client key not on the allow-list") }
        return reply("200", "OK", user: key)
    }
}
