// NaN-free runs, TA-Lib's comparisons with zero, and small helpers shared by the kernels.

extension Indicators {
    /// TA-Lib's `TA_EPSILON` (ta_utility.h): the half-width of its "is zero" band.
    static let epsilon = 0.00000000000001

    /// TA-Lib's `TA_IS_ZERO`.
    @inline(__always)
    static func isZero(_ v: Double) -> Bool { -epsilon < v && v < epsilon }

    /// TA-Lib's `TA_IS_ZERO_OR_NEG`.
    @inline(__always)
    static func isZeroOrNegative(_ v: Double) -> Bool { v < epsilon }

    /// Writes NaN to `out[range]`.
    @inline(__always)
    static func fillNaN(_ out: UnsafeMutablePointer<Double>, _ range: Range<Int>) {
        var i = range.lowerBound
        while i < range.upperBound {
            out[i] = .nan
            i += 1
        }
    }

    /// Index of the first NaN in `x[from..<n]`, or `n`. Checks blocks of 8 with SIMD comparisons (one
    /// branch per block).
    @inline(__always)
    static func firstNaN(_ x: UnsafePointer<Double>, from: Int, _ n: Int) -> Int {
        var i = from
        while i + 8 <= n {
            let block = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Double>.self)
            if any(block .!= block) { break }
            i += 8
        }
        while i < n, !x[i].isNaN { i += 1 }
        return i
    }

    /// Calls `body(x, out, count)` with both pointers moved to the start of each maximal NaN-free run of
    /// `x`; positions holding NaN get NaN in `out`. A NaN-free input is a single call on the whole buffer.
    @inline(__always)
    static func eachRun(
        _ x: In,
        _ out: Out,
        _ body: (UnsafePointer<Double>, UnsafeMutablePointer<Double>, Int) -> Void
    ) {
        precondition(out.count == x.count, "an indicator's output must have its input's length")
        guard let xs = x.baseAddress, let os = out.baseAddress else { return }
        let n = x.count
        var i = 0
        while i < n {
            while i < n, xs[i].isNaN {
                os[i] = .nan
                i += 1
            }
            if i == n { break }
            let end = firstNaN(xs, from: i, n)
            body(xs + i, os + i, end - i)
            i = end
        }
    }

    /// Calls `body(start, count)` for each maximal run of bars where `valid(i)` holds and `invalid(i)` for
    /// every other bar (which writes NaN to the outputs). For kernels over several price columns.
    @inline(__always)
    static func eachValidRun(
        count n: Int,
        valid: (Int) -> Bool,
        invalid: (Int) -> Void,
        _ body: (Int, Int) -> Void
    ) {
        var i = 0
        while i < n {
            while i < n, !valid(i) {
                invalid(i)
                i += 1
            }
            if i == n { break }
            var end = i
            while end < n, valid(end) { end += 1 }
            body(i, end - i)
            i = end
        }
    }
}
