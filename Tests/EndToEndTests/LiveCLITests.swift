import Foundation
import ScanProtocol
import TestSupport
import Testing

extension EndToEndTests {
    /// Issue 14 "done when": a watch started with `scan live start`, the real minute sample played by
    /// `scan feed replay`, and `scan live follow` printing the entries and exits as they happen.
    @Test(.timeLimit(.minutes(3)))
    func liveWatchFollowedWhileTheSampleDayIsReplayed() async throws {
        let cluster = try Cluster(store: try await Fixtures.shared.sample())
        defer { cluster.stop() }
        var sample = Repo.root.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: sample.appendingPathComponent("shared/data").path),
            sample.path != "/"
        {
            sample.deleteLastPathComponent()
        }
        let bars = sample.appendingPathComponent("shared/data/intraday_1m/bars.csv").path
        let symbols = cluster.processes.directory.appendingPathComponent("etf.csv")
        try "symbol,name,market,sector,market_cap\nDBB,,NYSEARCA,,\nFXY,,NYSEARCA,,\nINDA,,NYSEARCA,,\n".write(
            to: symbols,
            atomically: true,
            encoding: .utf8
        )
        let imported = try await cluster.scan(["data", "import-symbols", symbols.path, "--db", cluster.db])
        #expect(imported.status == 0, "\(imported.stderr)")

        let client = try await RawClient.connect(cluster.api)
        try await cluster.startService(client: client)
        let api = ["--endpoint", cluster.api]
        // The days before 2025-06-17 as history, as fast as the service takes them.
        let history = try await cluster.scan(
            ["feed", "replay", bars, "--to", "2025-06-16", "--speed", "0", "--quiet"] + api
        )
        #expect(history.status == 0, "\(history.stderr)")
        _ = try await eventually(60, "the history stored", interval: .milliseconds(100)) {
            let ping = try await client.request("PING")
            return ping.body.object("feed")?.int("bars_final") == 3706 ? true : nil
        }

        let formula = "signal above = close > sma(close, 5) and rsi(close, 14) > 50\ncolumn rsi14 = rsi(close, 14)"
        let started = try await cluster.scan(
            [
                "live", "start", "--timeframe", "1m", "--market", "NYSEARCA", "--formula", formula, "--name", "live",
                "--format", "json",
            ]
                + api
        )
        #expect(started.status == 0, "\(started.stderr)")
        let watch = try JSONSerialization.jsonObject(with: Data(started.stdout.utf8)) as? [String: Any]
        let id = try #require(watch?["watch_id"] as? String)
        #expect(watch?["symbols"] as? Int == 3)

        let follow = try cluster.processes.start("follow", "scan", ["live", "follow", id, "--count", "6"] + api)
        // The example dashboard follows the watch too (live.<id>.).
        let dashboard = try cluster.processes.start(
            "dashboard",
            "/usr/bin/env",
            [
                "python3", Repo.root.appendingPathComponent("protocol/examples/dashboard.py").path, "--events",
                cluster.events, "--endpoint", cluster.api, "--watch", id, "--count", "3", "--timeout", "60", "--json",
            ]
        )
        // `follow` prints the current set first; then the day is played.
        _ = try await eventually(20, "follow to print the set", interval: .milliseconds(50)) {
            guard follow.isRunning else { throw SetupError("scan live follow exited: \(follow.stderr)") }
            return follow.stdout.contains("SIGNAL") || follow.stdout.contains("no symbol matches") ? true : nil
        }
        let day = try await cluster.scan(
            ["feed", "replay", bars, "--from", "2025-06-17", "--to", "2025-06-17", "--speed", "6000", "--quiet"] + api
        )
        #expect(day.status == 0, "\(day.stderr)")
        #expect(try await follow.exitStatus(within: 60) == 0, "\(follow.stderr)")
        let lines = follow.stdout.split(separator: "\n").filter { $0.hasPrefix("+ ") || $0.hasPrefix("- ") }
        #expect(lines.count == 6, "\(follow.stdout)")
        #expect(lines.allSatisfy { $0.contains(" above 2025-06-1") && $0.contains("[seq ") })

        #expect(try await dashboard.exitStatus(within: 60) == 0, "\(dashboard.stderr)")
        let seen = dashboard.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(seen.count == 3, "\(dashboard.stdout)")
        #expect(seen.allSatisfy { ($0["topic"] as? String)?.hasPrefix("live.\(id).") == true })

        let shown = try await cluster.scan(["live", "show", id, "--format", "json"] + api)
        let seq = (try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])?["seq"] as? Int
        #expect((seq ?? 0) >= 6)
        let listed = try await cluster.scan(["live", "list"] + api)
        #expect(listed.status == 0 && listed.stdout.contains(id))
        let typo = try await cluster.scan(
            ["live", "start", "--formula", "smaa(close, 5) > 1", "--timeframe", "1m"] + api
        )
        #expect(typo.status == 65 && typo.stderr.contains("did you mean 'sma'"))
        let stopped = try await cluster.scan(["live", "stop", id] + api)
        #expect(stopped.status == 0 && stopped.stdout.contains("stopped"))
        #expect(try await cluster.scan(["live", "list"] + api).stdout.contains("no watches"))
        await client.close()
    }
}
