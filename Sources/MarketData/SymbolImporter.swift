import ScanCore

/// Imports symbols from a CSV file (`symbol,name,market,sector,market_cap[,active]`), all or nothing.
///
/// Only `symbol` is required; the header is matched case-insensitively in any order and extra
/// columns are ignored. An empty `market_cap` means unknown. `active` (optional) takes
/// `1/0/true/false/yes/no`. Known symbols are updated. A file with any bad row (blank symbol, a
/// market cap that is not a non-negative number, a bad `active`, a symbol seen twice) imports nothing.
public struct SymbolImporter {
    public let store: any MarketDataBackend

    public init(store: any MarketDataBackend) {
        self.store = store
    }

    /// Checks and imports the file at `path`; returns the number of symbols written.
    public func importFile(path: String) throws -> Int {
        let reader = try CSVReader(path: path)
        guard try reader.next() else {
            throw ImportFailure(
                file: path,
                problems: [.init(line: 1, message: "empty file: no header")],
                problemCount: 1
            )
        }
        var col: [String: Int] = [:]
        for i in 0..<reader.fieldCount where col[reader.string(i).lowercased()] == nil {
            col[reader.string(i).lowercased()] = i
        }
        guard let symbolIndex = col["symbol"] else {
            throw ImportFailure(
                file: path,
                problems: [.init(line: reader.line, message: "header lacks column symbol")],
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
            if let i = col["market"] { info.market = reader.string(i) }
            if let i = col["sector"] { info.sector = reader.string(i) }
            if let i = col["market_cap"], !reader.isBlank(i) {
                guard let cap = reader.double(i), cap >= 0 else {
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
