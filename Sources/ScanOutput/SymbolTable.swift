import ScanProtocol

/// A symbol listing (`scan data symbols`, `LIST_SYMBOLS`) as text.
public enum SymbolTable {
    /// One line per symbol — code, name, market, sector, market cap, the daily bars stored — then
    /// how many matched and the markets there are.
    public static func render(_ listing: SymbolListReply) -> String {
        if listing.symbols.isEmpty { return "no symbols match (\(listing.total) in all)" }
        let header = ["SYMBOL", "NAME", "MARKET", "SECTOR", "MARKET CAP", "1D BARS", "FROM", "TO"]
        let rows = listing.symbols.map { s in
            let daily = s.bars["1d"]
            return [
                s.symbol + (s.active ? "" : " (inactive)"), DisplayWidth.truncate(s.name, to: 20), s.market,
                DisplayWidth.truncate(s.sector, to: 24),
                s.marketCap.map { NumberFormat.grouped($0, decimals: 0) } ?? "",
                daily.map { NumberFormat.thousands($0.count) } ?? "", daily?.from ?? "", daily?.to ?? "",
            ]
        }
        let shown = listing.symbols.count == listing.total ? "" : " (\(listing.symbols.count) shown)"
        let footer =
            "\(NumberFormat.thousands(listing.total)) symbol\(listing.total == 1 ? "" : "s")\(shown); markets: "
            + (listing.markets.isEmpty ? "none" : listing.markets.joined(separator: ", "))
        return DisplayWidth.table(header, rows, rightAligned: [4, 5]) + "\n" + footer
    }
}
