import Foundation
import MarketData
import ScanCore
import Testing

/// `scan data export`: the importer's format, and a file that imports back to the same bars.
@Suite struct BarExporterTests {
    @Test(arguments: [Timeframe.daily, .minute1])
    func exportImportExportIsByteIdentical(timeframe: Timeframe) throws {
        let dir = try TempDir()
        let source = try dir.store("a.sqlite")
        try MarketGenerator(.init(symbols: 4, days: 3, timeframe: timeframe, seed: 5)).write(into: source)
        let first = dir.path("a.csv")
        let report = try BarExporter(store: source, timeframe: timeframe).export(to: first)
        #expect(report.symbols == 4)
        #expect(report.rows == 4 * 3 * (timeframe == .daily ? 1 : 390))

        let copy = try dir.store("b.sqlite")
        _ = try BarImporter(store: copy, options: .init(timeframe: timeframe, createSymbols: true)).importFile(
            path: first
        )
        let second = dir.path("b.csv")
        try BarExporter(store: copy, timeframe: timeframe).export(to: second)
        let a = try String(contentsOfFile: first, encoding: .utf8)
        #expect(a == (try String(contentsOfFile: second, encoding: .utf8)))
        let lines = a.split(separator: "\n")
        #expect(lines.count == report.rows + 1)
        #expect(
            lines[0]
                == (timeframe == .daily
                    ? "symbol,date,open,high,low,close,volume" : "symbol,timestamp,open,high,low,close,volume")
        )
        #expect(lines[1].hasPrefix(timeframe == .daily ? "900000,2024-12-27," : "900000,2024-12-27T09:00:00+09:00,"))
    }

    @Test func exportsTheSymbolsAskedForAndRefusesUnknownOnes() throws {
        let dir = try TempDir()
        let store = try dir.store()
        try MarketGenerator(.init(symbols: 3, days: 2)).write(into: store)
        let out = dir.path("x.csv")
        let report = try BarExporter(store: store, timeframe: .daily).export(
            symbols: ["900002", "900000", "900002"],
            to: out
        )
        #expect(report.symbols == 2)
        let symbols = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").dropFirst().map {
            $0.prefix(6)
        }
        #expect(symbols == ["900000", "900000", "900002", "900002"])
        #expect(throws: MarketDataError.self) {
            try BarExporter(store: store, timeframe: .daily).export(symbols: ["123456"], to: out)
        }
        #expect(throws: MarketDataError.self) { try BarExporter(store: store, timeframe: .weekly) }
    }
}
