import Testing
import ZeroMQ

@Suite("ZeroMQ socket patterns over tcp and inproc")
struct ZeroMQPatternTests {
    @Test func reqToRouterCarriesRoutingIDAndEnvelope() async throws {
        try await withLoop { _, loop in
            let router = try await loop.makeSocket(.router)
            let endpoint = try await router.bind("tcp://127.0.0.1:*")
            #expect(endpoint.hasPrefix("tcp://127.0.0.1:") && !endpoint.hasSuffix(":*"))

            var options = SocketOptions()
            options.routingId = Array("client-A".utf8)
            let req = try await loop.makeSocket(.req, options: options, connectingTo: [endpoint])
            try await req.send(.text("hello"))

            let request = try await receive(router)
            #expect(request == .text("client-A", "", "hello"))
            try await router.send(.text("client-A", "", "world"))
            #expect(try await receive(req) == .text("world"))
        }
    }

    @Test func dealersToRouterAreRoutedByID() async throws {
        try await withLoop { _, loop in
            let (router, endpoints) = try await loop.makeSocket(.router, binding: ["tcp://127.0.0.1:*"])
            var dealers: [ZMQSocket] = []
            for name in ["node-1", "node-2"] {
                var options = SocketOptions()
                options.routingId = Array(name.utf8)
                dealers.append(try await loop.makeSocket(.dealer, options: options, connectingTo: endpoints))
            }
            try await dealers[0].send(.text("from 1"))
            try await dealers[1].send(.text("from 2"))
            var seen: Set<ZMQMessage> = []
            for _ in 0..<2 { seen.insert(try await receive(router)) }
            #expect(seen == [.text("node-1", "from 1"), .text("node-2", "from 2")])

            try await router.send(.text("node-2", "to 2"))
            try await router.send(.text("node-1", "to 1"))
            #expect(try await receive(dealers[0]) == .text("to 1"))
            #expect(try await receive(dealers[1]) == .text("to 2"))
        }
    }

    @Test func routerMandatoryRejectsUnknownPeer() async throws {
        try await withLoop { _, loop in
            var options = SocketOptions()
            options.routerMandatory = true
            let router = try await loop.makeSocket(.router, options: options)
            try await router.bind("tcp://127.0.0.1:*")
            let error = await #expect(throws: ZMQError.self) {
                try await router.send(.text("nobody", "hello"))
            }
            #expect(error?.errno == ZMQError.hostUnreachable)
            let tryError = await #expect(throws: ZMQError.self) {
                _ = try await router.trySend(.text("nobody", "hello"))
            }
            #expect(tryError?.errno == ZMQError.hostUnreachable)
        }
    }

    @Test func subscriberGetsOnlyItsPrefix() async throws {
        try await withLoop { _, loop in
            let (pub, endpoints) = try await loop.makeSocket(.pub, binding: ["tcp://127.0.0.1:*"])
            var options = SocketOptions()
            options.subscriptions = [Array("scan.".utf8)]
            let sub = try await loop.makeSocket(.sub, options: options, connectingTo: endpoints)

            // A SUB misses what is published before its subscription reaches the PUB: publish a
            // probe until one arrives, then the real sequence.
            let publisher = Task {
                while !Task.isCancelled {
                    try await pub.send(.text("scan.probe"))
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            #expect(try await receive(sub) == .text("scan.probe"))
            publisher.cancel()
            _ = await publisher.result

            for index in 0..<20 {
                try await pub.send(.text("ctl.cancel", "\(index)"))
                try await pub.send(.text("scan.progress", "\(index)"))
                try await pub.send(.text("scanner", "\(index)"))
            }
            try await pub.send(.text("scan.end"))
            var progress: [String] = []
            while true {
                let message = try await receive(sub)
                #expect(message.strings[0].hasPrefix("scan."))
                if message == .text("scan.end") { break }
                if message.strings[0] == "scan.progress" { progress.append(message.strings[1]) }
            }
            #expect(progress == (0..<20).map(String.init))

            try await sub.unsubscribe(Array("scan.".utf8))
            try await sub.subscribe(Array("ctl.".utf8))
        }
    }

    @Test func pushSharesWorkBetweenTwoPulls() async throws {
        try await withLoop { _, loop in
            let push = try await loop.makeSocket(.push)
            let events = try await push.monitor()
            let endpoint = try await push.bind("tcp://127.0.0.1:*")
            let pulls = [
                try await loop.makeSocket(.pull, connectingTo: [endpoint]),
                try await loop.makeSocket(.pull, connectingTo: [endpoint]),
            ]
            // Round-robin is even only once both peers are connected.
            for _ in 0..<2 {
                _ = try await event(in: events) { if case .handshakeSucceeded = $0 { true } else { false } }
            }
            for index in 0..<20 { try await push.send(.text("job", "\(index)")) }
            var perPull = [0, 0]
            var jobs: Set<String> = []
            var received = 0
            while received < 20 {
                for (index, message) in try await receiveAny(pulls) {
                    perPull[index] += 1
                    received += 1
                    jobs.insert(message.strings[1])
                }
            }
            #expect(received == 20)
            #expect(jobs.count == 20)
            #expect(perPull[0] > 0 && perPull[1] > 0)
        }
    }

    @Test func multipartFramesArePreservedExactly() async throws {
        try await withLoop { _, loop in
            let (receiver, endpoints) = try await loop.makeSocket(.pair, binding: ["tcp://127.0.0.1:*"])
            let sender = try await loop.makeSocket(.pair, connectingTo: endpoints)
            // 1 MiB of varied bytes (a multiplicative hash, so no run or period shorter than 256).
            let large = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
            let frames: [[UInt8]] = [[], Array(0...255), [0], large, [], Array("end".utf8)]
            try await sender.send(ZMQMessage(frames))
            try await sender.send(ZMQMessage([[]]))
            let received = try await receive(receiver)
            #expect(received.frames.count == frames.count)
            #expect(received.frames.map(\.count) == frames.map(\.count))
            #expect(received == ZMQMessage(frames))
            #expect(try await receive(receiver) == ZMQMessage([[]]))
        }
    }

    @Test func maxMessageSizeDropsOversizedMessageAndPeerGoesOn() async throws {
        try await withLoop { _, loop in
            var routerOptions = SocketOptions()
            routerOptions.maxMessageSize = 1024
            let (router, endpoints) = try await loop.makeSocket(
                .router,
                options: routerOptions,
                binding: ["tcp://127.0.0.1:*"]
            )
            var dealerOptions = SocketOptions()
            dealerOptions.routingId = Array("peer-1".utf8)
            dealerOptions.reconnectIntervalMs = 20
            let dealer = try await loop.makeSocket(.dealer, options: dealerOptions, connectingTo: endpoints)

            try await dealer.send(ZMQMessage([[UInt8](repeating: 7, count: 4096)]))
            // The router drops the connection; the dealer reconnects. Keep offering small messages
            // until one gets through: the first that does must be small and from the same peer.
            let sender = Task {
                var index = 0
                while !Task.isCancelled {
                    _ = try await dealer.trySend(.text("small", "\(index)"))
                    index += 1
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            defer { sender.cancel() }
            let first = try await receive(router)
            #expect(first.frames.count == 3)
            #expect(first.strings.prefix(2) == ["peer-1", "small"])
            sender.cancel()
            _ = await sender.result
        }
    }

    @Test func oneLoopPollsThreeSockets() async throws {
        try await withLoop { context, loop in
            let senders = try ZMQLoop(context: context, name: "senders")
            let pullEndpoint = inprocEndpoint("pull")
            let routerEndpoint = inprocEndpoint("router")
            let pairEndpoint = inprocEndpoint("pair")
            let pull = try await loop.makeSocket(.pull, binding: [pullEndpoint]).socket
            let router = try await loop.makeSocket(.router, binding: [routerEndpoint]).socket
            let pair = try await loop.makeSocket(.pair, binding: [pairEndpoint]).socket

            let push = try await senders.makeSocket(.push, connectingTo: [pullEndpoint])
            var dealerOptions = SocketOptions()
            dealerOptions.routingId = Array("d".utf8)
            let dealer = try await senders.makeSocket(.dealer, options: dealerOptions, connectingTo: [routerEndpoint])
            let pairPeer = try await senders.makeSocket(.pair, connectingTo: [pairEndpoint])

            for round in 0..<10 {
                try await push.send(.text("push", "\(round)"))
                try await dealer.send(.text("dealer", "\(round)"))
                try await pairPeer.send(.text("pair", "\(round)"))
            }
            for round in 0..<10 {
                async let a = receive(pull)
                async let b = receive(router)
                async let c = receive(pair)
                let (fromPull, fromRouter, fromPair) = try await (a, b, c)
                #expect(fromPull == .text("push", "\(round)"))
                #expect(fromRouter == .text("d", "dealer", "\(round)"))
                #expect(fromPair == .text("pair", "\(round)"))
            }
            await senders.shutdown()
        }
    }

    @Test func curveHandshakeSucceedsWithServerKey() async throws {
        try #require(Curve.isAvailable)
        try await withLoop { _, loop in
            let server = try Curve.keyPair()
            let client = try Curve.keyPair()
            var serverOptions = SocketOptions()
            serverOptions.curve = CurveOptions(isServer: true, publicKey: server.publicKey, secretKey: server.secretKey)
            let router = try await loop.makeSocket(.router, options: serverOptions)
            let events = try await router.monitor()
            let endpoint = try await router.bind("tcp://127.0.0.1:*")

            var clientOptions = SocketOptions()
            clientOptions.routingId = Array("secure".utf8)
            clientOptions.curve = CurveOptions(
                isServer: false,
                publicKey: client.publicKey,
                secretKey: client.secretKey,
                serverKey: server.publicKey
            )
            let dealer = try await loop.makeSocket(.dealer, options: clientOptions, connectingTo: [endpoint])
            try await dealer.send(.text("secret"))
            #expect(try await receive(router) == .text("secure", "secret"))
            let handshake = try await event(in: events) {
                switch $0 {
                case .handshakeSucceeded, .handshakeFailed: true
                default: false
                }
            }
            if case .handshakeSucceeded = handshake {} else { Issue.record("expected success, got \(handshake)") }
        }
    }

    @Test func curveHandshakeFailsWithWrongServerKey() async throws {
        try #require(Curve.isAvailable)
        try await withLoop { _, loop in
            let server = try Curve.keyPair()
            let impostor = try Curve.keyPair()
            let client = try Curve.keyPair()
            var serverOptions = SocketOptions()
            serverOptions.curve = CurveOptions(isServer: true, publicKey: server.publicKey, secretKey: server.secretKey)
            let router = try await loop.makeSocket(.router, options: serverOptions)
            let events = try await router.monitor()
            let endpoint = try await router.bind("tcp://127.0.0.1:*")

            var clientOptions = SocketOptions()
            clientOptions.curve = CurveOptions(
                isServer: false,
                publicKey: client.publicKey,
                secretKey: client.secretKey,
                serverKey: impostor.publicKey
            )
            let dealer = try await loop.makeSocket(.dealer, options: clientOptions, connectingTo: [endpoint])
            _ = try await dealer.trySend(.text("secret"))
            let handshake = try await event(in: events) {
                switch $0 {
                case .handshakeSucceeded, .handshakeFailed: true
                default: false
                }
            }
            if case .handshakeFailed = handshake {} else { Issue.record("expected failure, got \(handshake)") }
        }
    }

    @Test func curveRejectsMalformedKeys() async throws {
        try await withLoop { _, loop in
            var options = SocketOptions()
            options.curve = CurveOptions(isServer: true, publicKey: "", secretKey: "not a key")
            let error = await #expect(throws: ZMQError.self) {
                _ = try await loop.makeSocket(.router, options: options)
            }
            #expect(error?.errno == ZMQError.invalidArgument)
        }
    }

    @Test func badEndpointIsAClearError() async throws {
        try await withLoop { _, loop in
            let socket = try await loop.makeSocket(.pull)
            let error = await #expect(throws: ZMQError.self) { try await socket.bind("nonsense://x") }
            #expect(error?.operation.contains("nonsense://x") == true)
            #expect(error?.message.isEmpty == false)
        }
    }
}
