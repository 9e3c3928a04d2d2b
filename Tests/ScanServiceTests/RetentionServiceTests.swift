import Foundation
import ScanCore
import ScanProtocol
import ScanService
import TestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(2))) struct RetentionServiceTests {
    @Test func theServiceKeepsOnlyTheNewestFinishedSessions() async throws {
        let keepTwo: (inout ScanServiceConfiguration) -> Void = {
            $0.retention = RetentionPolicy(keepSessions: 2)
            $0.retentionIntervalMs = 50
        }
        try await withCluster(nodes: 1, configure: keepTwo) { cluster in
            try await withClient(cluster.endpoints.api) { client in
                var ids: [String] = []
                for _ in 0..<4 {
                    let reply = try await client.request("RUN_SCAN", runScanBody(symbols: ["005930"], wait: true))
                    let body = try reply.decode(SessionReply.self)
                    #expect(body.session.status == "completed")
                    ids.append(body.session.sessionId)
                }
                let newest = Set(ids.suffix(2))
                try await eventually(10, "the two oldest sessions pruned") {
                    let list = try await client.request("LIST_SESSIONS", "{}").decode(SessionListReply.self)
                    return Set(list.sessions.map(\.sessionId)) == newest
                }
                let gone = try await client.request("GET_SESSION", #"{"session_id": "\#(ids[0])"}"#)
                #expect(gone.error?.code == .notFound)
            }
        }
    }
}
