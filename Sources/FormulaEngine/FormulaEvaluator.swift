/// Evaluates a ``FormulaPlan`` array-at-a-time, reusing its buffers from one symbol to the next.
///
/// Each plan operation runs once per symbol over the whole series (one tight loop or one indicator
/// kernel), reading the price columns in place and writing into buffers the evaluator keeps:
/// numbers as contiguous `Double`s (NaN = undefined), booleans as bytes. Buffers grow to the
/// longest series seen and are reused; evaluation allocates only its result.
///
/// Not thread-safe: create one evaluator per thread (they are cheap); share the plan.
public final class FormulaEvaluator {
    public let plan: FormulaPlan

    private var capacity = 0
    private var numbers: UnsafeMutablePointer<Double>
    private var flags: UnsafeMutablePointer<UInt8>
    private var scratch: UnsafeMutablePointer<Int>

    public init(plan: FormulaPlan) {
        self.plan = plan
        numbers = .allocate(capacity: 1)
        flags = .allocate(capacity: 1)
        scratch = .allocate(capacity: 1)
    }

    deinit {
        numbers.deallocate()
        flags.deallocate()
        scratch.deallocate()
    }

    private func reserve(_ n: Int) {
        guard n > capacity else { return }
        let program = plan.program
        numbers.deallocate()
        flags.deallocate()
        scratch.deallocate()
        numbers = .allocate(capacity: max(1, program.numericBufferCount * n))
        flags = .allocate(capacity: max(1, program.booleanBufferCount * n))
        scratch = .allocate(capacity: program.needsScratch ? n : 1)
        capacity = n
    }

    /// Evaluates over every bar of `columns` (the whole history given, so values never depend on
    /// where `range` starts) and reports the signals that fire at indices inside `range`.
    ///
    /// Columns of unequal length are evaluated over their common prefix; `range` is clamped to it.
    public func evaluate(_ columns: PriceColumns, reportingIn range: Range<Int>) -> FormulaOutput {
        let n = min(
            columns.open.count,
            columns.high.count,
            columns.low.count,
            columns.close.count,
            columns.volume.count
        )
        let range = range.clamped(to: 0..<n)
        guard n > 0 else {
            return FormulaOutput(
                signals: plan.signalNames.map { _ in
                    SignalHits(indices: [], columns: plan.columnNames.map { _ in [] })
                }
            )
        }
        reserve(n)
        return columns.open.withUnsafeBufferPointer { open in
            columns.high.withUnsafeBufferPointer { high in
                columns.low.withUnsafeBufferPointer { low in
                    columns.close.withUnsafeBufferPointer { close in
                        columns.volume.withUnsafeBufferPointer { volume in
                            let prices = Prices(
                                open: open.baseAddress,
                                high: high.baseAddress,
                                low: low.baseAddress,
                                close: close.baseAddress,
                                volume: volume.baseAddress
                            )
                            return run(prices, count: n, reporting: range)
                        }
                    }
                }
            }
        }
    }

    /// The price columns of one evaluation (non-nil whenever the count is positive).
    private struct Prices {
        var open, high, low, close, volume: UnsafePointer<Double>?
    }

    private func run(_ prices: Prices, count n: Int, reporting range: Range<Int>) -> FormulaOutput {
        let program = plan.program
        let numericBuffer = program.numericBuffer
        let booleanBuffer = program.booleanBuffer
        let numbers = self.numbers
        let flags = self.flags
        let stride = capacity
        // Never dereferenced: stands in for a missing column only when n == 0, which returns earlier.
        let empty = UnsafePointer(numbers)

        func out(_ register: Int) -> UnsafeMutablePointer<Double> { numbers + numericBuffer[register] * stride }
        func flagsOut(_ register: Int) -> UnsafeMutablePointer<UInt8> { flags + booleanBuffer[register] * stride }
        func flag(_ register: Int) -> UnsafePointer<UInt8> { UnsafePointer(flagsOut(register)) }
        func series(_ s: NumericSeries) -> UnsafePointer<Double> {
            switch s {
            case .register(let r): UnsafePointer(out(r))
            case .price(.open): prices.open ?? empty
            case .price(.high): prices.high ?? empty
            case .price(.low): prices.low ?? empty
            case .price(.close): prices.close ?? empty
            case .price(.volume): prices.volume ?? empty
            }
        }
        func input(_ s: NumericSeries) -> Indicators.In { Indicators.In(start: series(s), count: n) }
        func output(_ register: Int) -> Indicators.Out { Indicators.Out(start: out(register), count: n) }

        for operation in program.operations {
            switch operation {
            case .fillNumber(let value, let o): Kernels.fill(value, out(o), n)
            case .fillBoolean(let value, let o): Kernels.fill(value, flagsOut(o), n)
            case .arithmetic(let op, let a, let b, let o):
                switch (a, b) {
                case (.series(let x), .series(let y)): Kernels.arithmetic(op, series(x), series(y), out(o), n)
                case (.series(let x), .constant(let c)): Kernels.arithmetic(op, series(x), c, out(o), n)
                case (.constant(let c), .series(let y)): Kernels.arithmetic(op, c, series(y), out(o), n)
                case (.constant(let c), .constant(let d)): Kernels.fill(op.apply(c, d), out(o), n)
                }
            case .unary(let f, let a, let o): Kernels.unary(f, series(a), out(o), n)
            case .compare(let op, let a, let b, let o):
                switch (a, b) {
                case (.series(let x), .series(let y)): Kernels.compare(op, series(x), series(y), flagsOut(o), n)
                case (.series(let x), .constant(let c)): Kernels.compare(op, series(x), c, flagsOut(o), n)
                case (.constant(let c), .series(let y)): Kernels.compare(op.mirrored, series(y), c, flagsOut(o), n)
                case (.constant(let c), .constant(let d)): Kernels.fill(op.apply(c, d), flagsOut(o), n)
                }
            case .booleanEqual(let equal, let a, let b, let o):
                Kernels.booleanEqual(equal: equal, flag(a), flag(b), flagsOut(o), n)
            case .logic(let and, let a, let b, let o): Kernels.logic(and: and, flag(a), flag(b), flagsOut(o), n)
            case .not(let a, let o): Kernels.not(flag(a), flagsOut(o), n)
            case .historyNumber(let a, let offset, let o): Kernels.history(series(a), offset: offset, out(o), n)
            case .historyBoolean(let a, let offset, let o): Kernels.history(flag(a), offset: offset, flagsOut(o), n)
            case .cross(let up, let a, let b, let o): Kernels.cross(up: up, series(a), series(b), flagsOut(o), n)
            case .barssince(let c, let o): Kernels.barssince(flag(c), out(o), n)
            case .rising(let up, let a, let count, let o):
                Kernels.rising(up: up, series(a), count: count, flagsOut(o), n, deque: scratch)
            case .selectNumber(let c, let a, let b, let o): Kernels.select(flag(c), series(a), series(b), out(o), n)
            case .selectBoolean(let c, let a, let b, let o): Kernels.select(flag(c), flag(a), flag(b), flagsOut(o), n)
            case .indicator(let indicator, let inputs, let o): indicator.run(inputs.map(input), into: o.map(output))
            }
        }

        var signals: [SignalHits] = []
        signals.reserveCapacity(program.signals.count)
        for signal in program.signals {
            var indices: [Int] = []
            Kernels.hits(flag(signal), in: range, into: &indices)
            let values = program.columns.map { column -> [Double] in
                switch column {
                case .constant(let c): return [Double](repeating: c, count: indices.count)
                case .series(let s):
                    let x = series(s)
                    return indices.map { x[$0] }
                }
            }
            signals.append(SignalHits(indices: indices, columns: values))
        }
        return FormulaOutput(signals: signals)
    }
}
