import Foundation
import ScanCore
import SessionStore
import Synchronization
import Testing

/// One test per scenario of the product's specs (DESIGN §2). They run on ``TestRepositories`` (a fake
/// of the sample today; the real store with the bundled sample once MarketData is merged).
@Suite("Scan scenarios")
struct ScanScenarioTests {
    func scripted(_ market: FakeMarket) -> (BatchScanUseCase, ScriptedEngine) {
        let engine = ScriptedEngine(market: market)
        return (BatchScanUseCase(symbols: market, bars: market, engine: engine), engine)
    }

    func inProcess(_ market: FakeMarket, threads: Int = 2, chunkSize: Int? = nil) -> BatchScanUseCase {
        BatchScanUseCase(symbols: market, bars: market, engine: InProcessEngine(bars: market, threads: threads, chunkSize: chunkSize))
    }

    @Test func explicitSymbols() async throws {
        let market = try TestRepositories.sample()
        let result = try await inProcess(market).execute(request(SymbolCriteria(symbols: ["005930", "000660"])))
        #expect(result.signals.totalSymbols == 2)
        #expect(result.errors.isEmpty)
        #expect(Set(market.loads.withLock { $0 }) == ["005930", "000660"])
        #expect(result.signals.matches.allSatisfy { ["005930", "000660"].contains($0.symbol) })

        let (scripted, engine) = scripted(market)
        let r2 = try await scripted.execute(request(SymbolCriteria(symbols: ["005930", "000660"])))
        #expect(engine.jobs.withLock { $0.first?.symbols } == ["005930", "000660"])
        #expect(Set(r2.signals.matches.map(\.symbol)) == ["005930", "000660"])
    }

    @Test func marketKOSPI() async throws {
        let market = try TestRepositories.sample()
        let (useCase, engine) = scripted(market)
        let result = try await useCase.execute(request(SymbolCriteria(markets: ["KOSPI"])))
        let kospi = market.infos.filter { $0.market == "KOSPI" && $0.active }.map(\.symbol)
        #expect(engine.jobs.withLock { $0.first?.symbols }.map(Set.init) == Set(kospi))
        #expect(result.signals.totalSymbols == kospi.count)
        #expect(result.signals.matches.allSatisfy { kospi.contains($0.symbol) })
    }

    @Test func marketSectorAndMarketCapFiltersWithExclusions() async throws {
        let market = try TestRepositories.sample()
        let (useCase, engine) = scripted(market)
        let criteria = SymbolCriteria(
            markets: ["KOSPI", "KOSDAQ"], sectors: ["반도체 제조업", "기타 금융업"], minMarketCap: 1_500_000_000_000,
            maxMarketCap: 100_000_000_000_000, exclude: ["247540"])
        let result = try await useCase.execute(request(criteria))
        // 000660 (KOSPI, 반도체, 96.8T) and 086520 (KOSDAQ, 기타 금융업, 2T) qualify; 247540 is excluded,
        // 000150 is below the minimum cap, 123456 is inactive.
        #expect(engine.jobs.withLock { $0.first?.symbols }.map(Set.init) == ["000660", "086520"])
        #expect(result.signals.totalSymbols == 2)
    }

    @Test func emptyUniverseCompletesWithZeroSymbols() async throws {
        let market = try TestRepositories.sample()
        let store = try SessionStore.inMemory()
        let run = RunScanUseCase(scan: inProcess(market), sessions: store)
        let session = try await run.execute(request(SymbolCriteria(markets: ["NASDAQ"])))
        #expect(session.status == .completed)
        #expect(session.error == nil)
        #expect(session.result?.signals.totalSymbols == 0)
        #expect(session.result?.signals.matches.isEmpty == true)
        #expect(try await store.session(id: session.id)?.status == .completed)
    }

    @Test func progressCallbackSeesEverySymbolOnceAndEndsAtTotal() async throws {
        let market = try TestRepositories.sample()
        let log = ProgressLog()
        let result = try await inProcess(market, threads: 3, chunkSize: 2).execute(
            request(.all), progress: { log.record($0) })
        let active = market.infos.filter(\.active).count
        let reports = log.all
        #expect(reports.map(\.completed) == Array(1...active))
        #expect(reports.allSatisfy { $0.total == active })
        #expect(reports.last?.completed == reports.last?.total)
        #expect(reports.last?.matchesSoFar == result.signals.totalMatches)
    }

    @Test func cancellationGivesPartialResultsAndStatusCancelled() async throws {
        let token = CancellationToken()
        let count = Mutex(0)
        let market = FakeMarket(onLoad: { _ in
            // Cancel while the third symbol is being loaded.
            if count.withLock({ $0 += 1; return $0 }) == 3 { token.cancel() }
        })
        let store = try SessionStore.inMemory()
        let run = RunScanUseCase(scan: inProcess(market, threads: 1, chunkSize: 2), sessions: store)
        let session = try await run.execute(request(.all), cancellation: token)
        #expect(session.status == .cancelled)
        let result = try #require(session.result)
        #expect(result.cancelled)
        #expect(result.signals.totalSymbols == 3)
        #expect(result.signals.totalSymbols < market.infos.filter(\.active).count)
        let stored = try #require(try await store.session(id: session.id))
        #expect(stored.status == .cancelled)
        #expect(stored.result?.signals.totalSymbols == 3)
    }

    @Test func engineFailureMarksSessionFailedWithTheMessage() async throws {
        let market = try TestRepositories.sample()
        let engine = ScriptedEngine(market: market, failWith: "all engine nodes are gone")
        let store = try SessionStore.inMemory()
        let run = RunScanUseCase(scan: BatchScanUseCase(symbols: market, bars: market, engine: engine), sessions: store)
        let session = try await run.execute(request(.all))
        #expect(session.status == .failed)
        #expect(session.error == "all engine nodes are gone")
        #expect(session.result == nil)
        let stored = try #require(try await store.session(id: session.id))
        #expect(stored.status == .failed)
        #expect(stored.error == "all engine nodes are gone")
    }

    @Test func sessionPersistedAtEachTransition() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scancore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SessionStore(path: dir.appendingPathComponent("db.sqlite").path)
        let readBack = ReadBackRepository(store: store)
        let market = try TestRepositories.sample()
        let (useCase, _) = scripted(market)
        let session = try await RunScanUseCase(scan: useCase, sessions: readBack)
            .execute(request(.all), sessionId: "session-1")
        #expect(session.id == "session-1")
        let seen = readBack.seen.withLock { $0 }
        #expect(seen.map(\.status) == [.pending, .running, .completed])
        #expect(seen[0].startedAt == nil && seen[1].startedAt != nil && seen[2].finishedAt != nil)
        #expect(seen[2] == session)
        #expect(seen[2].result?.signals.totalMatches ?? 0 > 0)
    }

    @Test func unknownSymbolIsAPerSymbolError() async throws {
        let market = try TestRepositories.sample()
        let result = try await inProcess(market).execute(request(SymbolCriteria(symbols: ["005930", "999999"])))
        #expect(result.signals.totalSymbols == 2)
        #expect(result.errorsCount == 1)
        #expect(result.errors == [SymbolError(symbol: "999999", message: "unknown symbol '999999'")])
        #expect(!market.loads.withLock { $0 }.contains("999999"))
    }

    @Test func unreadableSymbolIsAPerSymbolErrorAndTheScanGoesOn() async throws {
        let market = FakeMarket(broken: ["000660"])
        let result = try await inProcess(market).execute(request(.all))
        #expect(result.errors.map(\.symbol) == ["000660"])
        #expect(result.errors.first?.message.contains("disk on fire") == true)
        #expect(result.signals.totalSymbols == market.infos.filter(\.active).count)
    }

    @Test func latestModeGivesAtMostOneBarPerSymbol() async throws {
        let market = try TestRepositories.sample()
        // The real engine: every symbol with bars in range scans exactly its last bar.
        let engine = InProcessEngine(bars: market, threads: 2)
        let job = ProcessingJob(
            id: "j", symbols: ["005930", "000660"], timeframe: .daily, dateRange: testRange,
            formula: Formula(name: "f", source: "close > 0"), mode: .latest)
        let results = try await engine.processBatch(job, progress: { _ in }, cancellation: CancellationToken())
        #expect(results.count == 2)
        #expect(results.allSatisfy { $0.barsScanned == 1 })
        for r in results {
            #expect(Set(r.matches.map(\.timestamp)).count <= 1)
        }
        // Through the use case, with matches on every bar offered.
        let scripted = BatchScanUseCase(symbols: market, bars: market, engine: ScriptedEngine(market: market, every: 1))
        let result = try await scripted.execute(request(.all, mode: .latest))
        let perSymbol = Dictionary(grouping: result.signals.matches, by: \.symbol)
        #expect(!perSymbol.isEmpty)
        #expect(perSymbol.values.allSatisfy { Set($0.map(\.timestamp)).count == 1 })
        #expect(perSymbol.values.allSatisfy { $0[0].timestamp.day == CalendarDay(year: 2021, month: 12, day: 31)! })
    }

    @Test func statisticsConsistentWithMatches() async throws {
        let market = try TestRepositories.sample()
        let (useCase, _) = scripted(market)
        let result = try await useCase.execute(request(.all))
        let m = result.signals.matches
        #expect(!m.isEmpty)
        #expect(result.statistics.total == m.count)
        #expect(result.signals.totalMatches == m.count)
        #expect(result.statistics.bySymbol.values.reduce(0, +) == m.count)
        #expect(result.statistics.byDate.values.reduce(0, +) == m.count)
        #expect(result.statistics.bySignalType.values.reduce(0, +) == m.count)
        #expect(result.statistics.bySymbol == Dictionary(grouping: m, by: \.symbol).mapValues(\.count))
        #expect(result.statistics.bySignalType == Dictionary(grouping: m, by: \.signal).mapValues(\.count))
        #expect(result.signals.symbolsWithMatches == Set(m.map(\.symbol)).count)
        // Sorted by timestamp, then symbol, then signal.
        for (a, b) in zip(m, m.dropFirst()) {
            #expect((a.timestamp.epochSeconds, a.symbol, a.signal) <= (b.timestamp.epochSeconds, b.symbol, b.signal))
        }
    }

    @Test func invalidDateRangeIsRejectedBeforeAnyDataIsRead() async throws {
        let market = try TestRepositories.sample()
        var req = request(.all)
        req.dateRange = DateRange(from: testRange.to, to: testRange.from)
        await #expect(throws: ScanError.self) { try await inProcess(market).execute(req) }
        #expect(market.loads.withLock { $0 }.isEmpty)
    }

    @Test func defaultDateRangeIsTheLastYearOfData() async throws {
        let market = try TestRepositories.sample()
        var req = request(.all)
        req.dateRange = nil
        let range = try await inProcess(market).dateRange(for: req)
        let latest = try #require(try market.latestDay(for: .daily))
        #expect(range == DateRange(from: latest.adding(days: -365), to: latest))
    }

    @Test func inProcessEngineEqualsPerSymbolEvaluation() async throws {
        let market = try TestRepositories.sample()
        let symbols = market.infos.map(\.symbol) + ["999999"]
        let job = ProcessingJob(
            id: "j", symbols: symbols, timeframe: .daily, dateRange: testRange,
            formula: Formula(name: "f1", source: "crossover(sma(close,5), sma(close,20))"))
        let engine = InProcessEngine(bars: market, threads: 2, chunkSize: 3)
        let parallel = try await engine.processBatch(job, progress: { _ in }, cancellation: CancellationToken())
        let plan = try FormulaPlanForTests.compile(job)
        let scanner = SymbolScanner(plan: plan, job: job)
        let sequential = symbols.map { scanner.scan(symbol: $0, bars: market) }
        #expect(parallel.sorted { $0.symbol < $1.symbol } == sequential.sorted { $0.symbol < $1.symbol })
        #expect(parallel.first { $0.symbol == "999999" }?.error != nil)
    }
}

import FormulaEngine

enum FormulaPlanForTests {
    static func compile(_ job: ProcessingJob) throws -> FormulaPlan {
        try FormulaPlan.compile(source: job.formula.source, name: job.formula.name, parameters: job.parameters)
    }
}

/// Saves into the real ``SessionStore`` and reads each saved session straight back.
final class ReadBackRepository: ScanSessionRepository {
    let store: SessionStore
    let seen = Mutex<[ScanSession]>([])

    init(store: SessionStore) { self.store = store }

    func save(_ session: ScanSession) async throws {
        try await store.save(session)
        guard let back = try await store.session(id: session.id) else { return }
        seen.withLock { $0.append(back) }
    }

    func session(id: String) async throws -> ScanSession? { try await store.session(id: id) }
    func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession] { try await store.list(status: status, limit: limit) }
}
