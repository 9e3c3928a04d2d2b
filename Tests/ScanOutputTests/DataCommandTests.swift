import Foundation
import Testing

/// `scan data import-symbols`, `import-bars` on a directory and `data symbols`, through the built binary.
@Suite("scan data: other tools' files and the symbol list", .timeLimit(.minutes(1)))
struct DataCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MarketDataTests/Fixtures/Imports")

    @Test("a KRX listing and a folder of pykrx files import in one command each; data symbols lists them")
    func importAndList() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scan-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("t.sqlite").path
        let symbols = try await ScanBinary.run([
            "data", "import-symbols", Self.fixtures.appendingPathComponent("symbols-krx.csv").path, "--db", db,
        ])
        #expect(symbols.status == 0, "\(symbols.stderr)")
        let bars = try await ScanBinary.run([
            "data", "import-bars", Self.fixtures.appendingPathComponent("pykrx").path, "--db", db,
        ])
        #expect(bars.status == 0, "\(bars.stderr)")
        #expect(bars.stdout.contains("of 2 symbols from 2 files (layout pykrx)"))
        let list = try await ScanBinary.run([
            "data", "symbols", "--market", "kospi", "--search", "삼성", "--format", "json", "--db", db,
        ])
        #expect(list.status == 0, "\(list.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])
        let rows = try #require(json["symbols"] as? [[String: Any]])
        #expect(rows.map { $0["symbol"] as? String } == ["005930"])
        #expect((rows.first?["bars"] as? [String: Any])?["1d"] != nil)
        let table = try await ScanBinary.run(["data", "symbols", "--db", db])
        #expect(table.stdout.contains("SK하이닉스"))
        #expect(table.stdout.contains("4 symbols; markets: KOSDAQ, KOSPI"))
        let bad = try await ScanBinary.run([
            "data", "import-bars", Self.fixtures.path, "--tz", "Mars/Olympus", "--db", db,
        ])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--tz 'Mars/Olympus' is not a time zone"))
        // A KRX portal download, named by the portal and not by its stock: --symbol names it.
        let download = Self.fixtures.appendingPathComponent("krx-download/data_0412_20221001.csv").path
        let named = try await ScanBinary.run(["data", "import-bars", download, "--symbol", "005930", "--db", db])
        #expect(named.status == 0, "\(named.stderr)")
        #expect(named.stdout.contains("of 1 symbols (layout krx)"), "\(named.stdout)")
        let folder = try await ScanBinary.run([
            "data", "import-bars", Self.fixtures.appendingPathComponent("krx").path, "--symbol", "005930", "--db", db,
        ])
        #expect(folder.status != 0)
        #expect(folder.stderr.contains("--symbol 005930 names the symbol of one file"), "\(folder.stderr)")
    }
}
