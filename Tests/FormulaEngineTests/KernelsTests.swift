import Testing

@testable import FormulaEngine

/// The elementwise kernels' shortcuts against their plain definitions.
@Suite struct KernelsTests {
    @Test func setCountIsTheNumberOfSetFlags() {
        var state: UInt64 = 7
        for n in [0, 1, 7, 8, 9, 63, 2_039, 2_040, 2_041, 2_048, 5_000, 20_000] {
            let flags = (0..<n).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state >> 61 == 0 ? 0 : 1
            }
            flags.withUnsafeBufferPointer { f in
                let base = f.baseAddress ?? UnsafePointer(bitPattern: 8)!
                for range in [0..<n, (n / 3)..<n, 0..<(n / 2), (n / 5)..<(n - n / 7)] where range.count >= 0 {
                    let expected = range.reduce(0) { $0 + Int(f.isEmpty ? 0 : f[$1]) }
                    #expect(Kernels.setCount(base, in: range) == expected, "n \(n), \(range)")
                }
            }
        }
        // All set: the byte sums' largest case.
        let all = [UInt8](repeating: 1, count: 10_000)
        all.withUnsafeBufferPointer { #expect(Kernels.setCount($0.baseAddress!, in: 0..<10_000) == 10_000) }
    }

    /// `hits` against filtering the range, at densities from none to all set, for ranges starting and
    /// ending inside a word.
    @Test func hitsAreTheSetFlagsInOrder() {
        var state: UInt64 = 11
        for n in [0, 1, 7, 8, 9, 17, 64, 1_001, 5_000] {
            for clearShift in [0, 60, 62, 63, 64] {
                let flags = (0..<n).map { _ -> UInt8 in
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    // clearShift 0: none set; 64: all set; otherwise about 1/16, 1/4, 1/2 clear.
                    return clearShift == 64 ? 1 : clearShift == 0 ? 0 : (state >> UInt64(clearShift) == 0 ? 0 : 1)
                }
                flags.withUnsafeBufferPointer { f in
                    let base = f.baseAddress ?? UnsafePointer(bitPattern: 8)!
                    for range in [0..<n, (n / 3)..<n, 0..<(n / 2), (n / 5)..<(n - n / 7), (n / 2)..<(n / 2)] {
                        let expected = range.filter { f[$0] != 0 }
                        #expect(Kernels.hits(base, in: range) == expected, "n \(n), shift \(clearShift), \(range)")
                    }
                }
            }
        }
    }
}
