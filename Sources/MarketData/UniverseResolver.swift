import ScanCore

/// Applies ``SymbolCriteria`` to a list of symbols (DESIGN §2).
///
/// - An explicit, non-empty `symbols` list wins: those symbols (active or not), with the ones the
///   store does not know reported in ``ResolvedUniverse/unknown`` (in request order).
/// - Otherwise every active symbol that matches all given filters: `markets` and `sectors` (any of
///   the listed values, compared case-insensitively), `minMarketCap`/`maxMarketCap` (inclusive; a
///   symbol without a market cap fails either bound). Empty lists mean "no filter".
/// - `exclude` applies last. The result is ordered by symbol.
public enum UniverseResolver {
    public static func resolve(_ criteria: SymbolCriteria, among all: [SymbolInfo]) -> ResolvedUniverse {
        let excluded = Set(criteria.exclude.map(normalized))
        var chosen: [SymbolInfo]
        var unknown: [String] = []
        if let explicit = criteria.symbols, !explicit.isEmpty {
            var bySymbol: [String: SymbolInfo] = [:]
            for s in all { bySymbol[s.symbol] = s }
            var seen = Set<String>()
            chosen = []
            for raw in explicit {
                let symbol = normalized(raw)
                guard !symbol.isEmpty, seen.insert(symbol).inserted else { continue }
                if let info = bySymbol[symbol] {
                    chosen.append(info)
                } else if !excluded.contains(symbol) {
                    unknown.append(symbol)
                }
            }
        } else {
            let markets = Set((criteria.markets ?? []).map { $0.lowercased() })
            let sectors = Set((criteria.sectors ?? []).map { normalized($0).lowercased() })
            chosen = all.filter { s in
                guard s.active else { return false }
                if !markets.isEmpty && !markets.contains(s.market.lowercased()) { return false }
                if !sectors.isEmpty && !sectors.contains(s.sector.lowercased()) { return false }
                if let min = criteria.minMarketCap { guard let cap = s.marketCap, cap >= min else { return false } }
                if let max = criteria.maxMarketCap { guard let cap = s.marketCap, cap <= max else { return false } }
                return true
            }
        }
        chosen.removeAll { excluded.contains($0.symbol) }
        chosen.sort { $0.symbol < $1.symbol }
        return ResolvedUniverse(symbols: chosen, unknown: unknown)
    }

    static func normalized(_ s: String) -> String {
        String(s.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
