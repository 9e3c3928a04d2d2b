import ScanCore

// The node protocol's encoding of the event study and the condition funnel (protocol/README.md §7):
// the chunk's study and explain flags, each match's forward outcome, each symbol's baseline sums and
// funnel counts.

extension BinaryWriter {
    /// `u8 horizon_count` (0: no study), then `u16 × horizon_count` and `u8 entry` (0 close, 1 next-open);
    /// then `u8 explain`.
    mutating func analysis(study: StudySpec?, explain: Bool) {
        if let study {
            u8(UInt8(study.horizons.count))
            for h in study.horizons { u16(UInt16(h)) }
            u8(study.entry == .close ? 0 : 1)
        } else {
            u8(0)
        }
        bool(explain)
    }

    /// `u8 count` (0 without a study), then `f64 × count` returns, `f64` favourable, `f64` adverse.
    mutating func forward(_ f: ForwardOutcome?) {
        guard let f, f.returnCount > 0 else {
            u8(0)
            return
        }
        let n = f.returnCount
        fields(1 + 8 * (n + 2)) { w in
            w.u8(UInt8(truncatingIfNeeded: n))
            for k in 0..<n { w.f64(f.forwardReturn(k)) }
            w.f64(f.maxFavorable)
            w.f64(f.maxAdverse)
        }
    }

    /// `u64 count, f64 sum, f64 sum_of_squares, u64 positives, u64 incomplete`.
    mutating func sample(_ s: SampleSums) {
        u64(UInt64(clamping: s.count))
        f64(s.sum)
        f64(s.sumOfSquares)
        u64(UInt64(clamping: s.positives))
        u64(UInt64(clamping: s.incomplete))
    }

    /// `bool has_baseline`, then `u8 horizon_count`, SAMPLE × horizon_count, SAMPLE favourable, SAMPLE
    /// adverse; then `bool has_funnel`, then `u32 signal_count`, per signal `u32 clause_count` and
    /// `{u64 alone, u64 surviving} × clause_count`, then `u32 near_miss_count` and per near miss
    /// `string timestamp, string signal, string clause, u32 clause_index, f64 left, f64 right` (NaN: none).
    mutating func analysis(of r: SymbolResult) {
        if let b = r.baseline {
            bool(true)
            u8(UInt8(truncatingIfNeeded: b.returns.count))
            for s in b.returns { sample(s) }
            sample(b.maxFavorable)
            sample(b.maxAdverse)
        } else {
            bool(false)
        }
        guard let f = r.funnel else {
            bool(false)
            return
        }
        bool(true)
        count(f.signals.count)
        for s in f.signals {
            count(s.alone.count)
            for (a, v) in zip(s.alone, s.surviving) {
                u64(UInt64(clamping: a))
                u64(UInt64(clamping: v))
            }
        }
        count(f.nearMisses.count)
        for m in f.nearMisses {
            string(m.timestamp)
            string(m.signal)
            string(m.clause)
            count(m.clauseIndex)
            f64(m.left ?? .nan)
            f64(m.right ?? .nan)
        }
    }
}

extension BinaryReader {
    mutating func analysis() throws(WireFormatError) -> (study: StudySpec?, explain: Bool) {
        let n = Int(try u8("study horizon count"))
        var study: StudySpec?
        if n > 0 {
            var horizons: [Int] = []
            for _ in 0..<n { horizons.append(Int(try u16("study horizon"))) }
            let entry = try u8("study entry")
            guard entry <= 1 else { throw WireFormatError("unknown study entry \(entry)") }
            do {
                study = try StudySpec(horizons: horizons, entry: entry == 0 ? .close : .nextOpen)
            } catch {
                throw WireFormatError("bad study: \(error.description)")
            }
        }
        return (study, try bool("explain flag"))
    }

    mutating func forward() throws(WireFormatError) -> ForwardOutcome? {
        let n = Int(try u8("forward return count"))
        guard n > 0 else { return nil }
        // Up to four returns inline: no array per match.
        let returns = try ForwardReturns(count: n) { _ throws(WireFormatError) in try f64("forward return") }
        return ForwardOutcome(
            stored: returns,
            maxFavorable: try f64("max favorable excursion"),
            maxAdverse: try f64("max adverse excursion")
        )
    }

    mutating func sample() throws(WireFormatError) -> SampleSums {
        SampleSums(
            count: Int(clamping: try u64("sample count")),
            sum: try f64("sample sum"),
            sumOfSquares: try f64("sample sum of squares"),
            positives: Int(clamping: try u64("sample positives")),
            incomplete: Int(clamping: try u64("sample incomplete"))
        )
    }

    mutating func analysis(symbol: String) throws(WireFormatError) -> (BaselineSums?, FunnelCounts?) {
        var baseline: BaselineSums?
        if try bool("baseline flag") {
            let n = Int(try u8("baseline horizon count"))
            var returns: [SampleSums] = []
            for _ in 0..<n { returns.append(try sample()) }
            baseline = BaselineSums(returns: returns, maxFavorable: try sample(), maxAdverse: try sample())
        }
        guard try bool("funnel flag") else { return (baseline, nil) }
        let sc = try count("funnel signal count", minItemBytes: 4)
        var signals: [ClauseCounts] = []
        for _ in 0..<sc {
            let cc = try count("funnel clause count", minItemBytes: 16)
            var alone: [Int] = []
            var surviving: [Int] = []
            for _ in 0..<cc {
                alone.append(Int(clamping: try u64("clause bars")))
                surviving.append(Int(clamping: try u64("surviving bars")))
            }
            signals.append(ClauseCounts(alone: alone, surviving: surviving))
        }
        let mc = try count("near miss count", minItemBytes: 32)
        var misses: [NearMiss] = []
        for _ in 0..<mc {
            let timestamp = try string("near miss timestamp")
            let signal = try string("near miss signal")
            let clause = try string("near miss clause")
            let index = Int(try u32("near miss clause index"))
            let left = try f64("near miss left")
            let right = try f64("near miss right")
            misses.append(
                NearMiss(
                    symbol: symbol,
                    timestamp: timestamp,
                    signal: signal,
                    clause: clause,
                    clauseIndex: index,
                    left: left.isFinite ? left : nil,
                    right: right.isFinite ? right : nil
                )
            )
        }
        return (baseline, FunnelCounts(signals: signals, nearMisses: misses))
    }
}
