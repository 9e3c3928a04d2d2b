import ScanCore

/// Imports symbols from a CSV file, all or nothing: MarketScan's own
/// `symbol,name,market,sector,market_cap[,active]`, or the KRX data portal's listing download
/// (`종목코드,종목명,시장구분,업종명,…,시가총액`, CP949, market caps with thousands separators).
///
/// Only `symbol` (`종목코드`) is required; the header is matched case-insensitively in any order and
/// extra columns are ignored. An empty `market_cap` means unknown. `active` (optional) takes
/// `1/0/true/false/yes/no`. The KRX market names `유가증권`/`코스피`, `코스닥`, `코넥스` and
/// `KOSDAQ GLOBAL` are stored as `KOSPI`, `KOSDAQ`, `KONEX`, `KOSDAQ`. Known symbols are updated. A
/// file with any bad row (blank symbol, a market cap that is not a non-negative number, a bad
/// `active`, a symbol seen twice) imports nothing. The file is UTF-8 or CP949 (``TextEncoding``).
public struct SymbolImporter {
    public let store: any MarketDataBackend
    /// The file's text encoding.
    public let encoding: TextEncoding

    public init(store: any MarketDataBackend, encoding: TextEncoding = .auto) {
        self.store = store
        self.encoding = encoding
    }

    /// The header names of each field: MarketScan's, then the KRX listing's.
    private static let synonyms: [String: [String]] = [
        "symbol": ["symbol", "종목코드"], "name": ["name", "종목명"], "market": ["market", "시장구분"],
        "sector": ["sector", "업종명"], "market_cap": ["market_cap", "시가총액"], "active": ["active"],
    ]

    /// KRX market names as stored.
    static func normalizedMarket(_ market: String) -> String {
        switch market {
        case "유가증권", "코스피", "유가증권시장": "KOSPI"
        case "코스닥", "코스닥시장", "KOSDAQ GLOBAL": "KOSDAQ"
        case "코넥스", "코넥스시장": "KONEX"
        default: market
        }
    }

    /// Checks and imports the file at `path`; returns the number of symbols written.
    public func importFile(path: String) throws -> Int {
        let reader = try CSVReader(path: path, encoding: encoding)
        guard try reader.next() else {
            throw ImportFailure(
                file: path,
                problems: [.init(line: 1, message: "empty file: no header")],
                problemCount: 1
            )
        }
        var byName: [String: Int] = [:]
        for i in 0..<reader.fieldCount where byName[reader.string(i).lowercased()] == nil {
            byName[reader.string(i).lowercased()] = i
        }
        var col: [String: Int] = [:]
        for (field, names) in Self.synonyms {
            if let i = names.lazy.compactMap({ byName[$0] }).first { col[field] = i }
        }
        // Only the KRX listing groups digits with commas; in MarketScan's own layout `1,000` is refused.
        let grouped = byName["종목코드"] != nil
        guard let symbolIndex = col["symbol"] else {
            throw ImportFailure(
                file: path,
                problems: [.init(line: reader.line, message: "header lacks column symbol (or 종목코드)")],
                problemCount: 1
            )
        }
        var problems: [ImportIssue] = []
        var seen: [String: Int] = [:]
        var symbols: [SymbolInfo] = []
        while try reader.next() {
            let line = reader.line
            if let m = reader.malformation {
                problems.append(.init(line: line, message: m))
                continue
            }
            let symbol = reader.string(symbolIndex)
            guard !symbol.isEmpty else {
                problems.append(.init(line: line, message: "missing value for 'symbol'"))
                continue
            }
            if let first = seen[symbol] {
                problems.append(.init(line: line, message: "duplicate symbol '\(symbol)' (first on line \(first))"))
                continue
            }
            seen[symbol] = line
            var info = SymbolInfo(symbol: symbol)
            if let i = col["name"] { info.name = reader.string(i) }
            if let i = col["market"] { info.market = Self.normalizedMarket(reader.string(i)) }
            if let i = col["sector"] { info.sector = reader.string(i) }
            if let i = col["market_cap"], !reader.isBlank(i) {
                guard let cap = grouped ? reader.groupedDouble(i) : reader.double(i), cap >= 0 else {
                    problems.append(
                        .init(line: line, message: "market_cap '\(reader.string(i))' is not a non-negative number")
                    )
                    continue
                }
                info.marketCap = cap
            }
            if let i = col["active"], !reader.isBlank(i) {
                switch reader.string(i).lowercased() {
                case "1", "true", "yes", "y": info.active = true
                case "0", "false", "no", "n": info.active = false
                default:
                    problems.append(.init(line: line, message: "active '\(reader.string(i))' is not 1/0/true/false"))
                    continue
                }
            }
            symbols.append(info)
        }
        if !problems.isEmpty {
            throw ImportFailure(
                file: path,
                problems: Array(problems.prefix(ImportFailure.listLimit)),
                problemCount: problems.count
            )
        }
        try store.upsertSymbols(symbols)
        return symbols.count
    }
}
