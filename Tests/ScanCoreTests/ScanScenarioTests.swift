import FormulaEngine
import Foundation
import MarketData
import ScanCore
import SessionStore
import Synchronization
import Testing

/// One test per scenario of the product's specs (DESIGN §2), on the real store holding the bundled
/// sample (built once per process, see ``SampleStore``), the real ``InProcessEngine`` and real
/// formulas. Expected match counts and dates come from the pandas + TA-Lib peer on the same CSV.
/// Fakes appear only where a failure is injected (``FailingEngine``, ``InstrumentedStore``).
@Suite("Scan scenarios", .timeLimit(.minutes(1)))
struct ScanScenarioTests {
    @Test func explicitSymbols() async throws {
        let store = InstrumentedStore(try SampleStore.store())
        let result = try await store.scan().execute(request(SymbolCriteria(symbols: ["005930", "000660"])))
        #expect(result.signals.totalSymbols == 2)
        #expect(result.errors.isEmpty)
        #expect(Set(store.loaded) == ["005930", "000660"])
        #expect(store.loaded.count == 2)
        // pandas + TA-Lib on Resources/bars.csv: F1 fires on exactly these four sessions in 2020 … 2022-09-19.
        let got = result.signals.matches.map { "\($0.symbol) \($0.timestamp) \($0.signal) \($0.close)" }
        #expect(
            got == [
                "000660 2020-06-03 f1 88700.0", "000660 2020-07-30 f1 85300.0",
                "005930 2021-06-03 f1 82800.0", "005930 2021-08-04 f1 82900.0",
            ]
        )
        #expect(result.signals.symbolsWithMatches == 2)
    }

    @Test func marketKOSPI() async throws {
        let store = InstrumentedStore(try SampleStore.store())
        let result = try await store.scan().execute(request(SymbolCriteria(markets: ["KOSPI"])))
        #expect(result.signals.totalSymbols == SampleUniverse.kospi.count)
        #expect(store.loaded.sorted() == SampleUniverse.kospi)
        #expect(result.errors.isEmpty)
        #expect(result.signals.totalMatches > 0)
        #expect(result.signals.matches.allSatisfy { SampleUniverse.kospi.contains($0.symbol) })
        // The market filter is case-insensitive.
        let lower = try await SampleStore.store().resolve(SymbolCriteria(markets: ["kospi"]))
        #expect(lower.symbols.map(\.symbol) == SampleUniverse.kospi)
    }

    @Test func marketSectorAndMarketCapFiltersWithExclusions() async throws {
        let store = InstrumentedStore(try SampleStore.store())
        let criteria = SymbolCriteria(
            markets: ["KOSPI"],
            sectors: ["반도체 제조업", "기타 금융업", "전자부품 제조업", "통신 및 방송 장비 제조업", "의약품 제조업"],
            minMarketCap: 1_500_000_000_000,
            maxMarketCap: 100_000_000_000_000,
            exclude: ["105560"]
        )
        let result = try await store.scan().execute(request(criteria))
        // From symbols.csv: in those sectors, 000660 (96.8T), 000990 (3.2T), 034220 (6.9T) and 086790 (15.7T)
        // qualify. 105560 (27.1T) is excluded; 237690 is KOSDAQ; 005930 (447.7T) is above the maximum;
        // 000150, 005500, 033240, 078600 are below the minimum.
        #expect(store.loaded.sorted() == ["000660", "000990", "034220", "086790"])
        #expect(result.signals.totalSymbols == 4)
        #expect(Set(result.signals.matches.map(\.symbol)).isSubset(of: ["000660", "000990", "034220", "086790"]))
        // The peer: 000660 fires twice and 000990 six times in this range.
        #expect(result.statistics.bySymbol["000660"] == 2)
        #expect(result.statistics.bySymbol["000990"] == 6)
    }

    @Test func emptyUniverseCompletesWithZeroSymbols() async throws {
        let store = InstrumentedStore(try SampleStore.store())
        let sessions = try SessionStore.inMemory()
        let log = ProgressLog()
        let session = try await RunScanUseCase(scan: store.scan(), sessions: sessions).execute(
            request(SymbolCriteria(markets: ["NASDAQ"])),
            observer: ScanSessionObserver(progress: { log.record($1) })
        )
        #expect(session.status == .completed)
        #expect(session.error == nil)
        #expect(session.result?.signals.totalSymbols == 0)
        #expect(session.result?.signals.matches.isEmpty == true)
        #expect(session.result?.errors.isEmpty == true)
        #expect(store.loaded.isEmpty)
        #expect(log.all == [ScanProgress(completed: 0, total: 0, matchesSoFar: 0)])
        #expect(try await sessions.session(id: session.id)?.status == .completed)
    }

    @Test func progressCallbackSeesEverySymbolOnceAndEndsAtTotal() async throws {
        let store = InstrumentedStore(try SampleStore.store())
        let log = ProgressLog()
        let result = try await store.scan(threads: 3, chunkSize: 5).execute(request(.all), progress: { log.record($0) })
        let reports = log.all
        let total = SampleUniverse.all.count
        #expect(reports.map(\.completed) == Array(1...total))
        #expect(reports.allSatisfy { $0.total == total })
        #expect(store.loaded.sorted() == SampleUniverse.all)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.matchesSoFar <= $1.matchesSoFar })
        #expect(reports.last?.matchesSoFar == result.signals.totalMatches)
        #expect(result.signals.totalMatches == 233)  // the peer's F1 count on the sample in this range
    }

    @Test func cancellationGivesPartialResultsAndStatusCancelled() async throws {
        let token = CancellationToken()
        let count = Mutex(0)
        let store = InstrumentedStore(
            try SampleStore.store(),
            onLoad: { _ in
                // Cancel while the third symbol is being loaded: it finishes, nothing after it starts.
                if count.withLock({
                    $0 += 1
                    return $0
                }) == 3 {
                    token.cancel()
                }
            }
        )
        let sessions = try SessionStore.inMemory()
        let session = try await RunScanUseCase(scan: store.scan(threads: 1, chunkSize: 2), sessions: sessions)
            .execute(request(.all, source: crossSource, name: "cross"), cancellation: token)
        #expect(session.status == .cancelled)
        let result = try #require(session.result)
        #expect(result.cancelled)
        #expect(result.signals.totalSymbols == 3)
        #expect(store.loaded == Array(SampleUniverse.all.prefix(3)))
        // The finished part is real: 000080, 000150 and 000660 all have crossunders in range.
        #expect(Set(result.signals.matches.map(\.symbol)) == Set(SampleUniverse.all.prefix(3)))
        let stored = try #require(try await sessions.session(id: session.id))
        #expect(stored.status == .cancelled)
        #expect(stored.result?.signals.totalSymbols == 3)
        #expect(stored.result?.signals.matches.count == result.signals.matches.count)
    }

    @Test func engineFailureMarksSessionFailedWithTheMessage() async throws {
        let store = try SampleStore.store()
        let sessions = try SessionStore.inMemory()
        let scan = BatchScanUseCase(
            symbols: store,
            bars: store,
            engine: FailingEngine(message: "all engine nodes are gone")
        )
        let session = try await RunScanUseCase(scan: scan, sessions: sessions).execute(request(.all))
        #expect(session.status == .failed)
        #expect(session.error == "all engine nodes are gone")
        #expect(session.result == nil)
        let stored = try #require(try await sessions.session(id: session.id))
        #expect(stored.status == .failed)
        #expect(stored.error == "all engine nodes are gone")
    }

    @Test func sessionPersistedAtEachTransition() async throws {
        let dir = try TempDir()
        let readBack = try ReadBackRepository(path: dir.path("sessions.sqlite"))
        let session = try await RunScanUseCase(scan: realScan(try SampleStore.store()), sessions: readBack)
            .execute(
                request(SymbolCriteria(markets: ["KOSDAQ"]), source: crossSource, name: "cross"),
                sessionId: "session-1"
            )
        #expect(session.id == "session-1")
        let seen = readBack.seen.withLock { $0 }
        #expect(seen.map(\.status) == [.pending, .running, .completed])
        #expect(seen[0].startedAt == nil && seen[0].result == nil)
        #expect(seen[1].startedAt != nil && seen[1].finishedAt == nil && seen[1].result == nil)
        #expect(seen[2].finishedAt != nil)
        #expect(seen[2] == session)
        let result = try #require(seen[2].result)
        #expect(result.signals.totalSymbols == 20)
        #expect(result.signals.totalMatches > 0)
        #expect(seen[2].progress == ScanProgress(completed: 20, total: 20, matchesSoFar: result.signals.totalMatches))
        // Still there for a fresh connection to the file.
        let reopened = try SessionStore(path: dir.path("sessions.sqlite"))
        #expect(try await reopened.session(id: "session-1") == session)
    }

    @Test func unknownSymbolIsAPerSymbolError() async throws {
        let store = InstrumentedStore(try SampleStore.store())
        let result = try await store.scan().execute(request(SymbolCriteria(symbols: ["005930", "999999"])))
        #expect(result.signals.totalSymbols == 2)
        #expect(result.errorsCount == 1)
        #expect(result.errors == [SymbolError(symbol: "999999", message: "unknown symbol '999999'")])
        #expect(store.loaded == ["005930"])
        #expect(result.signals.matches.map(\.symbol) == ["005930", "005930"])
    }

    @Test func unreadableSymbolIsAPerSymbolErrorAndTheScanGoesOn() async throws {
        let store = InstrumentedStore(try SampleStore.store(), broken: ["000660"])
        let result = try await store.scan().execute(request(SymbolCriteria(markets: ["KOSPI"])))
        #expect(result.errors.map(\.symbol) == ["000660"])
        #expect(result.errors.first?.message.contains("disk on fire for 000660") == true)
        #expect(result.signals.totalSymbols == SampleUniverse.kospi.count)
        #expect(!result.signals.matches.contains { $0.symbol == "000660" })
        #expect(result.signals.symbolsWithMatches > 0)
    }

    @Test func latestModeGivesAtMostOneBarPerSymbol() async throws {
        let store = try SampleStore.store()
        // Every bar qualifies: each symbol reports exactly its last session in range (all 48 trade on 2022-09-19).
        let all = try await realScan(store).execute(request(.all, mode: .latest, source: "close > 0", name: "up"))
        #expect(all.signals.totalMatches == SampleUniverse.all.count)
        #expect(all.signals.matches.map(\.symbol) == SampleUniverse.all)
        #expect(all.signals.matches.allSatisfy { $0.timestamp.description == "2022-09-19" })
        // A range ending on a Sunday reports the Friday before.
        let sunday = DateRange(from: testRange.from, to: CalendarDay(year: 2022, month: 9, day: 18)!)
        let before = try await realScan(store).execute(
            request(.all, mode: .latest, source: "close > 0", name: "up", range: sunday)
        )
        #expect(before.signals.matches.allSatisfy { $0.timestamp.description == "2022-09-16" })
        #expect(before.signals.totalMatches == SampleUniverse.all.count)
        // A real formula: at most one match per symbol, each one a match of range mode on that last bar.
        let latest = try await realScan(store).execute(request(.all, mode: .latest, source: crossSource, name: "cross"))
        let range = try await realScan(store).execute(request(.all, source: crossSource, name: "cross"))
        #expect(
            Dictionary(grouping: latest.signals.matches, by: \.symbol).values.allSatisfy {
                Set($0.map(\.timestamp)).count == 1
            }
        )
        #expect(latest.signals.matches == range.signals.matches.filter { $0.timestamp.description == "2022-09-19" })
    }

    @Test func statisticsConsistentWithMatches() async throws {
        let result = try await realScan(try SampleStore.store()).execute(
            request(.all, source: crossSource, name: "cross")
        )
        let m = result.signals.matches
        // The peer (pandas + TA-Lib) counts 233 golden and 986 dead crosses on the sample in this range.
        #expect(result.statistics.bySignalType == ["golden": 233, "dead": 986])
        #expect(result.statistics.total == m.count)
        #expect(result.signals.totalMatches == m.count)
        #expect(result.statistics.bySymbol.values.reduce(0, +) == m.count)
        #expect(result.statistics.byDate.values.reduce(0, +) == m.count)
        #expect(result.statistics.bySymbol == Dictionary(grouping: m, by: \.symbol).mapValues(\.count))
        #expect(
            result.statistics.byDate == Dictionary(grouping: m, by: { $0.timestamp.description }).mapValues(\.count)
        )
        #expect(result.signals.symbolsWithMatches == Set(m.map(\.symbol)).count)
        #expect(result.signals.totalSymbols == SampleUniverse.all.count)
        // Sorted by timestamp, then symbol, then signal.
        for (a, b) in zip(m, m.dropFirst()) {
            #expect((a.timestamp.epochSeconds, a.symbol, a.signal) <= (b.timestamp.epochSeconds, b.symbol, b.signal))
        }
        // Every match carries the formula's three columns, defined after the warm-up.
        #expect(m.allSatisfy { Set($0.values.keys) == ["fast_ma", "slow_ma", "vol_ratio"] })
        #expect(m.allSatisfy { $0.values.values.allSatisfy(\.isFinite) })
    }

    @Test func invalidDateRangeIsRejectedBeforeAnyDataIsRead() async throws {
        let store = InstrumentedStore(try SampleStore.store())
        var req = request(.all)
        req.dateRange = DateRange(from: testRange.to, to: testRange.from)
        await #expect(throws: ScanError.self) { try await store.scan().execute(req) }
        #expect(store.loaded.isEmpty)
    }

    @Test func badFormulaIsRejectedBeforeAnyDataIsRead() async throws {
        let store = InstrumentedStore(try SampleStore.store())
        await #expect(throws: FormulaError.self) {
            try await store.scan().execute(request(.all, source: "smaa(close, 5) > 1"))
        }
        #expect(store.loaded.isEmpty)
    }

    @Test func defaultDateRangeIsTheLastYearOfData() async throws {
        var req = request(.all)
        req.dateRange = nil
        let range = try await realScan(try SampleStore.store()).dateRange(for: req)
        #expect(
            range
                == DateRange(
                    from: CalendarDay(year: 2021, month: 9, day: 19)!,
                    to: CalendarDay(year: 2022, month: 9, day: 19)!
                )
        )
    }

    @Test func inProcessEngineGivesTheSameResultsWithAnyThreadsAndChunks() async throws {
        let store = try SampleStore.store()
        let symbols = SampleUniverse.all + ["999999"]
        let job = ProcessingJob(
            id: "j",
            symbols: symbols,
            timeframe: .daily,
            dateRange: testRange,
            formula: Formula(name: "cross", source: crossSource)
        )
        let plan = try FormulaPlan.compile(
            source: job.formula.source,
            name: job.formula.name,
            parameters: job.parameters
        )
        let scanner = SymbolScanner(plan: plan, job: job)
        let sequential = symbols.map { scanner.scan(symbol: $0, bars: store) }.sorted { $0.symbol < $1.symbol }
        #expect(sequential.reduce(0) { $0 + $1.matches.count } == 233 + 986)
        for (threads, chunk) in [(1, 100), (2, 3), (3, 1)] {
            let engine = InProcessEngine(bars: store, threads: threads, chunkSize: chunk)
            let parallel = try await engine.processBatch(
                job,
                plan: plan,
                progress: { _ in },
                cancellation: CancellationToken()
            )
            #expect(parallel.sorted { $0.symbol < $1.symbol } == sequential)
        }
        #expect(sequential.first { $0.symbol == "999999" }?.error?.contains("unknown symbol '999999'") == true)
    }
}
