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
