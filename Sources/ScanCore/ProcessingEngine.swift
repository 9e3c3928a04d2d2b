import FormulaEngine
import Synchronization

/// The kind of work a ``ProcessingJob`` describes.
public enum JobType: String, Sendable, Hashable, Codable {
    case scan
}

/// A scan ready to run: the universe resolved to symbols, the range fixed, the formula checked.
public struct ProcessingJob: Sendable, Hashable, Codable {
    public var id: String
    public var jobType: JobType
    public var symbols: [String]
    public var timeframe: Timeframe
    public var dateRange: DateRange
    public var formula: Formula
    public var parameters: [String: ParameterValue]
    public var mode: ScanMode
    /// The event study each symbol's matches get (`nil`: none).
    public var study: StudySpec?
    /// Whether each symbol reports its condition funnel.
    public var explain: Bool

    public init(
        id: String,
        jobType: JobType = .scan,
        symbols: [String],
        timeframe: Timeframe,
        dateRange: DateRange,
        formula: Formula,
        parameters: [String: ParameterValue] = [:],
        mode: ScanMode = .range,
        study: StudySpec? = nil,
        explain: Bool = false
    ) {
        self.study = study
        self.explain = explain
        self.id = id
        self.jobType = jobType
        self.symbols = symbols
        self.timeframe = timeframe
        self.dateRange = dateRange
        self.formula = formula
        self.parameters = parameters
        self.mode = mode
    }

    enum CodingKeys: String, CodingKey {
        case id, jobType, symbols, timeframe, dateRange, formula, parameters, mode, study, explain
    }

    /// Decodes jobs stored before `study` and `explain` existed as well.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        jobType = try c.decode(JobType.self, forKey: .jobType)
        symbols = try c.decode([String].self, forKey: .symbols)
        timeframe = try c.decode(Timeframe.self, forKey: .timeframe)
        dateRange = try c.decode(DateRange.self, forKey: .dateRange)
        formula = try c.decode(Formula.self, forKey: .formula)
        parameters = try c.decode([String: ParameterValue].self, forKey: .parameters)
        mode = try c.decode(ScanMode.self, forKey: .mode)
        study = try c.decodeIfPresent(StudySpec.self, forKey: .study)
        explain = try c.decodeIfPresent(Bool.self, forKey: .explain) ?? false
    }

    /// Checks and compiles the job's formula with its parameters: the job's one plan, which every
    /// stage after the check receives rather than compiling it again.
    /// - Throws: ``FormulaError`` with the located message.
    public func compilePlan() throws -> FormulaPlan {
        try FormulaPlan.compile(source: formula.source, name: formula.name, parameters: parameters)
    }

    /// The formula compiled with its clauses, for the condition funnel (see ``ExplainedPlan``).
    /// - Throws: ``FormulaError`` with the located message.
    public func compileExplainedPlan() throws -> ExplainedPlan {
        try ExplainedPlan.compile(
            source: formula.source,
            name: formula.name,
            parameters: parameters,
            operands: mode == .latest
        )
    }

    /// Splits the symbols into consecutive chunks of at most `size` symbols (the last may be smaller).
    public func chunks(size: Int) -> [JobChunk] {
        let size = max(1, size)
        return stride(from: 0, to: symbols.count, by: size).enumerated().map { index, start in
            JobChunk(jobId: id, index: index, symbols: Array(symbols[start..<min(start + size, symbols.count)]))
        }
    }

    /// A chunk size that gives `workers` workers several chunks each (so the work evens out) without
    /// making chunks too small to be worth their overhead.
    public static func chunkSize(
        symbolCount: Int,
        workers: Int,
        chunksPerWorker: Int = 4,
        minimum: Int = 8,
        maximum: Int = 256
    ) -> Int {
        let target = max(1, workers * chunksPerWorker)
        let size = (symbolCount + target - 1) / target
        return min(maximum, max(minimum, size))
    }
}

/// A part of a job: the unit that is leased to an engine and whose result is accepted once.
public struct JobChunk: Sendable, Hashable, Codable {
    public var jobId: String
    public var index: Int
    public var symbols: [String]

    public init(jobId: String, index: Int, symbols: [String]) {
        self.jobId = jobId
        self.index = index
        self.symbols = symbols
    }
}

/// A flag that asks running work to stop. Thread-safe; checked between and inside chunks.
public final class CancellationToken: Sendable {
    private let flag = Atomic<Bool>(false)
    private let handlers = Mutex<[@Sendable () -> Void]>([])

    public init() {}

    public var isCancelled: Bool { flag.load(ordering: .acquiring) }

    /// Requests cancellation; handlers run once, on the calling thread.
    public func cancel() {
        let (exchanged, _) = flag.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        let toRun = handlers.withLock { h -> [@Sendable () -> Void] in
            defer { h = [] }
            return h
        }
        for handler in toRun { handler() }
    }

    /// Runs `handler` when cancellation is requested (at once if it already was).
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        let runNow = handlers.withLock { h -> Bool in
            if flag.load(ordering: .acquiring) { return true }
            h.append(handler)
            return false
        }
        if runNow { handler() }
    }
}

/// Runs jobs: in this process on every core, or spread over engine nodes.
public protocol ProcessingEngine: Sendable {
    /// Scans every symbol of `job` with `plan` (compiled from the job's formula and parameters, once
    /// per job: see ``ProcessingJob/compilePlan()``) and returns one ``SymbolResult`` per symbol that
    /// finished.
    ///
    /// - `progress` is called as symbols finish (completed ends at total when nothing was cancelled).
    /// - On cancellation (the token or the task), returns the results finished so far.
    /// - Throws only when the engine as a whole fails; a symbol that fails becomes its own error.
    func processBatch(
        _ job: ProcessingJob,
        plan: FormulaPlan,
        progress: @escaping @Sendable (ScanProgress) -> Void,
        cancellation: CancellationToken
    ) async throws -> [SymbolResult]
}
