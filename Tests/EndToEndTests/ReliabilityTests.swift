import Foundation
import ScanProtocol
import Testing

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

extension EndToEndTests {
    /// A node hung (SIGSTOP) and then killed (SIGKILL) mid-scan: its leased chunks go to another
    /// node and the session completes with the full result. That other node joined mid-scan and got
    /// work (while the first was frozen nothing else could do it, so this does not depend on timing).
    @Test(.timeLimit(.minutes(2)))
    func aNodeKilledMidScanLosesNoWorkAndANodeJoiningMidScanGetsWork() async throws {
        let cluster = try Cluster(store: try await Fixtures.shared.large())
        defer { cluster.stop() }
        let reference = try ResultDocument.decode(
            try await cluster.localResult(["--formula", Self.f1, "--name", "f1"] + Self.largeRange)
        )
        let client = try await RawClient.connect(cluster.api)
        do {
            // A short lease (still above the nodes' 1 s heartbeat, which extends the leases of held chunks).
            try await cluster.startService(["--lease-ms", "3000"], client: client)
            let first = try await cluster.startNode("node-a", threads: 2, paceMs: 2, client: client)
            let id = try await client.startScan(Self.runScanBody(range: Self.largeRange))
            _ = try await client.waitForMidScan(id)
            first.signal(SIGSTOP)
            #expect(try await client.session(id).string("status") == "running", "node-a was frozen mid-scan")

            let joined = try await cluster.startNode("node-b", threads: 2, client: client)
            _ = try await eventually(30, "node-b to finish a chunk of the running scan", interval: .milliseconds(20)) {
                (try await client.nodes()["node-b"] ?? 0) > 0 ? true : nil
            }
            first.kill()

            let final = try await client.waitForEnd(id, within: 60)
            #expect(final.string("status") == "completed")
            Self.expectSameResult(try await client.result(id), reference)
            #expect(joined.isRunning)
        } catch {
            await client.close()
            Issue.record("logs:\n\(cluster.processes.logs)")
            throw error
        }
        await client.close()
    }

    /// Issue 16 defect 3: of two nodes, the one that connected first is stopped (SIGSTOP) for the whole
    /// scan. Its connection stays open, yet the chunks PUSH hands it come back (ZMTP heartbeats close
    /// its pipe; its leases expire without counting as attempts) and the healthy node runs them: the
    /// full, identical result, no symbol reported as an error.
    @Test(.timeLimit(.minutes(2)))
    func aNodeStoppedForTheWholeScanLosesNoSymbol() async throws {
        let cluster = try Cluster(store: try await Fixtures.shared.sample())
        defer { cluster.stop() }
        let range = ["--from", "2021-01-04", "--to", "2022-09-19"]
        let reference = try ResultDocument.decode(
            try await cluster.localResult(["--formula", Self.f1, "--name", "f1"] + range)
        )
        let client = try await RawClient.connect(cluster.api)
        do {
            try await cluster.startService(["--lease-ms", "3000"], client: client)
            let stopped = try await cluster.startNode("node-stopped", threads: 2, client: client)
            try await cluster.startNode("node-healthy", threads: 2, paceMs: 20, client: client)
            stopped.signal(SIGSTOP)
            let id = try await client.startScan(Self.runScanBody(range: range))
            let final = try await client.waitForEnd(id, within: 90)
            #expect(final.string("status") == "completed")
            Self.expectSameResult(try await client.result(id), reference)
            stopped.signal(SIGCONT)
        } catch {
            await client.close()
            Issue.record("logs:\n\(cluster.processes.logs)")
            throw error
        }
        await client.close()
    }

    /// The service killed with SIGKILL mid-scan and started again: the session resumes (only its
    /// missing chunks) and completes with the full result.
    @Test(.timeLimit(.minutes(2)))
    func aServiceKilledMidScanResumesTheSessionAfterARestart() async throws {
        let cluster = try Cluster(store: try await Fixtures.shared.large())
        defer { cluster.stop() }
        let reference = try ResultDocument.decode(
            try await cluster.localResult(["--formula", Self.f1, "--name", "f1"] + Self.largeRange)
        )
        let client = try await RawClient.connect(cluster.api)
        do {
            let service = try await cluster.startService(client: client)
            let node = try await cluster.startNode("node-a", threads: 2, paceMs: 2, client: client)
            let id = try await client.startScan(Self.runScanBody(range: Self.largeRange))
            let before = try await client.waitForMidScan(id)
            node.signal(SIGSTOP)  // so the scan is surely unfinished when the service dies
            service.kill()
            #expect(!service.isRunning)

            try await cluster.startService(client: client)
            #expect(try await client.session(id).string("status") == "running", "resumed, not finished")
            node.signal(SIGCONT)
            let final = try await client.waitForEnd(id, within: 60)
            #expect(final.string("status") == "completed", "\(final.text)")
            #expect(final.string("created_at") == before.string("created_at"))
            Self.expectSameResult(try await client.result(id), reference)
        } catch {
            await client.close()
            Issue.record("logs:\n\(cluster.processes.logs)")
            throw error
        }
        await client.close()
    }

    /// CANCEL mid-scan (`scan sessions cancel`, and Ctrl-C on `scan run --endpoint`) ends the
    /// session `cancelled` with a partial result that is a subset of the full one.
    @Test(.timeLimit(.minutes(2)))
    func cancelMidScanKeepsAPartialResultThatIsASubsetOfTheFullOne() async throws {
        let cluster = try Cluster(store: try await Fixtures.shared.large())
        defer { cluster.stop() }
        let reference = try ResultDocument.decode(
            try await cluster.localResult(["--formula", Self.f1, "--name", "f1"] + Self.largeRange)
        )
        let client = try await RawClient.connect(cluster.api)
        do {
            try await cluster.startService(client: client)
            let first = try await cluster.startNode("node-a", threads: 2, paceMs: 2, client: client)
            let id = try await client.startScan(Self.runScanBody(range: Self.largeRange))
            _ = try await client.waitForMidScan(id)
            first.signal(SIGSTOP)  // the scan cannot finish before the cancel arrives
            let cancel = try await cluster.scan(["sessions", "cancel", id, "--endpoint", cluster.api])
            #expect(cancel.status == 0, "\(cancel.stderr)")
            #expect(cancel.stdout.contains("cancelled"))
            #expect(try await client.session(id).string("status") == "cancelled")
            let partial = try await client.result(id)
            #expect(partial.status == "cancelled")
            #expect(partial.signals.totalSymbols < reference.signals.totalSymbols)
            Self.expectSubset(partial, of: reference)
            let cli = try await cluster.scan(["sessions", "results", id, "--endpoint", cluster.api, "--format", "json"])
            #expect(cli.status == 0)
            #expect(try ResultDocument.decode(Data(cli.stdout.utf8)).signals == partial.signals)

            // Ctrl-C on `scan run --endpoint`: CANCEL, the partial result printed, exit 130.
            first.kill()
            let second = try await cluster.startNode("node-b", threads: 2, paceMs: 2, client: client)
            let run = try cluster.processes.start(
                "scan-run-interrupted",
                "scan",
                ["run", "--endpoint", cluster.api, "--formula", Self.f1, "--name", "f1", "--format", "json"]
                    + Self.largeRange
            )
            let running = try await eventually(30, "the scan of `scan run` to be part-way", interval: .milliseconds(10))
            {
                let list = try await client.request("LIST_SESSIONS", json: ["status": "running", "limit": 1])
                guard let sessions = list.body["sessions"] as? [[String: Any]], let s = sessions.first,
                    let p = s["progress"] as? [String: Any], (p["completed"] as? Int ?? 0) > 0,
                    let sid = s["session_id"] as? String
                else { return nil as String? }
                return sid
            }
            second.signal(SIGSTOP)
            run.signal(SIGINT)
            #expect(try await run.exitStatus(within: 30) == 130, "\(run.stderr)")
            let printed = try ResultDocument.decode(Data(run.stdout.utf8))
            #expect(printed.status == "cancelled")
            #expect(printed.sessionId == running)
            Self.expectSubset(printed, of: reference)
            #expect(try await client.session(running).string("status") == "cancelled")
        } catch {
            await client.close()
            Issue.record("logs:\n\(cluster.processes.logs)")
            throw error
        }
        await client.close()
    }
}
