/// A numeric series an operation reads: a price column as given, or a numeric register.
enum NumericSeries: Sendable, Hashable {
    case price(PriceField)
    case register(Int)
}

/// A term of a ``Operation/choose(_:into:within:)``: boolean register `register` holds `shift` bars later.
struct ChosenTerm: Sendable, Hashable {
    var register: Int
    var shift: Int
}

/// One SMA of ``Operation/smas(_:)``: `sma(field, period)` into numeric register `register`; with `divide`
/// false only its running totals (TA_SUM's), which a later ``Operation/smaAtChosen(period:register:at:)``
/// divides at the bars where they are needed.
struct SMAJob: Sendable, Hashable {
    var field: PriceField
    var period: Int
    var register: Int
    var divide: Bool
}

/// A numeric operand of the elementwise kernels that take constants directly.
enum NumericOperand: Sendable, Hashable {
    case series(NumericSeries)
    case constant(Double)
}

/// One array operation of a compiled formula. Numeric and boolean registers are numbered separately;
/// ``Program`` maps them onto reusable buffers.
indirect enum Operation: Sendable {
    case fillNumber(Double, into: Int)
    case fillBoolean(Bool, into: Int)
    case arithmetic(ArithmeticOperator, NumericOperand, NumericOperand, into: Int)
    case unary(UnaryFunction, NumericSeries, into: Int)
    case compare(ComparisonOperator, NumericOperand, NumericOperand, into: Int)
    case booleanEqual(equal: Bool, Int, Int, into: Int)
    case logic(and: Bool, Int, Int, into: Int)
    case not(Int, into: Int)
    case historyNumber(NumericSeries, offset: Int, into: Int)
    case historyBoolean(Int, offset: Int, into: Int)
    case cross(up: Bool, NumericSeries, NumericSeries, into: Int)
    case barssince(Int, into: Int)
    case rising(up: Bool, NumericSeries, count: Int, into: Int)
    case selectNumber(Int, NumericSeries, NumericSeries, into: Int)
    case selectBoolean(Int, Int, Int, into: Int)
    /// Reads `inputs` (in the order of ``Indicator/inputs``), writes one register per output.
    case indicator(Indicator, inputs: [NumericSeries], into: [Int])
    /// The bars where every term holds (boolean register `register` at the bar `shift` later), as a list
    /// of indices into chosen-bars list `into`; with `within`, only bars of that earlier list are tested
    /// (its terms are left out of `terms`).
    case choose([ChosenTerm], into: Int, within: Int?)
    /// ``indicator(_:inputs:into:)`` whose outputs are needed only at the bars of chosen-bars list `at`
    /// (elsewhere they hold whatever the kernel left there).
    case chosenIndicator(Indicator, inputs: [NumericSeries], into: [Int], at: Int)
    /// Several SMAs of price columns in one pass (``Indicators/smas(_:_:)``: their running totals are
    /// independent chains of additions, side by side instead of one after the other).
    case smas([SMAJob])
    /// An SMA of ``smas(_:)`` needed only at the bars of chosen-bars list `at`: its running totals in
    /// `register` divided there, in place (every bar when the list is dense).
    case smaAtChosen(period: Int, register: Int, at: Int)
    /// An elementwise ``arithmetic(_:_:_:into:)`` or ``compare(_:_:_:into:)`` needed only at the bars of
    /// chosen-bars list `at` (elsewhere its output holds whatever the buffer held).
    case atChosen(Operation, at: Int)

    /// Registers read and written, as (numeric reads, boolean reads, numeric writes, boolean writes).
    var registers: (numericReads: [Int], booleanReads: [Int], numericWrites: [Int], booleanWrites: [Int]) {
        func r(_ s: NumericSeries) -> [Int] { if case .register(let x) = s { [x] } else { [] } }
        func r(_ o: NumericOperand) -> [Int] { if case .series(let s) = o { r(s) } else { [] } }
        switch self {
        case .fillNumber(_, let o): return ([], [], [o], [])
        case .fillBoolean(_, let o): return ([], [], [], [o])
        case .arithmetic(_, let a, let b, let o): return (r(a) + r(b), [], [o], [])
        case .unary(_, let a, let o): return (r(a), [], [o], [])
        case .compare(_, let a, let b, let o): return (r(a) + r(b), [], [], [o])
        case .booleanEqual(_, let a, let b, let o), .logic(_, let a, let b, let o): return ([], [a, b], [], [o])
        case .not(let a, let o): return ([], [a], [], [o])
        case .historyNumber(let a, _, let o): return (r(a), [], [o], [])
        case .historyBoolean(let a, _, let o): return ([], [a], [], [o])
        case .cross(_, let a, let b, let o): return (r(a) + r(b), [], [], [o])
        case .barssince(let c, let o): return ([], [c], [o], [])
        case .rising(_, let a, _, let o): return (r(a), [], [], [o])
        case .selectNumber(let c, let a, let b, let o): return (r(a) + r(b), [c], [o], [])
        case .selectBoolean(let c, let a, let b, let o): return ([], [c, a, b], [], [o])
        case .indicator(_, let inputs, let o), .chosenIndicator(_, let inputs, let o, _):
            return (inputs.flatMap(r), [], o, [])
        case .choose(let terms, _, _): return ([], terms.map(\.register), [], [])
        case .smas(let jobs): return ([], [], jobs.map(\.register), [])
        // Reads the totals and writes the averages over them: the same buffer, so a read.
        case .smaAtChosen(_, let register, _): return ([register], [], [], [])
        case .atChosen(let operation, _): return operation.registers
        }
    }
}

/// The flat list of array operations a ``FormulaPlan`` runs per symbol, with its register
/// allocation: registers whose values are no longer needed hand their buffer to later operations.
struct Program: Sendable {
    var operations: [Operation] = []
    /// Numeric register → buffer index.
    var numericBuffer: [Int] = []
    /// Boolean register → buffer index.
    var booleanBuffer: [Int] = []
    var numericBufferCount = 0
    var booleanBufferCount = 0
    /// Boolean register of each signal.
    var signals: [Int] = []
    /// Each column's value.
    var columns: [NumericOperand] = []
    /// Whether a kernel needs the integer scratch buffer (monotonic deques).
    var needsScratch = false
    /// How many chosen-bars lists ``Operation/choose(_:into:within:)`` writes.
    var chosenListCount = 0

    /// Lowers the nodes reachable from the roots in the order of ``Needs/schedule``; indicators that can
    /// compute their outputs at chosen bars only and are needed at fewer than every bar get a
    /// ``Operation/choose(_:into:within:)`` of those bars before them.
    init(graph: Graph, signals signalRefs: [Ref], columns columnRefs: [Ref]) {
        var graph = graph
        let signalIDs = signalRefs.map { graph.series($0) }
        let nodes = graph.nodes
        var reachable = [Bool](repeating: false, count: nodes.count)
        for id in signalIDs { reachable[id] = true }
        for ref in columnRefs { if case .node(let id) = ref { reachable[id] = true } }
        for id in nodes.indices.reversed() where reachable[id] {
            for child in Needs.children(of: nodes[id]) { reachable[child] = true }
        }
        let columnIDs = columnRefs.compactMap { if case .node(let id) = $0 { id } else { nil } }
        let needs = Needs(nodes: nodes, reachable: reachable, signals: signalIDs, columns: columnIDs) { node in
            if case .indicator(let indicator, _) = node { indicator.chosenBarsSaving } else { 0 }
        }
        var lowered = [Bool](repeating: false, count: nodes.count)
        var chosenLists: [[ChosenTerm]: Int] = [:]

        var numericRegisters = 0
        var booleanRegisters = 0
        /// First register of each node (multi-output nodes own consecutive registers).
        var register = [Int](repeating: -1, count: nodes.count)

        func series(_ id: Int) -> NumericSeries {
            switch nodes[id] {
            case .price(let field): return .price(field)
            case .output(let parent, let index): return .register(register[parent] + index)
            default: return .register(register[id])
            }
        }
        func operand(_ ref: Ref) -> NumericOperand {
            switch ref {
            case .node(let id): .series(series(id))
            case .number(let bits): .constant(Double(bitPattern: bits))
            case .boolean: preconditionFailure("a boolean as a numeric operand: the checker types every operand")
            }
        }
        func flag(_ id: Int) -> Int { register[id] }
        /// The chosen-bars list of `terms`, its ``Operation/choose(_:into:within:)`` appended when new.
        func chosenList(_ terms: [ChosenTerm]) -> Int {
            if let existing = chosenLists[terms] { return existing }
            let list = chosenListCount
            chosenListCount += 1
            // The earlier list with the most of these terms and no others: only its bars are tested.
            let wanted = Set(terms)
            let within = chosenLists.filter { Set($0.key).isSubset(of: wanted) }
                .max { a, b in a.key.count != b.key.count ? a.key.count < b.key.count : a.value > b.value }
            let extra = terms.filter { !(within?.key.contains($0) ?? false) }
            operations.append(.choose(extra, into: list, within: within?.value))
            chosenLists[terms] = list
            return list
        }
        /// The price column an SMA of ``Operation/smas(_:)`` reads, or nil when it is not one.
        func fusableSMA(_ node: Node) -> (field: PriceField, period: Int)? {
            guard case .indicator(.sma(let period), let inputs) = node, period > 1, inputs.count == 1,
                case .price(let field) = nodes[inputs[0]]
            else { return nil }
            return (field, period)
        }
        // Two or more SMAs of price columns run in one pass; then those needed at some bars only are divided
        // only there (in a pass of its own an SMA's additions take longer than its divisions: nothing to save).
        let fuseSMAs = needs.schedule.count { fusableSMA(nodes[$0]) != nil } >= 2
        var smaJobs: [SMAJob] = []

        for id in needs.schedule {
            let node = nodes[id]
            let isBoolean = graph.types[id] == .boolean
            if node.outputCount > 0 {
                if isBoolean {
                    register[id] = booleanRegisters
                    booleanRegisters += node.outputCount
                } else {
                    register[id] = numericRegisters
                    numericRegisters += node.outputCount
                }
            }
            let o = register[id]
            let outputs = Array(o..<(o + max(node.outputCount, 0)))
            let operation: Operation?
            // Terms on nodes not yet computed are left out: fewer terms, more bars (never fewer).
            let known: [NeedTerm] = (needs.need[id] ?? []).filter { lowered[$0.node] }
            let terms: [ChosenTerm] = known.map { ChosenTerm(register: flag($0.node), shift: $0.shift) }
                .sorted { a, b in a.register != b.register ? a.register < b.register : a.shift < b.shift }
            /// An elementwise operation at the chosen bars of an indicator before it (never a list of its own).
            func elementwise(_ operation: Operation) -> Operation {
                guard !terms.isEmpty, let list = chosenLists[terms] else { return operation }
                return .atChosen(operation, at: list)
            }
            switch node {
            case .price, .output: operation = nil
            case .fillNumber(let bits): operation = .fillNumber(Double(bitPattern: bits), into: o)
            case .fillBoolean(let b): operation = .fillBoolean(b, into: o)
            case .arithmetic(let op, let a, let b):
                operation = elementwise(.arithmetic(op, operand(a), operand(b), into: o))
            case .unary(let f, let a): operation = .unary(f, series(a), into: o)
            case .compare(let op, let a, let b): operation = elementwise(.compare(op, operand(a), operand(b), into: o))
            case .booleanEqual(let equal, let a, let b):
                operation = .booleanEqual(equal: equal, flag(a), flag(b), into: o)
            case .logic(let and, let a, let b): operation = .logic(and: and, flag(a), flag(b), into: o)
            case .not(let a): operation = .not(flag(a), into: o)
            case .history(let a, let offset):
                operation =
                    isBoolean
                    ? .historyBoolean(flag(a), offset: offset, into: o)
                    : .historyNumber(series(a), offset: offset, into: o)
            case .cross(let up, let a, let b): operation = .cross(up: up, series(a), series(b), into: o)
            case .barssince(let c): operation = .barssince(flag(c), into: o)
            case .rising(let up, let a, let count):
                operation = .rising(up: up, series(a), count: count, into: o)
                needsScratch = true
            case .select(let c, let a, let b):
                operation =
                    isBoolean
                    ? .selectBoolean(flag(c), flag(a), flag(b), into: o)
                    : .selectNumber(flag(c), series(a), series(b), into: o)
            case .indicator(let indicator, let inputs):
                if fuseSMAs, let sma = fusableSMA(node) {
                    let list = terms.isEmpty ? nil : chosenList(terms)
                    smaJobs.append(SMAJob(field: sma.field, period: sma.period, register: o, divide: list == nil))
                    operation = list.map { .smaAtChosen(period: sma.period, register: o, at: $0) }
                } else if !terms.isEmpty, indicator.runsAtChosenBars(outputs: needs.usedOutputs[id] ?? []) {
                    let list = chosenList(terms)
                    operation = .chosenIndicator(indicator, inputs: inputs.map(series), into: outputs, at: list)
                } else {
                    operation = .indicator(indicator, inputs: inputs.map(series), into: outputs)
                }
            }
            if let operation { operations.append(operation) }
            lowered[id] = true
        }
        // Price columns only: the pass can run first.
        if !smaJobs.isEmpty { operations.insert(.smas(smaJobs), at: 0) }
        signals = signalIDs.map(flag)
        columns = columnRefs.map(operand)
        allocate(numericRegisters: numericRegisters, booleanRegisters: booleanRegisters)
    }

    /// Linear-scan buffer assignment: an operation's outputs get buffers before its inputs' buffers
    /// are released (kernels never write over their inputs); signals and columns live to the end.
    private mutating func allocate(numericRegisters: Int, booleanRegisters: Int) {
        let forever = Int.max
        var numericLastUse = [Int](repeating: -1, count: numericRegisters)
        var booleanLastUse = [Int](repeating: -1, count: booleanRegisters)
        for (index, operation) in operations.enumerated() {
            let r = operation.registers
            for x in r.numericReads { numericLastUse[x] = index }
            for x in r.booleanReads { booleanLastUse[x] = index }
        }
        for s in signals { booleanLastUse[s] = forever }
        for case .series(.register(let x)) in columns { numericLastUse[x] = forever }

        numericBuffer = [Int](repeating: 0, count: numericRegisters)
        booleanBuffer = [Int](repeating: 0, count: booleanRegisters)
        var freeNumeric: [Int] = []
        var freeBoolean: [Int] = []
        for (index, operation) in operations.enumerated() {
            let r = operation.registers
            for x in r.numericWrites {
                if let b = freeNumeric.popLast() {
                    numericBuffer[x] = b
                } else {
                    numericBuffer[x] = numericBufferCount
                    numericBufferCount += 1
                }
            }
            for x in r.booleanWrites {
                if let b = freeBoolean.popLast() {
                    booleanBuffer[x] = b
                } else {
                    booleanBuffer[x] = booleanBufferCount
                    booleanBufferCount += 1
                }
            }
            for x in Set(r.numericReads + r.numericWrites) where numericLastUse[x] <= index {
                freeNumeric.append(numericBuffer[x])
            }
            for x in Set(r.booleanReads + r.booleanWrites) where booleanLastUse[x] <= index {
                freeBoolean.append(booleanBuffer[x])
            }
        }
    }
}
