import FormulaEngine

/// One symbol's part of the condition funnel: per signal of the formula, how many of its bars pass
/// each clause alone and how many pass clauses 1…k together; and its near misses.
public struct FunnelCounts: Sendable, Hashable, Codable {
    /// One per signal of the formula, in declaration order.
    public var signals: [ClauseCounts]
    /// `latest` mode: signals where all clauses but one held on the symbol's last bar.
    public var nearMisses: [NearMiss]

    public init(signals: [ClauseCounts], nearMisses: [NearMiss] = []) {
        self.signals = signals
        self.nearMisses = nearMisses
    }
}

/// Bar counts per clause of one signal.
public struct ClauseCounts: Sendable, Hashable, Codable {
    /// `alone[k]`: bars where clause `k` holds.
    public var alone: [Int]
    /// `surviving[k]`: bars where clauses `0…k` all hold.
    public var surviving: [Int]

    public init(alone: [Int], surviving: [Int]) {
        self.alone = alone
        self.surviving = surviving
    }
}

/// A symbol whose last bar met every clause of a signal but one.
public struct NearMiss: Sendable, Hashable, Codable {
    public var symbol: String
    /// `YYYY-MM-DD` or ISO 8601 with offset: the bar evaluated.
    public var timestamp: String
    public var signal: String
    /// The clause that failed, as text, and its 0-based position in the signal.
    public var clause: String
    public var clauseIndex: Int
    /// For a comparison clause, its left and right operands on that bar (`nil`: undefined or not a comparison).
    public var left: Double?
    public var right: Double?

    enum CodingKeys: String, CodingKey {
        case symbol, timestamp, signal, clause, left, right
        case clauseIndex = "clause_index"
    }

    public init(
        symbol: String,
        timestamp: String,
        signal: String,
        clause: String,
        clauseIndex: Int,
        left: Double?,
        right: Double?
    ) {
        self.symbol = symbol
        self.timestamp = timestamp
        self.signal = signal
        self.clause = clause
        self.clauseIndex = clauseIndex
        self.left = left
        self.right = right
    }
}

/// The merged funnel of a scan.
public struct FunnelReport: Sendable, Hashable, Codable {
    public var signals: [SignalFunnel]
    /// Sorted by signal, then symbol.
    public var nearMisses: [NearMiss]

    enum CodingKeys: String, CodingKey {
        case signals
        case nearMisses = "near_misses"
    }

    public init(signals: [SignalFunnel], nearMisses: [NearMiss]) {
        self.signals = signals
        self.nearMisses = nearMisses
    }

    /// Merges per-symbol counts (symbols without counts, e.g. errors, are left out).
    public static func aggregate(_ plan: ExplainedPlan, results: [SymbolResult]) -> FunnelReport {
        let names = Array(plan.plan.signalNames.prefix(plan.signalCount))
        var signals = names.enumerated().map { s, name in
            let clauses = plan.clauses[s]
            return SignalFunnel(
                signal: name,
                conjunction: clauses.count > 1,
                note: clauses.count > 1
                    ? nil : "not a conjunction ('a and b and …'): its one clause is the whole expression",
                clauses: clauses.map {
                    FunnelClause(clause: $0, bars: 0, symbols: 0, survivingBars: 0, survivingSymbols: 0)
                }
            )
        }
        var misses: [NearMiss] = []
        for r in results {
            guard let f = r.funnel else { continue }
            misses += f.nearMisses
            for (s, counts) in f.signals.enumerated() where s < signals.count {
                for k in signals[s].clauses.indices where k < counts.alone.count && k < counts.surviving.count {
                    signals[s].clauses[k].bars += counts.alone[k]
                    signals[s].clauses[k].survivingBars += counts.surviving[k]
                    if counts.alone[k] > 0 { signals[s].clauses[k].symbols += 1 }
                    if counts.surviving[k] > 0 { signals[s].clauses[k].survivingSymbols += 1 }
                }
            }
        }
        misses.sort { ($0.signal, $0.symbol, $0.clauseIndex) < ($1.signal, $1.symbol, $1.clauseIndex) }
        return FunnelReport(signals: signals, nearMisses: misses)
    }

    /// One symbol's counts from an evaluation of the explained plan (`hits` in plan order), and its near
    /// misses when `lastBar` (latest mode) is given.
    public static func counts(
        _ plan: ExplainedPlan,
        hits: [SignalHits],
        symbol: String,
        lastBar: (index: Int, timestamp: String)?
    ) -> FunnelCounts {
        var out = FunnelCounts(signals: [])
        let names = plan.plan.signalNames
        for (s, clauseSignals) in plan.clauseSignals.enumerated() {
            var alone: [Int] = []
            var surviving: [Int] = []
            var survivors: [Int]? = nil
            var held: [Bool] = []
            for (position, k) in clauseSignals.enumerated() {
                let idx = k < hits.count ? hits[k].indices : []
                alone.append(idx.count)
                if position > 0, position == clauseSignals.count - 1, s < hits.count {
                    // What survives every clause of `a and b and …` is where the signal itself holds:
                    // its own hits, no intersection.
                    survivors = hits[s].indices
                } else {
                    survivors = survivors.map { Self.intersect($0, idx) } ?? idx
                }
                surviving.append(survivors?.count ?? 0)
                if let last = lastBar { held.append(idx.last == last.index) }
            }
            out.signals.append(ClauseCounts(alone: alone, surviving: surviving))
            guard let last = lastBar, held.count > 1, held.filter({ !$0 }).count == 1,
                let failed = held.firstIndex(of: false)
            else { continue }
            var left: Double?
            var right: Double?
            let cols = plan.operandColumns[s][failed]
            if cols.count == 2, let every = plan.everyBarSignal, every < hits.count,
                let position = hits[every].indices.firstIndex(of: last.index)
            {
                let columns = hits[every].columns
                func value(_ c: Int) -> Double? {
                    guard c < columns.count, position < columns[c].count, columns[c][position].isFinite else {
                        return nil
                    }
                    return columns[c][position]
                }
                left = value(cols[0])
                right = value(cols[1])
            }
            out.nearMisses.append(
                NearMiss(
                    symbol: symbol,
                    timestamp: last.timestamp,
                    signal: s < names.count ? names[s] : "",
                    clause: plan.clauses[s][failed],
                    clauseIndex: failed,
                    left: left,
                    right: right
                )
            )
        }
        return out
    }

    private static func intersect(_ a: [Int], _ b: [Int]) -> [Int] {
        var out: [Int] = []
        var i = 0
        var j = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] {
                out.append(a[i])
                i += 1
                j += 1
            } else if a[i] < b[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return out
    }
}

/// The funnel of one signal.
public struct SignalFunnel: Sendable, Hashable, Codable {
    public var signal: String
    /// Whether the signal is `a and b and …`; when not, its one clause is the whole expression.
    public var conjunction: Bool
    public var note: String?
    public var clauses: [FunnelClause]

    public init(signal: String, conjunction: Bool, note: String?, clauses: [FunnelClause]) {
        self.signal = signal
        self.conjunction = conjunction
        self.note = note
        self.clauses = clauses
    }
}

/// One clause: bars and symbols passing it alone, and surviving it and every clause before it.
public struct FunnelClause: Sendable, Hashable, Codable {
    public var clause: String
    public var bars: Int
    public var symbols: Int
    public var survivingBars: Int
    public var survivingSymbols: Int

    enum CodingKeys: String, CodingKey {
        case clause, bars, symbols
        case survivingBars = "surviving_bars"
        case survivingSymbols = "surviving_symbols"
    }

    public init(clause: String, bars: Int, symbols: Int, survivingBars: Int, survivingSymbols: Int) {
        self.clause = clause
        self.bars = bars
        self.symbols = symbols
        self.survivingBars = survivingBars
        self.survivingSymbols = survivingSymbols
    }
}
