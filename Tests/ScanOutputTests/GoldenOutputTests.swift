import Foundation
import MarketData
import Testing

/// The real `scan run --local` on the bundled sample, compared byte for byte with committed golden
/// files in `Tests/ScanOutputTests/Golden/` (see its README.md).
///
/// Fixed: the formula `Golden/f1_rsi.formula` (F1 with a `column rsi14 = rsi(close, 14)`), the
/// symbols 005930, 000660, 000990, 035720 and the unknown 999999, the range 2020-01-01 … 2022-09-19.
/// Only the fields that vary from run to run are normalised: `processing_time_ms` (→ 0) and
/// `job_id` (a fresh session id, → `JOB_ID`).
///
/// To regenerate after an intended change: `UPDATE_GOLDEN=1 swift test --filter GoldenOutputTests`,
/// then review the diff (and cross-check it against pandas + TA-Lib as the README says).
@Suite("Golden outputs of scan run --local", .timeLimit(.minutes(1)))
struct GoldenOutputTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Golden"
    )
    static let update = ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1"

    /// The bundled sample in a temporary database file, built once per test process.
    static let sampleDatabase: Result<String, any Error> = Result {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("golden-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        atexit { if case .success(let db) = GoldenOutputTests.sampleDatabase { removeDatabaseDirectory(db) } }
        let path = dir.appendingPathComponent("sample.sqlite").path
        _ = try SampleData.load(into: try MarketDataStore.open(path: path))
        return path
    }

    func scanRun(format: String, extra: [String] = []) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ScanBinary.run(
            [
                "run", "--local", "--db", try Self.sampleDatabase.get(),
                "--formula-file", Self.goldenDirectory.appendingPathComponent("f1_rsi.formula").path,
                "--symbols", "005930,000660,000990,035720,999999", "--from", "2020-01-01", "--to", "2022-09-19",
                "--format", format,
            ] + extra
        )
    }

    /// Replaces the run-dependent values of a JSON result document.
    static func normalised(json: String) -> String {
        json.replacing(#/"processing_time_ms":[0-9.eE+-]+/#, with: #""processing_time_ms":0"#)
            .replacing(#/"job_id":"[^"]*"/#, with: #""job_id":"JOB_ID""#)
    }

    /// Compares `actual` with the golden file `name` (or rewrites it when `UPDATE_GOLDEN=1`).
    func expectGolden(_ actual: String, _ name: String) throws {
        let url = Self.goldenDirectory.appendingPathComponent(name)
        if Self.update {
            try Data(actual.utf8).write(to: url)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == golden, "differs from Golden/\(name); if intended, regenerate with UPDATE_GOLDEN=1")
    }

    @Test func jsonOutputEqualsTheGolden() async throws {
        let r = try await scanRun(format: "json")
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        #expect(r.stdout.contains(#""processing_time_ms":"#) && r.stdout.contains(#""job_id":""#))
        try expectGolden(Self.normalised(json: r.stdout), "f1_rsi.json")
    }

    @Test func csvOutputEqualsTheGolden() async throws {
        let r = try await scanRun(format: "csv")
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        try expectGolden(r.stdout, "f1_rsi.csv")
    }

    @Test func csvWrittenToAFileEqualsTheGolden() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try await scanRun(format: "csv", extra: ["--output", path])
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
        let written = try String(contentsOfFile: path, encoding: .utf8)
        let golden = try String(contentsOf: Self.goldenDirectory.appendingPathComponent("f1_rsi.csv"), encoding: .utf8)
        #expect(written == golden)
    }

    /// The committed golden agrees with the peer: pandas + TA-Lib 0.8 (`Benchmarks/peers/pandas_talib_scan.py
    /// --matches-out` on the same four symbols and range gives exactly these 11 matches; `talib.RSI(close, 14)`
    /// over each symbol's whole history gives these values, to within a few ulps — the TA-Lib build
    /// multiplies by 1/period where its C source divides by period).
    @Test func goldenCSVAgreesWithPandasAndTALib() throws {
        let csv = try String(contentsOf: Self.goldenDirectory.appendingPathComponent("f1_rsi.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        #expect(
            rows.map { "\($0[0]) \($0[2])" } == [
                "000660 2020-06-03", "000990 2020-07-06", "000660 2020-07-30", "035720 2020-11-06", "000990 2020-12-22",
                "000990 2021-04-20", "005930 2021-06-03", "000990 2021-06-04", "005930 2021-08-04", "000990 2022-03-21",
                "000990 2022-08-26",
            ]
        )
        let talib: [String: (close: Double, rsi: Double)] = [
            "000660 2020-06-03": (88700, 62.0862591777624),
            "000990 2022-08-26": (46500, 55.56976806546239),
            "005930 2021-06-03": (82800, 61.07221196370466),
            "035720 2020-11-06": (370500, 58.45915455575359),
        ]
        for row in rows {
            guard let peer = talib["\(row[0]) \(row[2])"] else { continue }
            #expect(Double(row[4]) == peer.close)
            let rsi = try #require(Double(row[5]))
            #expect(abs(rsi - peer.rsi) <= 1e-12 * peer.rsi, "\(row[0]) \(row[2]): rsi \(rsi), TA-Lib \(peer.rsi)")
        }
    }
}

private func removeDatabaseDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
}
