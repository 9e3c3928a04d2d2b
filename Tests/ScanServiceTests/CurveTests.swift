import Foundation
import ScanProtocol
import TestSupport
import Testing
import ZeroMQ

@testable import ScanService

/// CURVE on every socket with a ZAP allow-list: allowed clients and nodes work, others are refused.
@Suite("CURVE security")
struct CurveTests {
    /// A DEALER with CURVE client keys asking PING; `nil` when no reply comes in `seconds`.
    private func ping(
        _ endpoint: String,
        client: CurveCertificate,
        serverKey: String,
        seconds: Double
    ) async throws -> Reply? {
        let loop = try ZMQLoop(context: try ZMQContext(), name: "curve-client")
        defer { Task { await loop.shutdown() } }
        var options = SocketOptions()
        CurveClientSecurity(certificate: client, serverKey: serverKey).apply(to: &options)
        let socket = try await loop.makeSocket(.dealer, options: options)
        try await socket.connect(endpoint)
        _ = try await socket.trySend(ZMQMessage([[], Array("MSCAN/1".utf8), Array("PING".utf8), Array("{}".utf8)]))
        do {
            let message = try await within(seconds, "PING reply") { try await socket.receive() }
            return try message.map { try ReplyCodec.decode($0.frames) }
        } catch is TimedOut {
            return nil
        }
    }

    @Test func allowedClientAndNodeWorkOthersAreRefused() async throws {
        try #require(Curve.isAvailable)
        let server = try CurveCertificate.generate()
        let client = try CurveCertificate.generate()
        let node = try CurveCertificate.generate()
        let stranger = try CurveCertificate.generate()
        let setup: (inout ScanServiceConfiguration) -> Void = {
            $0.curve = CurveServerSecurity(
                certificate: server,
                allowedClientKeys: [client.publicKey],
                allowedNodeKeys: [node.publicKey]
            )
        }
        try await withCluster(nodes: 0, configure: setup) { cluster in
            cluster.addNode(
                name: "secure-node",
                curve: CurveClientSecurity(certificate: node, serverKey: server.publicKey)
            )
            let reply = try #require(
                try await ping(cluster.endpoints.api, client: client, serverKey: server.publicKey, seconds: 10)
            )
            #expect(reply.isOK)
            try await eventually(10, "the CURVE node is live") {
                let r = try await ping(cluster.endpoints.api, client: client, serverKey: server.publicKey, seconds: 5)
                return try r?.decode(PingReply.self).nodes.contains { $0.name == "secure-node" } == true
            }
            // Not on the allow-list: the handshake fails, no request ever reaches the service.
            #expect(
                try await ping(cluster.endpoints.api, client: stranger, serverKey: server.publicKey, seconds: 1) == nil
            )
            // Roles are separate: a node key is no client key…
            #expect(
                try await ping(cluster.endpoints.api, client: node, serverKey: server.publicKey, seconds: 1) == nil
            )
            // …and a client key is no node key: its heartbeats never reach the results socket, while a
            // node key's (sent after each of them) do.
            func pusher(_ cert: CurveCertificate, _ name: String) async throws -> (ZMQLoop, ZMQSocket) {
                let loop = try ZMQLoop(context: try ZMQContext(), name: name)
                var options = SocketOptions()
                options.lingerMs = 0
                CurveClientSecurity(certificate: cert, serverKey: server.publicKey).apply(to: &options)
                return (
                    loop, try await loop.makeSocket(.push, options: options, connectingTo: [cluster.endpoints.results])
                )
            }
            let (impostorLoop, impostor) = try await pusher(client, "impostor")
            let (markerLoop, marker) = try await pusher(node, "marker")
            @Sendable func beat(_ name: String) -> ZMQMessage {
                ZMQMessage([
                    NodeMessage.heartbeat(
                        HeartbeatMessage(nodeName: name, incarnation: 1, threads: 1, chunksDone: 0, inFlight: 0)
                    )
                    .encode()
                ])
            }
            try await eventually(10, "the node key's heartbeat arrives") {
                _ = try? await impostor.trySend(beat("impostor"))
                _ = try? await marker.trySend(beat("marker"))
                let r = try await ping(cluster.endpoints.api, client: client, serverKey: server.publicKey, seconds: 5)
                return try r?.decode(PingReply.self).nodes.contains { $0.name == "marker" } == true
            }
            let names = try #require(
                try await ping(cluster.endpoints.api, client: client, serverKey: server.publicKey, seconds: 5)
            ).decode(PingReply.self).nodes.map(\.name)
            #expect(!names.contains("impostor"))
            await impostorLoop.shutdown()
            await markerLoop.shutdown()
            // Plain TCP against a CURVE server: refused as well.
            let plain = try await within(5, "plain client") { () -> Bool in
                let loop = try ZMQLoop(context: try ZMQContext(), name: "plain")
                defer { Task { await loop.shutdown() } }
                let s = try await loop.makeSocket(.dealer, connectingTo: [cluster.endpoints.api])
                _ = try await s.trySend(ZMQMessage([[], Array("MSCAN/1".utf8), Array("PING".utf8), Array("{}".utf8)]))
                return (try? await within(1, "plain reply") { try await s.receive() }) != nil
            }
            #expect(plain == false)
        }
    }

    @Test func certificatesRoundTripThroughTheirText() throws {
        try #require(Curve.isAvailable)
        let c = try CurveCertificate.generate()
        #expect(try CurveCertificate.parse(c.text(includingSecret: true)) == c)
        #expect(try CurveCertificate.parse(c.text(includingSecret: false)) == CurveCertificate(publicKey: c.publicKey))
        #expect(try CurveCertificate.parse(c.publicKey + "\n") == CurveCertificate(publicKey: c.publicKey))
        #expect(throws: CurveCertificate.FormatError.self) { try CurveCertificate.parse("public-key = \"short\"") }
    }
}
