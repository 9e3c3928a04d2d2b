import Testing

@testable import ZeroMQ

@Suite("ZAP allow-list")
struct ZAPAuthenticatorTests {
    /// A CURVE ROUTER behind the authenticator, and a client with the given key pair.
    private func handshake(allowed: Bool) async throws -> ZMQSocketEvent {
        try await withLoop { context, loop in
            let server = try Curve.keyPair()
            let client = try Curve.keyPair()
            let other = try Curve.keyPair()
            let auth = try await ZAPAuthenticator(
                context: context,
                allowedClientKeys: [allowed ? client.publicKey : other.publicKey]
            )
            defer { Task { await auth.stop() } }

            var serverOptions = SocketOptions()
            serverOptions.curve = CurveOptions(isServer: true, publicKey: server.publicKey, secretKey: server.secretKey)
            serverOptions.zapDomain = "marketscan"
            let router = try await loop.makeSocket(.router, options: serverOptions)
            let events = try await router.monitor()
            let endpoint = try await router.bind("tcp://127.0.0.1:*")

            var clientOptions = SocketOptions()
            clientOptions.routingId = Array("c".utf8)
            clientOptions.curve = CurveOptions(
                isServer: false,
                publicKey: client.publicKey,
                secretKey: client.secretKey,
                serverKey: server.publicKey
            )
            let dealer = try await loop.makeSocket(.dealer, options: clientOptions, connectingTo: [endpoint])
            _ = try await dealer.trySend(.text("hello"))
            let outcome = try await event(in: events) {
                switch $0 {
                case .handshakeSucceeded, .handshakeFailed: true
                default: false
                }
            }
            if case .handshakeSucceeded = outcome {
                #expect(try await receive(router) == .text("c", "hello"))
            }
            await auth.stop()
            return outcome
        }
    }

    @Test func clientOnTheAllowListIsAccepted() async throws {
        try #require(Curve.isAvailable)
        let outcome = try await handshake(allowed: true)
        if case .handshakeSucceeded = outcome {} else { Issue.record("expected success, got \(outcome)") }
    }

    @Test func clientNotOnTheAllowListIsRefused() async throws {
        try #require(Curve.isAvailable)
        let outcome = try await handshake(allowed: false)
        if case .handshakeFailed = outcome {} else { Issue.record("expected failure, got \(outcome)") }
    }

    @Test func malformedRequestsGetAnErrorReply() {
        let reply = ZAPAuthenticator.answer(.text("2.0", "id"), allowedClientKeys: [], domains: [])
        #expect(reply.frames[2] == Array("500".utf8))
        let plain = ZAPAuthenticator.answer(
            .text("1.0", "7", "d", "127.0.0.1", "", "PLAIN", "u", "p"),
            allowedClientKeys: [],
            domains: []
        )
        #expect(plain.frames[1] == Array("7".utf8))
        #expect(plain.frames[2] == Array("400".utf8))
    }
}

@Suite("REQ/REP state machine")
struct RequestReplyTests {
    /// A REP socket may receive only after it replied: the loop's batch read must stop at EFSM instead
    /// of failing the socket, so several requests can queue up while a reply is pending.
    @Test func repAnswersQueuedRequestsInTurn() async throws {
        try await withLoop { _, loop in
            let rep = try await loop.makeSocket(.rep)
            let endpoint = try await rep.bind("tcp://127.0.0.1:*")
            var clients: [ZMQSocket] = []
            for _ in 0..<3 { clients.append(try await loop.makeSocket(.req, connectingTo: [endpoint])) }
            for (i, client) in clients.enumerated() { try await client.send(.text("q\(i)")) }
            var seen: Set<String> = []
            for _ in 0..<3 {
                let request = try await receive(rep)
                let text = request.strings.first ?? ""
                seen.insert(text)
                try await rep.send(.text("a" + text.dropFirst()))
            }
            #expect(seen == ["q0", "q1", "q2"])
            for (i, client) in clients.enumerated() { #expect(try await receive(client) == .text("a\(i)")) }
        }
    }
}
