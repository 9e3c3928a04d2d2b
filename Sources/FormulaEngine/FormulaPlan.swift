/// A formula checked and compiled once per job: immutable, shared by every thread of a job.
///
/// (Stub: the FormulaEngine issue fills this in; the signatures are the contract.)
public struct FormulaPlan: Sendable {
    /// Formula name; a bare boolean expression becomes `signal <name> = expression`.
    public let name: String
    /// Signal names in declaration order.
    public let signalNames: [String]
    /// `column` names in declaration order.
    public let columnNames: [String]
    /// Bars of history the formula needs before the first bar it reports on (warm-up).
    public let lookback: Int
    /// Every input after request parameters were applied.
    public let inputs: [String: FormulaValue]

    /// Checks and compiles `source`. Throws ``FormulaError`` for any mistake, including an unknown
    /// parameter name or a parameter of the wrong type.
    public static func compile(
        source: String, name: String, parameters: [String: FormulaValue] = [:]
    ) throws -> FormulaPlan {
        FormulaPlan(name: name, signalNames: [name], columnNames: [], lookback: 0, inputs: parameters)
    }
}

/// What one signal produced for one symbol.
public struct SignalHits: Sendable, Equatable {
    /// Bar indices (into the evaluated columns) where the signal fired, ascending.
    public var indices: [Int]
    /// `columns[c][k]` is the value of plan column `c` at `indices[k]` (NaN when undefined).
    public var columns: [[Double]]

    public init(indices: [Int] = [], columns: [[Double]] = []) {
        self.indices = indices
        self.columns = columns
    }
}

/// The evaluation of a plan over one symbol's bars: one ``SignalHits`` per signal, in plan order.
public struct FormulaOutput: Sendable, Equatable {
    public var signals: [SignalHits]
    public init(signals: [SignalHits]) { self.signals = signals }
}

/// Evaluates a ``FormulaPlan`` array-at-a-time, reusing its buffers from one symbol to the next.
///
/// Not thread-safe: create one evaluator per thread (they are cheap); share the plan.
public final class FormulaEvaluator {
    public let plan: FormulaPlan

    public init(plan: FormulaPlan) {
        self.plan = plan
    }

    /// Evaluates over every bar of `columns` (the whole history given, so values never depend on
    /// where `range` starts) and reports the signals that fire at indices inside `range`.
    public func evaluate(_ columns: PriceColumns, reportingIn range: Range<Int>) -> FormulaOutput {
        FormulaOutput(signals: plan.signalNames.map { _ in SignalHits() })
    }
}
