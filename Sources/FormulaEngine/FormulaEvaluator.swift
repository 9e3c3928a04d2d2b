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
    private var laneCapacity = 1
    private var numbers: UnsafeMutablePointer<Double>
    private var flags: UnsafeMutablePointer<UInt8>
    private var scratch: UnsafeMutablePointer<Int>
    /// The chosen-bars lists (``Operation/choose(_:into:within:)``), `n` indices per list and lane.
    private var chosen: UnsafeMutablePointer<Int32>
    /// The conjunction of a chosen-bars list's terms, before it becomes indices.
    private var chosenFlags: UnsafeMutablePointer<UInt8>

    /// An indicator needed at chosen bars only runs its chosen-bars kernel when they are at most this
    /// fraction of the series (a denser list costs more than the whole kernel). Tests set 1 (always) and
    /// -1 (never).
    var chosenDensityLimit = 0.5

    public init(plan: FormulaPlan) {
        self.plan = plan
        numbers = .allocate(capacity: 1)
        flags = .allocate(capacity: 1)
        scratch = .allocate(capacity: 1)
        chosen = .allocate(capacity: 1)
        chosenFlags = .allocate(capacity: 1)
    }

    deinit {
        numbers.deallocate()
        flags.deallocate()
        scratch.deallocate()
        chosen.deallocate()
        chosenFlags.deallocate()
    }

    /// How many series ``evaluate(_:reportingIn:)-([PriceColumns],_)`` evaluates side by side: the lane
    /// kernels' width.
    public static let laneWidth = 4
    /// The longest series evaluated in lanes. Four series' buffers of intraday histories (10⁵ bars and more)
    /// would cost more memory than the lanes save time; such groups are evaluated one series at a time.
    public static let laneLengthLimit = 32_768

    private func reserve(_ n: Int, lanes: Int = 1) {
        guard n > capacity || lanes > laneCapacity else { return }
        let program = plan.program
        let n = max(n, capacity)
        let lanes = max(lanes, laneCapacity)
        numbers.deallocate()
        flags.deallocate()
        scratch.deallocate()
        chosen.deallocate()
        chosenFlags.deallocate()
        numbers = .allocate(capacity: max(1, lanes * program.numericBufferCount * n))
        flags = .allocate(capacity: max(1, lanes * program.booleanBufferCount * n))
        // Flags are bytes 0 or 1 everywhere, also where an operation at chosen bars leaves them unwritten.
        flags.initialize(repeating: 0, count: max(1, lanes * program.booleanBufferCount * n))
        scratch = .allocate(capacity: program.needsScratch ? n : 1)
        chosen = .allocate(capacity: max(1, lanes * program.chosenListCount * n))
        chosenFlags = .allocate(capacity: program.chosenListCount > 0 ? n : 1)
        capacity = n
        laneCapacity = lanes
    }

    /// Evaluates over every bar of `columns` (the whole history given, so values never depend on
    /// where `range` starts) and reports the signals that fire at indices inside `range`.
    ///
    /// Columns of unequal length are evaluated over their common prefix; `range` is clamped to it.
    /// Only the columns the plan reads (``FormulaPlan/fields``) and `close` count: the others may be empty.
    public func evaluate(_ columns: PriceColumns, reportingIn range: Range<Int>) -> FormulaOutput {
        let n = columns.commonCount(reading: plan.fields)
        guard n > 0 else { return emptyOutput() }
        reserve(n)
        return Self.withPrices([columns]) { prices in
            run(prices, counts: [n], reporting: [range.clamped(to: 0..<n)])[0]
        }
    }

    /// Evaluates several series, each as ``evaluate(_:reportingIn:)-(PriceColumns,_)`` would (the same
    /// values bit for bit), ``laneWidth`` of them side by side: the recursive indicators then run one
    /// chain per series in SIMD lanes, so the chains' latencies overlap. `ranges[i]` is `group[i]`'s.
    /// Groups of fewer than ``laneWidth`` series, and series longer than ``laneLengthLimit``, are
    /// evaluated one at a time.
    public func evaluate(_ group: [PriceColumns], reportingIn ranges: [Range<Int>]) -> [FormulaOutput] {
        precondition(group.count == ranges.count, "one reporting range per series")
        var outputs: [FormulaOutput] = []
        outputs.reserveCapacity(group.count)
        var start = 0
        while start < group.count {
            let end = min(start + Self.laneWidth, group.count)
            let lanes = Array(group[start..<end])
            let counts = lanes.map { $0.commonCount(reading: plan.fields) }
            let longest = counts.max() ?? 0
            if lanes.count == Self.laneWidth, counts.allSatisfy({ $0 > 0 }), longest <= Self.laneLengthLimit {
                reserve(longest, lanes: Self.laneWidth)
                let clamped = (start..<end).map { ranges[$0].clamped(to: 0..<counts[$0 - start]) }
                outputs += Self.withPrices(lanes) { prices in run(prices, counts: counts, reporting: clamped) }
            } else {
                for i in start..<end { outputs.append(evaluate(group[i], reportingIn: ranges[i])) }
            }
            start = end
        }
        return outputs
    }

    private func emptyOutput() -> FormulaOutput {
        FormulaOutput(
            signals: plan.signalNames.map { _ in SignalHits(indices: [], columns: plan.columnNames.map { _ in [] }) }
        )
    }

    /// The price columns of one evaluation (non-nil whenever the count is positive).
    private struct Prices {
        var open, high, low, close, volume: UnsafePointer<Double>?
    }

    /// Calls `body` with the columns of every series of `lanes` pinned.
    private static func withPrices<R>(
        _ lanes: [PriceColumns],
        _ pinned: [Prices] = [],
        _ body: ([Prices]) -> R
    ) -> R {
        guard pinned.count < lanes.count else { return body(pinned) }
        let columns = lanes[pinned.count]
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
                            return withPrices(lanes, pinned + [prices], body)
                        }
                    }
                }
            }
        }
    }

    /// Runs the program over each lane's series (`counts[l]` bars, all positive) and extracts each lane's hits.
    private func run(_ lanes: [Prices], counts: [Int], reporting: [Range<Int>]) -> [FormulaOutput] {
        let program = plan.program
        let numericBuffer = program.numericBuffer
        let booleanBuffer = program.booleanBuffer
        let numbers = self.numbers
        let flags = self.flags
        let stride = capacity
        let numericLane = program.numericBufferCount * stride
        let booleanLane = program.booleanBufferCount * stride
        // Never dereferenced: stands in for a missing column only when n == 0, which returns earlier.
        let empty = UnsafePointer(numbers)
        let chosen = self.chosen
        let chosenFlags = self.chosenFlags
        let chosenLists = program.chosenListCount
        let densityLimit = chosenDensityLimit
        var chosenCounts = [Int](repeating: 0, count: lanes.count * chosenLists)

        func laneOut(_ register: Int, _ lane: Int) -> UnsafeMutablePointer<Double> {
            numbers + lane * numericLane + numericBuffer[register] * stride
        }
        func laneFlagsOut(_ register: Int, _ lane: Int) -> UnsafeMutablePointer<UInt8> {
            flags + lane * booleanLane + booleanBuffer[register] * stride
        }
        func laneSeries(_ s: NumericSeries, _ lane: Int) -> UnsafePointer<Double> {
            let prices = lanes[lane]
            switch s {
            case .register(let r): return UnsafePointer(laneOut(r, lane))
            case .price(.open): return prices.open ?? empty
            case .price(.high): return prices.high ?? empty
            case .price(.low): return prices.low ?? empty
            case .price(.close): return prices.close ?? empty
            case .price(.volume): return prices.volume ?? empty
            }
        }

        // Whether each lane's price columns are free of NaN, scanned once (the lane kernels and the chosen-bars
        // kernels take only NaN-free inputs; the same columns are checked for many of them).
        var priceNaNFree = [[Bool?]](
            repeating: [Bool?](repeating: nil, count: PriceField.allCases.count),
            count: lanes.count
        )
        func isNaNFree(_ s: NumericSeries, _ lane: Int) -> Bool {
            guard case .price(let field) = s else {
                return Indicators.firstNaN(laneSeries(s, lane), from: 0, counts[lane]) == counts[lane]
            }
            if let known = priceNaNFree[lane][field.rawValue] { return known }
            let free = Indicators.firstNaN(laneSeries(s, lane), from: 0, counts[lane]) == counts[lane]
            priceNaNFree[lane][field.rawValue] = free
            return free
        }

        for operation in program.operations {
            if lanes.count == Self.laneWidth, case .indicator(let indicator, let inputs, let o) = operation,
                let minimum = indicator.laneMinimumLength, counts.allSatisfy({ $0 >= minimum }),
                inputs.allSatisfy({ s in (0..<lanes.count).allSatisfy { l in isNaNFree(s, l) } })
            {
                let columns = inputs.map { s in
                    LaneColumn(p: (laneSeries(s, 0), laneSeries(s, 1), laneSeries(s, 2), laneSeries(s, 3)))
                }
                let outputs = o.map { r in LaneOutput(p: (laneOut(r, 0), laneOut(r, 1), laneOut(r, 2), laneOut(r, 3))) }
                indicator.runLanes(
                    columns,
                    into: outputs,
                    lengths: LaneLengths((counts[0], counts[1], counts[2], counts[3]))
                )
                continue
            }
            for lane in lanes.indices {
                execute(operation, count: counts[lane], lane)
            }
        }

        return lanes.indices.map { lane in
            var signals: [SignalHits] = []
            signals.reserveCapacity(program.signals.count)
            for signal in program.signals {
                let indices = Kernels.hits(UnsafePointer(laneFlagsOut(signal, lane)), in: reporting[lane])
                let values = program.columns.map { column -> [Double] in
                    switch column {
                    case .constant(let c): return [Double](repeating: c, count: indices.count)
                    case .series(let s):
                        let x = laneSeries(s, lane)
                        return indices.map { x[$0] }
                    }
                }
                signals.append(SignalHits(indices: indices, columns: values))
            }
            return FormulaOutput(signals: signals)
        }

        /// One operation over one lane's `n` bars.
        func execute(_ operation: Operation, count n: Int, _ lane: Int) {
            func out(_ register: Int) -> UnsafeMutablePointer<Double> { laneOut(register, lane) }
            func flagsOut(_ register: Int) -> UnsafeMutablePointer<UInt8> { laneFlagsOut(register, lane) }
            func flag(_ register: Int) -> UnsafePointer<UInt8> { UnsafePointer(laneFlagsOut(register, lane)) }
            func series(_ s: NumericSeries) -> UnsafePointer<Double> { laneSeries(s, lane) }
            func input(_ s: NumericSeries) -> Indicators.In { Indicators.In(start: series(s), count: n) }
            func output(_ register: Int) -> Indicators.Out { Indicators.Out(start: out(register), count: n) }
            func chosenList(_ list: Int) -> UnsafeMutablePointer<Int32> {
                chosen + (lane * chosenLists + list) * stride
            }

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
            case .choose(let terms, let list, let within):
                let flags = terms.map { (flag($0.register), $0.shift) }
                chosenCounts[lane * chosenLists + list] =
                    if let within {
                        Kernels.choose(
                            flags,
                            n,
                            within: Indicators.Bars(
                                start: chosenList(within),
                                count: chosenCounts[lane * chosenLists + within]
                            ),
                            into: chosenList(list)
                        )
                    } else {
                        Kernels.choose(flags, n, scratch: chosenFlags, into: chosenList(list))
                    }
            case .smas(let jobs):
                withUnsafeTemporaryAllocation(of: SMARun.self, capacity: jobs.count) { runs in
                    for (k, job) in jobs.enumerated() {
                        let x = series(.price(job.field))
                        runs.initializeElement(
                            at: k,
                            to: SMARun(x: x, period: job.period, out: out(job.register), divide: job.divide)
                        )
                    }
                    Indicators.smas(runs, n)
                }
            case .smaAtChosen(let period, let o, let list):
                let count = chosenCounts[lane * chosenLists + list]
                let chosen = Indicators.Bars(start: chosenList(list), count: count)
                let dense = Double(count) > densityLimit * Double(n)
                Indicators.smaFromTotals(out(o), n, period: period, at: dense ? nil : chosen)
            case .atChosen(let operation, let list):
                let count = chosenCounts[lane * chosenLists + list]
                let bars = Indicators.Bars(start: chosenList(list), count: count)
                func value(_ x: NumericOperand) -> Kernels.Value {
                    switch x {
                    case .series(let s): .series(series(s))
                    case .constant(let c): .constant(c)
                    }
                }
                switch operation {
                case .arithmetic(let op, let a, let b, let o) where Double(count) <= densityLimit * Double(n):
                    Kernels.arithmetic(op, value(a), value(b), out(o), at: bars)
                case .compare(let op, let a, let b, let o) where Double(count) <= densityLimit * Double(n):
                    Kernels.compare(op, value(a), value(b), flagsOut(o), at: bars)
                default: execute(operation, count: n, lane)
                }
            case .chosenIndicator(let indicator, let inputs, let o, let list):
                let count = chosenCounts[lane * chosenLists + list]
                if Double(count) > densityLimit * Double(n) {
                    indicator.run(inputs.map(input), into: o.map(output))
                } else {
                    indicator.run(
                        inputs.map(input),
                        into: o.map(output),
                        at: Indicators.Bars(start: chosenList(list), count: count),
                        free: inputs.allSatisfy { isNaNFree($0, lane) }
                    )
                }
            }
        }
    }
}
