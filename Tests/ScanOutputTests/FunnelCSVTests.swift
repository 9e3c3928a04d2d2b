import Foundation
import MarketData
import ScanOutput
import ScanProtocol
import Testing

/// `scan run --explain --format csv --output FILE`: the matches in FILE, the funnel and its near misses
/// in the files beside it, their numbers equal to `--format json`'s, on the bundled sample.
@Suite("The condition funnel in CSV")
struct FunnelCSVTests {
    static let formula = "signal golden = crossover(sma(close, 5), sma(close, 20)) and volume > sma(volume, 20)"

    /// Every record of a CSV file, each a list of fields (read back with MarketData's RFC 4180 reader).
    static func records(_ path: String) throws -> [[String]] {
        let reader = try CSVReader(path: path)
        var rows: [[String]] = []
        while try reader.next() { rows.append((0..<reader.fieldCount).map(reader.string)) }
        return rows
    }

    static func scan(
        _ db: String,
        mode: String,
        _ extra: [String]
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ScanBinary.run(
            [
                "run", "--local", "--db", db, "--name", "demo", "--formula", formula, "--from", "2021-09-20", "--to",
                "2022-09-19", "--mode", mode, "--explain",
            ] + extra
        )
    }

    @Test func theFunnelAndItsNearMissesGoBesideTheMatchesWithTheJSONNumbers() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-csv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("m.sqlite").path
        #expect(try await ScanBinary.run(["data", "sample", "--db", db]).status == 0)

        for mode in ["range", "latest"] {
            let csv = dir.appendingPathComponent("\(mode).csv").path
            let written = try await Self.scan(db, mode: mode, ["--format", "csv", "--output", csv])
            #expect(written.status == 0, "\(written.stderr)")
            let json = try await Self.scan(db, mode: mode, ["--format", "json"])
            #expect(json.status == 0, "\(json.stderr)")
            let doc = try ResultDocument.decode(Data(json.stdout.utf8))
            let funnel = try #require(doc.funnel)

            // The matches' file is unchanged: one row per match.
            #expect(try Self.records(csv).count == doc.signals.matches.count + 1)

            let rows = try Self.records(dir.appendingPathComponent("\(mode).funnel.csv").path)
            #expect(rows.first == FunnelCSV.funnelHeader)
            var expected: [[String]] = []
            for s in funnel.signals {
                for (k, c) in s.clauses.enumerated() {
                    expected.append([
                        s.signal, String(k), c.clause, String(c.bars), String(c.symbols), String(c.survivingBars),
                        String(c.survivingSymbols), String(s.conjunction),
                    ])
                }
            }
            #expect(Array(rows.dropFirst()) == expected)
            #expect(expected.count == 2, "the formula's two clauses")
            #expect(expected.first?[2] == "crossover(sma(close, 5), sma(close, 20))", "a clause with commas is quoted")
            if mode == "range" { #expect((Int(expected.first?[3] ?? "") ?? 0) > 0, "the crossover fires in a year") }

            let misses = try Self.records(dir.appendingPathComponent("\(mode).near-misses.csv").path)
            #expect(misses.first == FunnelCSV.nearMissHeader)
            #expect(misses.count == funnel.nearMisses.count + 1)
            for (row, m) in zip(misses.dropFirst(), funnel.nearMisses) {
                #expect(row[0] == m.symbol && row[2] == m.timestamp && row[3] == m.signal)
                #expect(row[4] == String(m.clauseIndex) && row[5] == m.clause)
                #expect(Double(row[6]) == m.left && Double(row[7]) == m.right)
            }
            if mode == "latest" { #expect(!funnel.nearMisses.isEmpty, "the sample has near misses on its last day") }
        }
    }

    @Test func csvOnStdoutWithExplainIsRefusedNamingTheWayOut() async throws {
        let r = try await Self.scan("unused.sqlite", mode: "range", ["--format", "csv"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--explain with --format csv needs --output FILE"), "\(r.stderr)")
    }

    @Test func theFilesBesideAPathWithoutTheCSVExtension() {
        #expect(FunnelCSV.companionPath(of: "out/matches.csv", kind: "funnel") == "out/matches.funnel.csv")
        #expect(FunnelCSV.companionPath(of: "matches.CSV", kind: "near-misses") == "matches.near-misses.csv")
        #expect(FunnelCSV.companionPath(of: "matches", kind: "funnel") == "matches.funnel.csv")
    }
}
