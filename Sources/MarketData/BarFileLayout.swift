/// The bar-file layouts `import-bars` reads, recognised by their header (``detect(header:)``) or named
/// with `--layout`.
///
/// Headers are matched case-insensitively, in any order, and extra columns are ignored. In the layouts
/// without a symbol column the symbol is the file name without its extension (`005930.csv`), less a
/// Yahoo exchange suffix `.KS` or `.KQ` (`005930.KS.csv` is `005930`).
public enum BarFileLayout: String, Sendable, CaseIterable, CustomStringConvertible {
    /// MarketScan's own: `symbol,date|timestamp,open,high,low,close,volume`.
    case native
    /// FinanceDataReader's `DataReader(...).to_csv()`: `Date,Open,High,Low,Close,Volume[,Change]`.
    case fdr
    /// A Yahoo Finance download: `Date|Datetime,Open,High,Low,Close,Adj Close,Volume`.
    case yahoo
    /// pykrx's `get_market_ohlcv(...).to_csv()`: `날짜,시가,고가,저가,종가,거래량[,등락률]`.
    case pykrx
    /// The KRX data portal's per-symbol price history (개별종목 시세 추이): CP949,
    /// `일자,종가,대비,등락률,시가,고가,저가,거래량,…`, numbers with thousands separators (`"71,000"`),
    /// newest first; an optional `종목코드` column gives the symbol.
    case krx

    public var description: String { rawValue }

    /// The header names of a bar's fields in this layout, lowercased; the first present wins.
    struct Columns {
        var symbol: [String]
        var time: [String]
        var open: [String]
        var high: [String]
        var low: [String]
        var close: [String]
        var volume: [String]
        var adjustedClose: [String] = []
    }

    var columns: Columns {
        switch self {
        case .native:
            Columns(
                symbol: ["symbol"],
                time: ["date", "timestamp"],
                open: ["open"],
                high: ["high"],
                low: ["low"],
                close: ["close"],
                volume: ["volume"]
            )
        case .fdr, .yahoo:
            Columns(
                symbol: [],
                time: ["date", "datetime"],
                open: ["open"],
                high: ["high"],
                low: ["low"],
                close: ["close"],
                volume: ["volume"],
                adjustedClose: self == .yahoo ? ["adj close"] : []
            )
        case .pykrx:
            Columns(symbol: [], time: ["날짜"], open: ["시가"], high: ["고가"], low: ["저가"], close: ["종가"], volume: ["거래량"])
        case .krx:
            Columns(
                symbol: ["종목코드"],
                time: ["일자"],
                open: ["시가"],
                high: ["고가"],
                low: ["저가"],
                close: ["종가"],
                volume: ["거래량"]
            )
        }
    }

    /// Whether the symbol comes from the file name when the header has no symbol column.
    var symbolFromFileName: Bool { self != .native }

    /// Whether numbers may group digits with commas.
    var groupedNumbers: Bool { self == .krx }

    /// The layout a header (its lowercased names) is in, or `nil` when it is none of them.
    public static func detect(header: [String]) -> BarFileLayout? {
        let names = Set(header.map { $0.lowercased() })
        if names.contains("symbol") { return .native }
        if names.contains("adj close") { return .yahoo }
        if names.contains("일자") { return .krx }
        if names.contains("날짜") { return .pykrx }
        if names.contains("date") || names.contains("datetime") { return .fdr }
        return nil
    }

    /// The symbol a file of this layout names by its file name (`dir/005930.KS.csv` → `005930`).
    static func symbol(fromFileName path: String) -> String {
        var name = Substring(path.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { name = name[..<dot] }
        for suffix in [".KS", ".KQ", ".ks", ".kq"] where name.hasSuffix(suffix) && name.count > suffix.count {
            name = name.dropLast(suffix.count)
        }
        return String(name)
    }
}
