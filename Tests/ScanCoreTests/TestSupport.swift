import FormulaEngine
import Foundation
import MarketData
import ScanCore
import SessionStore
import Synchronization

// MARK: - Real stores, built once per test process

/// A directory under the system temp directory for this test process, removed when the process exits.
enum ProcessTempDir {
    static let path: String = {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("scancore-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: ProcessTempDir.path) }
        return dir.path
    }()

    static func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// The bundled real sample (`Sources/MarketData/Resources`: 48 KRX symbols, daily bars 2015-01-02 …
/// 2022-09-19) loaded into a temporary SQLite file, once per test process and shared by every test
/// (which only read it).
enum SampleStore {
    private static let shared: Result<MarketDataStore, any Error> = Result {
        let store = try MarketDataStore.open(path: ProcessTempDir.file("sample.sqlite"))
        _ = try SampleData.load(into: store)
        return store
    }

    static func store() throws -> MarketDataStore { try shared.get() }
}

/// The project's full shared daily set (`../shared/data`: 90 symbols) imported with the real importers
/// into a temporary SQLite file, once per test process.
enum SharedDataStore {
    /// `../shared/data` beside the repository root (found by walking up from this file, since
    /// worktrees may sit deeper than the main checkout).
    static let directory: URL? = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        for _ in 0..<6 {
            dir = dir.deletingLastPathComponent()
            let candidate = dir.appendingPathComponent("shared/data")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("daily/bars.csv").path) {
                return candidate
            }
        }
        return nil
    }()

    private static let shared: Result<MarketDataStore, any Error> = Result {
        guard let dir = directory else { throw MarketDataError(.io, "../shared/data not found above \(#filePath)") }
        let store = try MarketDataStore.open(path: ProcessTempDir.file("shared.sqlite"))
        _ = try SymbolImporter(store: store).importFile(path: dir.appendingPathComponent("symbols.csv").path)
        _ = try BarImporter(store: store).importFile(path: dir.appendingPathComponent("daily/bars.csv").path)
        return store
    }

    static func store() throws -> MarketDataStore { try shared.get() }
}

// MARK: - The sample's universe, as `Sources/MarketData/Resources/symbols.csv` lists it

enum SampleUniverse {
    /// Every symbol of `symbols.csv` (48; all active).
    static let all = [
        "000080", "000150", "000660", "000990", "003670", "005500", "005930", "006400", "007310", "009240",
        "010170", "012510", "018260", "018880", "023590", "033240", "034220", "035720", "036570", "039200",
        "051900", "053580", "060250", "064760", "067990", "073490", "078600", "086390", "086790", "089010",
        "090430", "095340", "100090", "105560", "131370", "145270", "204210", "216050", "222800", "237690",
        "265520", "288620", "300120", "305720", "317330", "329200", "357120", "364970",
    ]
    /// The rows whose `market` is KOSPI (25).
    static let kospi = [
        "000080", "000150", "000660", "000990", "003670", "005500", "005930", "006400", "007310", "009240",
        "012510", "018260", "018880", "023590", "033240", "034220", "035720", "036570", "051900", "086790",
        "090430", "105560", "145270", "204210", "357120",
    ]
}

// MARK: - Formulas and requests

/// DESIGN §7's reference workload.
let f1Source = "crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)"

/// Two signals and three columns sharing sub-expressions.
let crossSource = """
    input fast = 5
    input slow = 20
    let f = sma(close, fast)
    let s = sma(close, slow)
    let va = sma(volume, 20)
    signal golden = crossover(f, s) and volume > 1.5 * va   # F1
    signal dead = crossunder(f, s)
    column fast_ma = f
    column slow_ma = s
    column vol_ratio = volume / va
    """

/// The sample's last two years and a bit (its last session is 2022-09-19).
let testRange = DateRange(
    from: CalendarDay(year: 2020, month: 1, day: 1)!,
    to: CalendarDay(year: 2022, month: 9, day: 19)!
)

func request(
    _ criteria: SymbolCriteria,
    mode: ScanMode = .range,
    source: String = f1Source,
    name: String = "f1",
    range: DateRange = testRange
) -> BatchScanRequest {
    BatchScanRequest(
        symbolCriteria: criteria,
        timeframe: .daily,
        dateRange: range,
        formula: Formula(name: name, source: source),
        mode: mode
    )
}

/// The real store behind the scan, with the real in-process engine.
func realScan(_ store: MarketDataStore, threads: Int = 2, chunkSize: Int? = nil) -> BatchScanUseCase {
    BatchScanUseCase(
        symbols: store,
        bars: store,
        engine: InProcessEngine(bars: store, threads: threads, chunkSize: chunkSize)
    )
}

// MARK: - Thin wrappers for injected failures

/// The real store, recording every bar load; it can run a hook before each load (to cancel mid-scan)
/// and fail the loads of chosen symbols.
final class InstrumentedStore: SymbolRepository, BarRepository, Sendable {
    let store: MarketDataStore
    let broken: Set<String>
    let onLoad: @Sendable (String) -> Void
    let loads = Mutex<[String]>([])

    init(_ store: MarketDataStore, broken: Set<String> = [], onLoad: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.broken = broken
        self.onLoad = onLoad
    }

    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    var loaded: [String] { loads.withLock { $0 } }

    func resolve(_ criteria: SymbolCriteria) async throws -> ResolvedUniverse { try await store.resolve(criteria) }
    func symbols(_ symbols: [String]) async throws -> [SymbolInfo] { try await store.symbols(symbols) }
    func dataVersion() throws -> Int64 { try store.dataVersion() }
    func latestDay(for timeframe: Timeframe) throws -> CalendarDay? { try store.latestDay(for: timeframe) }

    func loadBars(_ query: BarQuery) throws -> BarSeries {
        onLoad(query.symbol)
        loads.withLock { $0.append(query.symbol) }
        if broken.contains(query.symbol) { throw LoadError(description: "disk on fire for \(query.symbol)") }
        return try store.loadBars(query)
    }

    func scan(threads: Int = 2, chunkSize: Int? = nil) -> BatchScanUseCase {
        BatchScanUseCase(
            symbols: self,
            bars: self,
            engine: InProcessEngine(bars: self, threads: threads, chunkSize: chunkSize)
        )
    }
}

/// An engine that fails as a whole (all engine nodes gone).
struct FailingEngine: ProcessingEngine {
    let message: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func processBatch(
        _ job: ProcessingJob,
        plan: FormulaPlan,
        progress: @escaping @Sendable (ScanProgress) -> Void,
        cancellation: CancellationToken
    ) async throws -> [SymbolResult] {
        throw Failure(description: message)
    }
}

/// Records every progress report.
final class ProgressLog: Sendable {
    let reports = Mutex<[ScanProgress]>([])
    func record(_ p: ScanProgress) { reports.withLock { $0.append(p) } }
    var all: [ScanProgress] { reports.withLock { $0 } }
}

/// Saves into a real ``SessionStore`` file and, after each save, reads the session back through a
/// second connection to the same file.
final class ReadBackRepository: ScanSessionRepository {
    let store: SessionStore
    let reader: SessionStore
    let seen = Mutex<[ScanSession]>([])

    init(path: String) throws {
        store = try SessionStore(path: path)
        reader = try SessionStore(path: path)
    }

    func save(_ session: ScanSession) async throws {
        try await store.save(session)
        guard let back = try await reader.session(id: session.id) else { return }
        seen.withLock { $0.append(back) }
    }

    func session(id: String) async throws -> ScanSession? { try await store.session(id: id) }
    func list(status: ScanStatus?, limit: Int) async throws -> [ScanSession] {
        try await store.list(status: status, limit: limit)
    }
    func prune(_ policy: RetentionPolicy, now: Date) async throws -> Int { try await store.prune(policy, now: now) }
}

/// A temporary directory removed when the value goes away.
final class TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("scancore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}
