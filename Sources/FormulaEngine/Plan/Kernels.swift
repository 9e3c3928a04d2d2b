/// The elementwise and event kernels the evaluator runs (the indicator kernels live in
/// ``Indicators``). Raw pointer loops the optimizer vectorizes; no allocation.
///
/// Booleans are bytes, 0 or 1.
enum Kernels {
    typealias Numbers = UnsafePointer<Double>
    typealias Flags = UnsafePointer<UInt8>
    typealias NumbersOut = UnsafeMutablePointer<Double>
    typealias FlagsOut = UnsafeMutablePointer<UInt8>

    @inline(__always)
    private static func map(_ n: Int, _ o: NumbersOut, _ f: (Int) -> Double) {
        for i in 0..<n { o[i] = f(i) }
    }

    @inline(__always)
    private static func test(_ n: Int, _ o: FlagsOut, _ f: (Int) -> Bool) {
        for i in 0..<n { o[i] = bit(f(i)) }
    }

    static func fill(_ value: Double, _ o: NumbersOut, _ n: Int) { o.update(repeating: value, count: n) }
    static func fill(_ value: Bool, _ o: FlagsOut, _ n: Int) { o.update(repeating: value ? 1 : 0, count: n) }

    // MARK: Arithmetic

    static func arithmetic(_ op: ArithmeticOperator, _ a: Numbers, _ b: Numbers, _ o: NumbersOut, _ n: Int) {
        switch op {
        case .add: map(n, o) { a[$0] + b[$0] }
        case .subtract: map(n, o) { a[$0] - b[$0] }
        case .multiply: map(n, o) { a[$0] * b[$0] }
        case .divide: map(n, o) { b[$0] == 0 ? .nan : a[$0] / b[$0] }
        case .minimum: map(n, o) { ArithmeticOperator.minimum.apply(a[$0], b[$0]) }
        case .maximum: map(n, o) { ArithmeticOperator.maximum.apply(a[$0], b[$0]) }
        }
    }

    static func arithmetic(_ op: ArithmeticOperator, _ a: Numbers, _ c: Double, _ o: NumbersOut, _ n: Int) {
        switch op {
        case .add: map(n, o) { a[$0] + c }
        case .subtract: map(n, o) { a[$0] - c }
        case .multiply: map(n, o) { a[$0] * c }
        case .divide:
            if c == 0 { o.update(repeating: .nan, count: n) } else { map(n, o) { a[$0] / c } }
        case .minimum: map(n, o) { ArithmeticOperator.minimum.apply(a[$0], c) }
        case .maximum: map(n, o) { ArithmeticOperator.maximum.apply(a[$0], c) }
        }
    }

    static func arithmetic(_ op: ArithmeticOperator, _ c: Double, _ b: Numbers, _ o: NumbersOut, _ n: Int) {
        switch op {
        case .subtract: map(n, o) { c - b[$0] }
        case .divide: map(n, o) { b[$0] == 0 ? .nan : c / b[$0] }
        default: arithmetic(op, b, c, o, n)  // commutative
        }
    }

    static func unary(_ f: UnaryFunction, _ a: Numbers, _ o: NumbersOut, _ n: Int) {
        switch f {
        case .negate: map(n, o) { -a[$0] }
        case .abs: map(n, o) { Swift.abs(a[$0]) }
        case .log: map(n, o) { UnaryFunction.log.apply(a[$0]) }
        case .sqrt: map(n, o) { a[$0].squareRoot() }
        }
    }

    // MARK: Comparisons and logic

    static func compare(_ op: ComparisonOperator, _ a: Numbers, _ b: Numbers, _ o: FlagsOut, _ n: Int) {
        switch op {
        case .greater: test(n, o) { a[$0] > b[$0] }
        case .greaterEqual: test(n, o) { a[$0] >= b[$0] }
        case .less: test(n, o) { a[$0] < b[$0] }
        case .lessEqual: test(n, o) { a[$0] <= b[$0] }
        case .equal: test(n, o) { a[$0] == b[$0] }
        case .notEqual: test(n, o) { a[$0] < b[$0] || a[$0] > b[$0] }
        }
    }

    static func compare(_ op: ComparisonOperator, _ a: Numbers, _ c: Double, _ o: FlagsOut, _ n: Int) {
        switch op {
        case .greater: test(n, o) { a[$0] > c }
        case .greaterEqual: test(n, o) { a[$0] >= c }
        case .less: test(n, o) { a[$0] < c }
        case .lessEqual: test(n, o) { a[$0] <= c }
        case .equal: test(n, o) { a[$0] == c }
        case .notEqual: test(n, o) { a[$0] < c || a[$0] > c }
        }
    }

    static func logic(and: Bool, _ a: Flags, _ b: Flags, _ o: FlagsOut, _ n: Int) {
        if and {
            for i in 0..<n { o[i] = a[i] & b[i] }
        } else {
            for i in 0..<n { o[i] = a[i] | b[i] }
        }
    }

    static func booleanEqual(equal: Bool, _ a: Flags, _ b: Flags, _ o: FlagsOut, _ n: Int) {
        let flip: UInt8 = equal ? 1 : 0
        for i in 0..<n { o[i] = (a[i] ^ b[i]) ^ flip }
    }

    static func not(_ a: Flags, _ o: FlagsOut, _ n: Int) {
        for i in 0..<n { o[i] = a[i] ^ 1 }
    }

    static func select(_ c: Flags, _ a: Numbers, _ b: Numbers, _ o: NumbersOut, _ n: Int) {
        map(n, o) { c[$0] != 0 ? a[$0] : b[$0] }
    }

    static func select(_ c: Flags, _ a: Flags, _ b: Flags, _ o: FlagsOut, _ n: Int) {
        for i in 0..<n { o[i] = c[i] != 0 ? a[i] : b[i] }
    }

    // MARK: History and events

    /// `x[offset]`: NaN before the first bar.
    static func history(_ a: Numbers, offset: Int, _ o: NumbersOut, _ n: Int) {
        let head = min(offset, n)
        o.update(repeating: .nan, count: head)
        if n > head { (o + head).update(from: a, count: n - head) }
    }

    /// `x[offset]` of a boolean: false before the first bar.
    static func history(_ a: Flags, offset: Int, _ o: FlagsOut, _ n: Int) {
        let head = min(offset, n)
        o.update(repeating: 0, count: head)
        if n > head { (o + head).update(from: a, count: n - head) }
    }

    /// `crossover(a, b)`: a > b now and a <= b on the previous bar; `crossunder` mirrored.
    /// Branch-free so the loop vectorizes (comparisons with NaN are false on both sides).
    static func cross(up: Bool, _ a: Numbers, _ b: Numbers, _ o: FlagsOut, _ n: Int) {
        guard n > 0 else { return }
        o[0] = 0
        guard n > 1 else { return }
        let a1 = a + 1
        let b1 = b + 1
        let o1 = o + 1
        let m = n &- 1
        if up {
            for i in 0..<m { o1[i] = bit(a1[i] > b1[i]) & bit(a[i] <= b[i]) }
        } else {
            for i in 0..<m { o1[i] = bit(a1[i] < b1[i]) & bit(a[i] >= b[i]) }
        }
    }

    /// A Bool's byte (0 or 1), without a branch.
    @inline(__always)
    static func bit(_ b: Bool) -> UInt8 { unsafeBitCast(b, to: UInt8.self) }

    /// Bars since the condition was last true (0 when true now); NaN before it ever was.
    static func barssince(_ c: Flags, _ o: NumbersOut, _ n: Int) {
        var last = -1
        for i in 0..<n {
            if c[i] != 0 { last = i }
            o[i] = last < 0 ? .nan : Double(i - last)
        }
    }

    /// `rising(x, count)`: x is greater than each of its previous `count` values (all defined);
    /// `falling` mirrored. O(n) with a monotonic deque of indices in `deque` (n slots).
    static func rising(
        up: Bool,
        _ x: Numbers,
        count: Int,
        _ o: FlagsOut,
        _ n: Int,
        deque: UnsafeMutablePointer<Int>
    ) {
        var head = 0
        var tail = 0
        var lastUndefined = -1
        for i in 0..<n {
            // The window is x[i - count ..< i]: entries pushed up to i - 1.
            while head < tail, deque[head] < i - count { head += 1 }
            let windowDefined = i >= count && lastUndefined < i - count
            if windowDefined, head < tail {
                let extreme = x[deque[head]]
                o[i] = (up ? x[i] > extreme : x[i] < extreme) ? 1 : 0
            } else {
                o[i] = 0
            }
            let v = x[i]
            if v.isNaN {
                lastUndefined = i
                continue
            }
            if up {
                while head < tail, x[deque[tail - 1]] <= v { tail -= 1 }
            } else {
                while head < tail, x[deque[tail - 1]] >= v { tail -= 1 }
            }
            deque[tail] = i
            tail += 1
        }
    }

    // MARK: Chosen bars

    /// An operand of the elementwise kernels at chosen bars.
    enum Value {
        case series(Numbers)
        case constant(Double)

        @inline(__always)
        subscript(i: Int) -> Double {
            switch self {
            case .series(let x): x[i]
            case .constant(let c): c
            }
        }
    }

    /// ``arithmetic(_:_:_:_:_:)`` at the chosen bars only (the same operation: `ArithmeticOperator.apply`).
    static func arithmetic(_ op: ArithmeticOperator, _ a: Value, _ b: Value, _ o: NumbersOut, at bars: Indicators.Bars)
    {
        for bar in bars {
            let i = Int(bar)
            o[i] = op.apply(a[i], b[i])
        }
    }

    /// ``compare(_:_:_:_:_:)`` at the chosen bars only (the same comparison: `ComparisonOperator.apply`).
    static func compare(_ op: ComparisonOperator, _ a: Value, _ b: Value, _ o: FlagsOut, at bars: Indicators.Bars) {
        for bar in bars {
            let i = Int(bar)
            o[i] = bit(op.apply(a[i], b[i]))
        }
    }

    /// The bars `i` where every term's flags hold at `i + shift` (false past the end), ascending, into
    /// `out`; returns how many. `scratch` holds `n` bytes.
    static func choose(
        _ terms: [(flags: Flags, shift: Int)],
        _ n: Int,
        scratch: FlagsOut,
        into out: UnsafeMutablePointer<Int32>
    ) -> Int {
        guard let first = terms.first else {
            for i in 0..<n { out[i] = Int32(truncatingIfNeeded: i) }
            return n
        }
        if terms.count == 1, first.shift == 0 { return indices(first.flags, n, into: out) }
        func head(_ shift: Int) -> Int { max(0, n - shift) }
        let h = head(first.shift)
        scratch.update(from: first.flags + min(first.shift, n), count: h)
        (scratch + h).update(repeating: 0, count: n - h)
        for term in terms.dropFirst() {
            let f = term.flags + min(term.shift, n)
            let m = head(term.shift)
            for i in 0..<m { scratch[i] &= f[i] }
            (scratch + m).update(repeating: 0, count: n - m)
        }
        return indices(UnsafePointer(scratch), n, into: out)
    }

    /// The bars of `within` where every term's flags hold at `i + shift` (false past the end), in order, into
    /// `out`; returns how many. Costs per bar of `within`, not per bar of the series.
    static func choose(
        _ terms: [(flags: Flags, shift: Int)],
        _ n: Int,
        within: UnsafeBufferPointer<Int32>,
        into out: UnsafeMutablePointer<Int32>
    ) -> Int {
        var written = 0
        for index in within {
            let i = Int(index)
            var all: UInt8 = 1
            for term in terms {
                let j = i + term.shift
                all &= j < n ? term.flags[j] : 0
            }
            out[written] = index
            written &+= Int(all)
        }
        return written
    }

    /// The indices of the set flags of `flags[0 ..< n]`, ascending, into `out`; returns how many. Eight flags
    /// per load; each set one found from the word's trailing zeros.
    static func indices(_ flags: Flags, _ n: Int, into out: UnsafeMutablePointer<Int32>) -> Int {
        let raw = UnsafeRawPointer(flags)
        var written = 0
        var i = 0
        while i + 8 <= n {
            var word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            while word != 0 {
                out[written] = Int32(truncatingIfNeeded: i + word.trailingZeroBitCount >> 3)
                written += 1
                word &= word &- 1
            }
            i += 8
        }
        while i < n {
            out[written] = Int32(truncatingIfNeeded: i)
            written &+= Int(flags[i])
            i += 1
        }
        return written
    }

    // MARK: Hits

    /// How many flags of `range` are set: eight flags (bytes, 0 or 1) per 64-bit addition, the eight byte
    /// sums added up every 255 words, before one could overflow.
    static func setCount(_ flags: Flags, in range: Range<Int>) -> Int {
        let raw = UnsafeRawPointer(flags)
        var i = range.lowerBound
        let end = range.upperBound
        var count = 0
        while end - i >= 8 {
            let blockEnd = min(end, i + 8 * 255)
            var bytes: UInt64 = 0
            while blockEnd - i >= 8 {
                bytes &+= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i += 8
            }
            let pairs = (bytes & 0x00FF_00FF_00FF_00FF) &+ ((bytes >> 8) & 0x00FF_00FF_00FF_00FF)
            count += Int(truncatingIfNeeded: (pairs &* 0x0001_0001_0001_0001) >> 48)
        }
        while i < end {
            count &+= Int(flags[i])
            i += 1
        }
        return count
    }

    /// The indices in `range` whose flag is set, in order: counted first (a vectorised sum of the bytes),
    /// then written into an array of exactly that size, eight flags per load: a clear word is skipped,
    /// and each set flag of a word is found from its trailing zeros (flags are bytes, 0 or 1; the word is
    /// little-endian), so a dense clause costs one step per set flag, not one branch per flag.
    static func hits(_ flags: Flags, in range: Range<Int>) -> [Int] {
        let count = setCount(flags, in: range)
        guard count > 0 else { return [] }
        let raw = UnsafeRawPointer(flags)
        return [Int](unsafeUninitializedCapacity: count) { buffer, initialized in
            var i = range.lowerBound
            let end = range.upperBound
            var written = 0
            while end - i >= 8, written < count {
                var word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                while word != 0 {
                    buffer[written] = i &+ word.trailingZeroBitCount >> 3
                    written &+= 1
                    word &= word &- 1
                }
                i &+= 8
            }
            while i < end, written < count {
                if flags[i] != 0 {
                    buffer[written] = i
                    written &+= 1
                }
                i &+= 1
            }
            initialized = written
        }
    }
}
