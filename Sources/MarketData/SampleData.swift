import Foundation

/// The bundled real sample: 48 KRX instruments' daily bars, 2015-01-02 to 2022-09-19
/// (`Resources/SOURCE.md` says where it comes from).
public enum SampleData {
    /// The bundled `symbols.csv`.
    public static var symbolsPath: String { get throws { try resource("symbols") } }
    /// The bundled `bars.csv` (daily bars).
    public static var barsPath: String { get throws { try resource("bars") } }

    private static func resource(_ name: String) throws -> String {
        guard
            let url = Bundle.module.url(forResource: name, withExtension: "csv", subdirectory: "Resources")
                ?? Bundle.module.url(forResource: name, withExtension: "csv")
        else {
            throw MarketDataError(.io, "the bundled sample file \(name).csv is missing from the MarketData resources")
        }
        return url.path
    }

    /// What loading the sample did.
    public struct LoadReport: Sendable {
        public var symbols: Int
        public var bars: BarImporter.Report
    }

    /// Imports the sample's symbols and daily bars into `store` (replacing bars at the same dates).
    public static func load(
        into store: any MarketDataBackend,
        progress: ImportProgressHandler? = nil
    ) throws -> LoadReport {
        let symbols = try SymbolImporter(store: store).importFile(path: symbolsPath)
        let bars = try BarImporter(store: store).importFile(path: barsPath, progress: progress)
        return LoadReport(symbols: symbols, bars: bars)
    }
}
