import ScanClient
import ScanCore
import ScanProtocol
import Synchronization
import TestSupport
import Testing

/// `ScanClient`'s session following and service watch against a service and nodes in this process.
@Suite("ScanClient following", .timeLimit(.minutes(2)))
struct ScanClientTests {
    static let request = BatchScanRequest(
        symbolCriteria: SymbolCriteria(),
        timeframe: .daily,
        dateRange: DateRange(from: CalendarDay("2021-01-04")!, to: CalendarDay("2022-09-19")!),
        formula: Formula(name: "f1", source: f1),
        parameters: [:],
        mode: .range
    )

    static func withScanClient(_ cluster: Cluster, _ body: (ScanClient) async throws -> Void) async throws {
        let client = try await ScanClient.connect(
            ScanClient.Configuration(endpoint: cluster.endpoints.api, eventsEndpoint: cluster.endpoints.events)
        )
        do {
            try await body(client)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }

    /// Every state of `session` until it ends.
    static func states(of session: SessionFollow, within seconds: Double = 30) async throws -> [SessionDocument] {
        try await within(seconds, "the session to end") {
            var all: [SessionDocument] = []
            for try await state in session.states { all.append(state) }
            return all
        }
    }

    @Test func startFollowsTheSessionToItsEndAndItsResultIsTheLocalOne() async throws {
        try await withCluster(nodes: 2) { cluster in
            try await Self.withScanClient(cluster) { client in
                let session = try await client.start(Self.request)
                #expect(session.initial.sessionId == session.id)
                let states = try await Self.states(of: session)
                await session.close()

                let last = try #require(states.last)
                #expect(last.status == "completed")
                #expect(last.progress.completed == 48)
                #expect(last.progress.total == 48)
                #expect(
                    states.dropLast().allSatisfy { $0.scanStatus?.isFinal == false },
                    "only the last state is final"
                )
                let completed = states.map(\.progress.completed)
                #expect(completed == completed.sorted(), "progress never goes back")

                let result = try await session.result()
                let local = ResultDocument(try await localResult(Self.request), status: .completed)
                #expect(result.status == "completed")
                #expect(result.signals == local.signals)
                #expect(result.statistics == local.statistics)
                #expect(last.progress.matchesSoFar == result.signals.totalMatches)
            }
        }
    }

    @Test func cancelEndsTheSessionCancelledWithItsPartialResult() async throws {
        // No nodes: the session stays running until it is cancelled.
        try await withCluster(nodes: 0) { cluster in
            try await Self.withScanClient(cluster) { client in
                let session = try await client.start(Self.request)
                session.cancel()
                session.cancel()  // a second request sends nothing more
                let states = try await Self.states(of: session)
                await session.close()
                #expect(states.last?.status == "cancelled")
                let result = try await session.result()
                #expect(result.status == "cancelled")
                #expect(result.signals.totalSymbols == 0)
            }
        }
    }

    @Test func followingAFinishedSessionYieldsItsFinalStateOnly() async throws {
        try await withCluster(nodes: 1) { cluster in
            try await Self.withScanClient(cluster) { client in
                var one = Self.request
                one.symbolCriteria = SymbolCriteria(symbols: ["005930"])
                let done = try await client.runScan(one, wait: true)
                let session = try await client.follow(done.session.sessionId)
                let states = try await Self.states(of: session)
                await session.close()
                #expect(states.map(\.status) == ["completed"])
                #expect(states.first?.sessionId == done.session.sessionId)
            }
        }
    }

    @Test func followingAnUnknownSessionThrowsNotFound() async throws {
        try await withCluster(nodes: 0) { cluster in
            try await Self.withScanClient(cluster) { client in
                await #expect(throws: ScanClientError.self) { _ = try await client.follow("no-such-session") }
                do {
                    _ = try await client.follow("no-such-session")
                } catch let error as ScanClientError {
                    #expect(error.code == .notFound)
                }
            }
        }
    }

    @Test func watchServiceShowsTheScansOfOtherClients() async throws {
        try await withCluster(nodes: 1) { cluster in
            try await Self.withScanClient(cluster) { client in
                let watch = try await client.watchService(refreshInterval: .milliseconds(20))
                let statuses = Mutex<[String: String]>([:])
                let events = Mutex(0)
                let consumer = Task {
                    for await update in watch.updates {
                        switch update {
                        case .event: events.withLock { $0 += 1 }
                        case .state(let state):
                            statuses.withLock { for s in state.sessions { $0[s.sessionId] = s.status } }
                        }
                    }
                }
                var single = Self.request
                single.symbolCriteria = SymbolCriteria(symbols: ["005930"])
                let one = single
                let started = Mutex<[String]>([])
                // Scans run (by this client, as another would) until one shows up finished in the
                // watch state: the first ones may run before the subscription is live.
                try await eventually(30, "a finished scan in the watch state", interval: .milliseconds(50)) {
                    let known = statuses.withLock { $0 }
                    if started.withLock({ $0 }).contains(where: { known[$0] == "completed" }) { return true }
                    let id = try await client.runScan(one, wait: true).session.sessionId
                    started.withLock { $0.append(id) }
                    return false
                }
                let eventCount = events.withLock { $0 }
                #expect(eventCount > 0)
                watch.finish()
                try await within(10, "the updates to end") { await consumer.value }
                await watch.close()
            }
        }
    }

    @Test func aTrackerNoticesASeqGap() throws {
        let start = SessionDocument(
            sessionId: "s",
            status: "pending",
            progress: ProgressDocument(completed: 0, total: 0, matchesSoFar: 0),
            request: ScanRequestDocument(formula: FormulaDocument(name: "f", source: "close > 1")),
            createdAt: "2025-01-01T00:00:00Z"
        )
        func event(_ seq: Int, _ status: String, _ completed: Int) -> EventDocument {
            EventDocument(
                sessionId: "s",
                event: .progress,
                status: status,
                completed: completed,
                total: 10,
                matchesSoFar: completed * 2,
                seq: seq
            )
        }
        var tracker = SessionTracker(start)
        let first = tracker.apply(event(1, "running", 0))
        let second = tracker.apply(event(2, "running", 4))
        let afterGap = tracker.apply(event(4, "running", 8))
        #expect(first && second)
        #expect(!afterGap, "seq 3 was missed")
        #expect(tracker.session.progress == ProgressDocument(completed: 8, total: 10, matchesSoFar: 16))
        #expect(tracker.session.request.formula.name == "f", "events keep what only the session holds")
        #expect(!tracker.isFinal)
        // An older event delivered late is not applied (and asks for a re-read).
        var late = tracker
        let lateFollowed = late.apply(event(3, "running", 6))
        #expect(!lateFollowed)
        #expect(late.session.progress.completed == 8)
        let nextFollowed = late.apply(event(4, "running", 9))
        #expect(nextFollowed, "the next event follows on from it")
        // A read answered before events 4 arrived is older than them: progress does not go back.
        var stale = start
        stale.status = "running"
        stale.progress = ProgressDocument(completed: 4, total: 10, matchesSoFar: 8)
        tracker.replace(with: stale)
        #expect(tracker.session.progress == ProgressDocument(completed: 8, total: 10, matchesSoFar: 16))
        // A read that is ahead is taken, and the events still on their way behind it do not take it back.
        var ahead = stale
        ahead.progress = ProgressDocument(completed: 9, total: 10, matchesSoFar: 17)
        tracker.replace(with: ahead)
        #expect(tracker.session.progress.completed == 9)
        tracker.apply(event(5, "running", 8))
        #expect(tracker.session.progress.completed == 9)
        tracker.apply(event(6, "running", 9))
        #expect(tracker.session.progress.completed == 9)
        let last = tracker.apply(event(7, "completed", 10))
        #expect(last)
        #expect(tracker.isFinal)
        // The events ended it: a stale read of it running does not bring it back.
        tracker.replace(with: ahead)
        #expect(tracker.isFinal && tracker.session.progress.completed == 10)
        // A read of another total (the job ran again whole after an import) is taken as it is.
        var rerun = tracker
        var restarted = stale
        restarted.status = "running"
        restarted.progress = ProgressDocument(completed: 1, total: 12, matchesSoFar: 0)
        rerun.replace(with: restarted)
        #expect(rerun.isFinal, "still ended by the events")
        var running = SessionTracker(ahead)
        running.replace(with: restarted)
        #expect(running.session.progress.total == 12 && running.session.progress.completed == 1)
    }
}
