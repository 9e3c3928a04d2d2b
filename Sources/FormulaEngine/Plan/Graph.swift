/// The stored price columns.
enum PriceField: Int, Sendable, CaseIterable {
    case open, high, low, close, volume
}

/// Elementwise numeric operations with two operands.
enum ArithmeticOperator: Sendable, Hashable {
    case add, subtract, multiply, divide, minimum, maximum

    var isCommutative: Bool { self != .subtract && self != .divide }

    /// Division by zero is undefined (NaN), as is `min`/`max` with an undefined operand.
    @inline(__always)
    func apply(_ a: Double, _ b: Double) -> Double {
        switch self {
        case .add: a + b
        case .subtract: a - b
        case .multiply: a * b
        case .divide: b == 0 ? .nan : a / b
        case .minimum: a.isNaN || b.isNaN ? .nan : (a < b ? a : b)
        case .maximum: a.isNaN || b.isNaN ? .nan : (a > b ? a : b)
        }
    }
}

/// Numeric comparisons; any comparison with an undefined operand is false (`!=` included).
enum ComparisonOperator: Sendable, Hashable {
    case greater, greaterEqual, less, lessEqual, equal, notEqual

    @inline(__always)
    func apply(_ a: Double, _ b: Double) -> Bool {
        switch self {
        case .greater: a > b
        case .greaterEqual: a >= b
        case .less: a < b
        case .lessEqual: a <= b
        case .equal: a == b
        case .notEqual: a < b || a > b
        }
    }

    /// The same comparison with its operands swapped.
    var mirrored: ComparisonOperator {
        switch self {
        case .greater: .less
        case .greaterEqual: .lessEqual
        case .less: .greater
        case .lessEqual: .greaterEqual
        case .equal, .notEqual: self
        }
    }
}

/// Elementwise numeric functions of one operand. `log` is undefined for x <= 0.
enum UnaryFunction: Sendable, Hashable {
    case negate, abs, log, sqrt

    @inline(__always)
    func apply(_ x: Double) -> Double {
        switch self {
        case .negate: -x
        case .abs: Swift.abs(x)
        case .log: x > 0 ? naturalLogarithm(x) : .nan
        case .sqrt: x.squareRoot()
        }
    }
}

/// A value in the graph: a folded constant or a node.
enum Ref: Hashable, Sendable {
    /// A numeric constant, by bit pattern so NaN constants hash and compare.
    case number(UInt64)
    case boolean(Bool)
    case node(Int)

    static func constant(_ value: Double) -> Ref { .number(value.bitPattern) }

    var constantNumber: Double? {
        if case .number(let bits) = self { return Double(bitPattern: bits) }
        return nil
    }
}

/// The type of a value: every value is a series (constants broadcast).
enum ValueType: String, Sendable {
    case numeric, boolean
}

/// A node of the formula graph. Operand fields are node ids; `Ref` operands may be constants.
enum Node: Hashable, Sendable {
    case price(PriceField)
    case fillNumber(UInt64)
    case fillBoolean(Bool)
    case arithmetic(ArithmeticOperator, Ref, Ref)
    case unary(UnaryFunction, Int)
    case compare(ComparisonOperator, Ref, Ref)
    case booleanEqual(equal: Bool, Int, Int)
    case logic(and: Bool, Int, Int)
    case not(Int)
    case history(Int, offset: Int)
    case cross(up: Bool, Int, Int)
    case barssince(Int)
    case rising(up: Bool, Int, count: Int)
    case select(Int, Int, Int)
    /// An indicator over its input nodes (in the order of ``Indicator/inputs``).
    case indicator(Indicator, inputs: [Int])
    /// Output `index` of a multi-output indicator (an ``MACDLine``, ``BollingerBand`` or
    /// ``StochasticLine``).
    case output(Int, index: Int)

    /// How many registers the node writes.
    var outputCount: Int {
        switch self {
        case .indicator(let indicator, _): indicator.outputCount
        case .price, .output: 0
        case .fillNumber, .fillBoolean, .arithmetic, .unary, .compare, .booleanEqual, .logic, .not, .history, .cross,
            .barssince, .rising, .select:
            1
        }
    }
}

/// The formula as a graph of structurally unique nodes (hash-consed), built by the checker with
/// inputs resolved and constants folded; every node records its type and its lookback.
///
/// Lookback is TA-Lib's lookback of each function, added along the nesting. EMA-like functions
/// carry an unstable period on top, following TA-Lib's unstable-period practice: 4 × period for
/// EMA and MACD (the seed's weight falls below 0.04 %), 10 × period for Wilder smoothing (`rma rsi
/// atr adx`, weight below 0.005 %). `obv` and `barssince` accumulate over the whole history given
/// and add nothing.
struct Graph: Sendable {
    private(set) var nodes: [Node] = []
    private(set) var types: [ValueType] = []
    private(set) var lookbacks: [Int] = []
    private var ids: [Node: Int] = [:]

    func type(of ref: Ref) -> ValueType {
        switch ref {
        case .number: .numeric
        case .boolean: .boolean
        case .node(let id): types[id]
        }
    }

    func lookback(of ref: Ref) -> Int {
        if case .node(let id) = ref { return lookbacks[id] }
        return 0
    }

    private mutating func intern(_ node: Node, _ type: ValueType, lookback: Int) -> Int {
        if let id = ids[node] { return id }
        let id = nodes.count
        nodes.append(node)
        types.append(type)
        lookbacks.append(lookback)
        ids[node] = id
        return id
    }

    private mutating func make(_ node: Node, _ type: ValueType, lookback: Int) -> Ref {
        .node(intern(node, type, lookback: lookback))
    }

    // MARK: Leaves

    mutating func price(_ field: PriceField) -> Ref { make(.price(field), .numeric, lookback: 0) }

    /// A node id for any ref, materializing a constant as a filled series.
    mutating func series(_ ref: Ref) -> Int {
        switch ref {
        case .node(let id): id
        case .number(let bits): intern(.fillNumber(bits), .numeric, lookback: 0)
        case .boolean(let b): intern(.fillBoolean(b), .boolean, lookback: 0)
        }
    }

    // MARK: Elementwise

    mutating func arithmetic(_ op: ArithmeticOperator, _ a: Ref, _ b: Ref) -> Ref {
        if let x = a.constantNumber, let y = b.constantNumber { return .constant(op.apply(x, y)) }
        var (a, b) = (a, b)
        if op.isCommutative, Self.order(a, b) { swap(&a, &b) }
        return make(.arithmetic(op, a, b), .numeric, lookback: max(lookback(of: a), lookback(of: b)))
    }

    mutating func unary(_ function: UnaryFunction, _ a: Ref) -> Ref {
        if let x = a.constantNumber { return .constant(function.apply(x)) }
        if function == .negate, case .node(let id) = a, case .unary(.negate, let inner) = nodes[id] {
            return .node(inner)
        }
        return make(.unary(function, series(a)), .numeric, lookback: lookback(of: a))
    }

    mutating func compare(_ op: ComparisonOperator, _ a: Ref, _ b: Ref) -> Ref {
        if let x = a.constantNumber, let y = b.constantNumber { return .boolean(op.apply(x, y)) }
        var (op, a, b) = (op, a, b)
        if Self.order(a, b) { (op, a, b) = (op.mirrored, b, a) }
        return make(.compare(op, a, b), .boolean, lookback: max(lookback(of: a), lookback(of: b)))
    }

    mutating func booleanEqual(equal: Bool, _ a: Ref, _ b: Ref) -> Ref {
        switch (a, b) {
        case (.boolean(let x), .boolean(let y)): return .boolean((x == y) == equal)
        case (.boolean(let x), _): return x == equal ? b : not(b)
        case (_, .boolean(let y)): return y == equal ? a : not(a)
        default:
            var (a, b) = (a, b)
            if Self.order(a, b) { swap(&a, &b) }
            return make(
                .booleanEqual(equal: equal, series(a), series(b)),
                .boolean,
                lookback: max(lookback(of: a), lookback(of: b))
            )
        }
    }

    mutating func logic(and: Bool, _ a: Ref, _ b: Ref) -> Ref {
        switch (a, b) {
        case (.boolean(let x), _): return x == and ? b : .boolean(x)
        case (_, .boolean(let y)): return y == and ? a : .boolean(y)
        default:
            if a == b { return a }
            var (a, b) = (a, b)
            if Self.order(a, b) { swap(&a, &b) }
            return make(
                .logic(and: and, series(a), series(b)),
                .boolean,
                lookback: max(lookback(of: a), lookback(of: b))
            )
        }
    }

    mutating func not(_ a: Ref) -> Ref {
        if case .boolean(let x) = a { return .boolean(!x) }
        if case .node(let id) = a, case .not(let inner) = nodes[id] { return .node(inner) }
        return make(.not(series(a)), .boolean, lookback: lookback(of: a))
    }

    mutating func select(_ condition: Ref, _ a: Ref, _ b: Ref) -> Ref {
        if case .boolean(let c) = condition { return c ? a : b }
        if a == b { return a }
        let lb = max(lookback(of: condition), lookback(of: a), lookback(of: b))
        return make(.select(series(condition), series(a), series(b)), type(of: a), lookback: lb)
    }

    // MARK: History and events

    mutating func history(_ a: Ref, offset: Int) -> Ref {
        guard offset > 0, case .node(let id) = a else { return a }
        if case .history(let inner, let first) = nodes[id] {
            return make(.history(inner, offset: first + offset), types[id], lookback: lookbacks[inner] + first + offset)
        }
        return make(.history(id, offset: offset), types[id], lookback: lookbacks[id] + offset)
    }

    mutating func cross(up: Bool, _ a: Ref, _ b: Ref) -> Ref {
        if a == b || (a.constantNumber != nil && b.constantNumber != nil) { return .boolean(false) }
        return make(
            .cross(up: up, series(a), series(b)),
            .boolean,
            lookback: max(lookback(of: a), lookback(of: b)) + 1
        )
    }

    mutating func barssince(_ condition: Ref) -> Ref {
        make(.barssince(series(condition)), .numeric, lookback: lookback(of: condition))
    }

    mutating func rising(up: Bool, _ a: Ref, count: Int) -> Ref {
        if a.constantNumber != nil { return .boolean(false) }
        return make(.rising(up: up, series(a), count: count), .boolean, lookback: lookback(of: a) + count)
    }

    // MARK: Indicators

    /// A single-output indicator; `source` is given exactly when the indicator reads one.
    mutating func indicator(_ indicator: Indicator, source: Ref? = nil) -> Ref {
        .node(indicatorNode(indicator, source: source))
    }

    /// One output of a multi-output indicator.
    mutating func indicator<Line: RawRepresentable<Int>>(
        _ indicator: Indicator,
        source: Ref? = nil,
        line: Line
    ) -> Ref {
        let id = indicatorNode(indicator, source: source)
        return make(.output(id, index: line.rawValue), .numeric, lookback: lookbacks[id])
    }

    private mutating func indicatorNode(_ indicator: Indicator, source: Ref?) -> Int {
        // The table's rows are fixed: a row that passes a source to an indicator of price columns, or
        // none to one that reads a source, is a bug in `Builtin.definition` (every row is compiled by
        // the built-in table test), never a consequence of the formula being checked.
        precondition(indicator.readsSource || source == nil, "\(indicator) reads price columns, not a source")
        let inputs = indicator.inputs.map { input -> Int in
            switch input {
            case .source:
                guard let source else { preconditionFailure("\(indicator) needs its source") }
                return series(source)
            case .price(let field): return series(price(field))
            }
        }
        let lookback = (inputs.map { lookbacks[$0] }.max() ?? 0) + indicator.lookback
        return intern(.indicator(indicator, inputs: inputs), .numeric, lookback: lookback)
    }

    /// The mean of price columns, summed left to right (`hl2 hlc3 ohlc4`).
    mutating func average(_ fields: [PriceField]) -> Ref {
        var sum = price(fields[0])
        for field in fields.dropFirst() { sum = arithmetic(.add, sum, price(field)) }
        return arithmetic(.divide, sum, .constant(Double(fields.count)))
    }

    /// Canonical operand order for commutative operations: constants last, then by node id.
    private static func order(_ a: Ref, _ b: Ref) -> Bool {
        switch (a, b) {
        case (.node, .number), (.node, .boolean): false
        case (.number, .node), (.boolean, .node): true
        case (.node(let x), .node(let y)): x > y
        default: false
        }
    }
}
