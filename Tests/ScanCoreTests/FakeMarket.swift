import FormulaEngine
import Foundation
import ScanCore
import Synchronization

/// An in-memory market: symbols like the bundled sample's, and deterministic daily bars.
final class FakeMarket: SymbolRepository, BarRepository, Sendable {
    let infos: [SymbolInfo]
    let series: [String: BarSeries]
    /// Symbols whose bars cannot be read.
    let broken: Set<String>
    /// Called before each load (tests use it to cancel mid-scan).
    let onLoad: @Sendable (String) -> Void
    let loads = Mutex<[String]>([])

    init(
        infos: [SymbolInfo] = FakeMarket.sampleSymbols, days: Int = 400, broken: Set<String> = [],
        onLoad: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.infos = infos
        self.broken = broken
        self.onLoad = onLoad
        var series: [String: BarSeries] = [:]
        let first = CalendarDay(year: 2021, month: 1, day: 4)!
        for (n, info) in infos.enumerated() {
            var times: [Int64] = []
            var close: [Double] = []
            var day = first
            for i in 0..<days {
                while day.weekday >= 5 { day = day.adding(days: 1) }
                times.append(day.epochSeconds)
                close.append(1000 + Double((i * (n + 3)) % 97) * 10)
                day = day.adding(days: 1)
            }
            series[info.symbol] = BarSeries(
                symbol: info.symbol, timeframe: .daily, times: times,
                columns: PriceColumns(open: close, high: close.map { $0 + 5 }, low: close.map { $0 - 5 }, close: close,
                                      volume: close.map { $0 * 100 }))
        }
        self.series = series
    }

    /// Ten symbols from the sample (real codes, names, markets, sectors and caps), one inactive.
    static let sampleSymbols: [SymbolInfo] = [
        SymbolInfo(symbol: "000660", name: "SK하이닉스", market: "KOSPI", sector: "반도체 제조업", marketCap: 96_824_314_545_000),
        SymbolInfo(symbol: "005930", name: "삼성전자", market: "KOSPI", sector: "통신 및 방송 장비 제조업", marketCap: 447_733_691_250_000),
        SymbolInfo(symbol: "035720", name: "카카오", market: "KOSPI", sector: "자료처리, 호스팅, 포털 및 기타 인터넷 정보매개 서비스업", marketCap: 40_404_161_820_600),
        SymbolInfo(symbol: "051910", name: "LG화학", market: "KOSPI", sector: "기초 화학물질 제조업", marketCap: 45_179_099_520_000),
        SymbolInfo(symbol: "000150", name: "두산", market: "KOSPI", sector: "기타 금융업", marketCap: 1_457_402_247_000),
        SymbolInfo(symbol: "091990", name: "셀트리온헬스케어", market: "KOSDAQ", sector: "", marketCap: 9_784_317_865_500),
        SymbolInfo(symbol: "247540", name: "에코프로비엠", market: "KOSDAQ", sector: "반도체 제조업", marketCap: 8_000_000_000_000),
        SymbolInfo(symbol: "086520", name: "에코프로", market: "KOSDAQ", sector: "기타 금융업", marketCap: 2_000_000_000_000),
        SymbolInfo(symbol: "305720", name: "", market: "", sector: "", marketCap: nil),
        SymbolInfo(symbol: "123456", name: "상장폐지", market: "KOSPI", sector: "반도체 제조업", marketCap: 1, active: false),
    ]

    func resolve(_ c: SymbolCriteria) async throws -> ResolvedUniverse {
        let excluded = Set(c.exclude)
        if let explicit = c.symbols {
            let known = Dictionary(infos.map { ($0.symbol, $0) }, uniquingKeysWith: { a, _ in a })
            return ResolvedUniverse(
                symbols: explicit.compactMap { known[$0] }.filter { !excluded.contains($0.symbol) },
                unknown: explicit.filter { known[$0] == nil && !excluded.contains($0) })
        }
        return ResolvedUniverse(
            symbols: infos.filter { s in
                s.active && !excluded.contains(s.symbol)
                    && (c.markets.map { $0.contains(s.market) } ?? true)
                    && (c.sectors.map { $0.contains(s.sector) } ?? true)
                    && (c.minMarketCap.map { min in (s.marketCap ?? -1) >= min } ?? true)
                    && (c.maxMarketCap.map { max in s.marketCap.map { $0 <= max } ?? false } ?? true)
            })
    }

    func symbols(_ symbols: [String]) async throws -> [SymbolInfo] {
        let wanted = Set(symbols)
        return infos.filter { wanted.contains($0.symbol) }
    }

    func dataVersion() throws -> Int64 { 1 }

    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    func loadBars(_ query: BarQuery) throws -> BarSeries {
        onLoad(query.symbol)
        loads.withLock { $0.append(query.symbol) }
        if broken.contains(query.symbol) { throw LoadError(description: "disk on fire for \(query.symbol)") }
        guard var s = series[query.symbol] else { throw LoadError(description: "unknown symbol '\(query.symbol)'") }
        let end = s.times.firstIndex { CalendarDay(epochSeconds: $0) > query.range.to } ?? s.count
        s.times = Array(s.times[..<end])
        let c = s.columns
        s.columns = PriceColumns(
            open: Array(c.open[..<end]), high: Array(c.high[..<end]), low: Array(c.low[..<end]),
            close: Array(c.close[..<end]), volume: Array(c.volume[..<end]))
        return s
    }

    func latestDay(for timeframe: Timeframe) throws -> CalendarDay? {
        series.values.compactMap { $0.times.last }.max().map { CalendarDay(epochSeconds: $0) }
    }
}

/// The repositories scenario tests run against.
///
/// MERGE: once MarketData's store is in, return the real store with the bundled sample loaded
/// (`Sources/MarketData/Resources`) instead of the fake, so the scenarios run on real data.
enum TestRepositories {
    static func sample() throws -> FakeMarket { FakeMarket() }
}

/// A test-only engine that needs no formula evaluation: every symbol fires `signal` on every
/// `every`-th bar in range (and `dead` on every 7th), carrying its close and a fixed column.
final class ScriptedEngine: ProcessingEngine {
    let market: FakeMarket
    let every: Int
    let failWith: String?
    let jobs = Mutex<[ProcessingJob]>([])

    init(market: FakeMarket, every: Int = 5, failWith: String? = nil) {
        self.market = market
        self.every = every
        self.failWith = failWith
    }

    struct EngineFailure: Error, CustomStringConvertible {
        var description: String
    }

    func processBatch(
        _ job: ProcessingJob, progress: @escaping @Sendable (ScanProgress) -> Void, cancellation: CancellationToken
    ) async throws -> [SymbolResult] {
        jobs.withLock { $0.append(job) }
        if let failWith { throw EngineFailure(description: failWith) }
        var out: [SymbolResult] = []
        var matches = 0
        for symbol in job.symbols {
            if cancellation.isCancelled { break }
            guard let s = market.series[symbol] else {
                out.append(SymbolResult(symbol: symbol, error: "no bars"))
                continue
            }
            var r = s.indices(in: job.dateRange)
            if job.mode == .latest, !r.isEmpty { r = (r.upperBound - 1)..<r.upperBound }
            var m: [SignalMatch] = []
            for i in r {
                let ts = s.timestamp(at: i)
                if i % every == 0 {
                    m.append(SignalMatch(symbol: symbol, timestamp: ts, signal: "golden", close: s.columns.close[i], values: ["rsi14": Double(i % 100)]))
                }
                if i % 7 == 0 {
                    m.append(SignalMatch(symbol: symbol, timestamp: ts, signal: "dead", close: s.columns.close[i], values: ["rsi14": .nan]))
                }
            }
            matches += m.count
            out.append(SymbolResult(symbol: symbol, matches: m, barsScanned: r.count))
            progress(ScanProgress(completed: out.count, total: job.symbols.count, matchesSoFar: matches))
        }
        return out
    }
}

/// Records every progress report.
final class ProgressLog: Sendable {
    let reports = Mutex<[ScanProgress]>([])
    func record(_ p: ScanProgress) { reports.withLock { $0.append(p) } }
    var all: [ScanProgress] { reports.withLock { $0 } }
}

let testRange = DateRange(from: CalendarDay(year: 2021, month: 6, day: 1)!, to: CalendarDay(year: 2021, month: 12, day: 31)!)

func request(
    _ criteria: SymbolCriteria, mode: ScanMode = .range, source: String = "crossover(sma(close,5), sma(close,20))"
) -> BatchScanRequest {
    BatchScanRequest(
        symbolCriteria: criteria, timeframe: .daily, dateRange: testRange,
        formula: Formula(name: "f1", source: source), mode: mode)
}
