import ArgumentParser
import Foundation
import MarketData
import ScanCore
import ScanOutput

/// `scan data export`: stored bars as CSV in the importer's format (for other tools, e.g. the
/// benchmark's pandas and vectorbt peers, and for moving data between stores).
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export stored bars as CSV: symbol,date|timestamp,open,high,low,close,volume.",
        discussion: """
            Writes every stored symbol (or the --symbols given), ascending, each symbol's bars oldest first. \
            The file imports back unchanged with `scan data import-bars`.
            """
    )

    @Argument(help: "The CSV file to write.") var file: String
    @Option(help: "The stored timeframe to export: 1d or 1m.") var timeframe: Timeframe = .daily
    @Option(help: "Symbols to export, comma-separated (default: every stored symbol).") var symbols: [String] = []
    @OptionGroup var store: StoreOption

    func validate() throws {
        guard timeframe == .daily || timeframe == .minute1 else {
            throw ValidationError("--timeframe must be 1d or 1m (the stored timeframes), not '\(timeframe)'")
        }
    }

    func run() async throws {
        let tf = timeframe
        let list = symbols.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let (file, path) = (file, store.path)
        do {
            let report = try await Blocking.run {
                let bar = taskProgress("export")
                defer { bar?.finish() }
                return try BarExporter(store: MarketDataStore.open(path: path), timeframe: tf).export(
                    symbols: list.isEmpty ? nil : list,
                    to: file
                ) { done, total in bar?.update(Int64(done), of: Int64(total), note: "symbols") }
            }
            print("exported \(report.rows) \(tf) bars of \(report.symbols) symbols to \(file)")
        } catch {
            throw fail(error)
        }
    }
}
