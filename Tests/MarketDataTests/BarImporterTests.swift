import Foundation
import MarketData
import ScanCore
import Testing

@Suite("Bar import")
struct BarImporterTests {
    static let symbols = "symbol,name,market,sector,market_cap\nAAA,에이,KOSPI,반도체 제조업,1000\nBBB,비,KOSDAQ,의약품 제조업,2000\n"

    func storeWithSymbols(_ dir: TempDir) throws -> MarketDataStore {
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: dir.write("symbols.csv", Self.symbols))
        return store
    }

    /// Imports `body` (after a standard header) and returns the failure it must produce.
    func failure(
        _ body: String,
        header: String = "symbol,date,open,high,low,close,volume",
        options: BarImporter.Options = .init()
    ) throws -> ImportFailure {
        let dir = try TempDir()
        let store = try storeWithSymbols(dir)
        let before = try store.dataVersion()
        let file = try dir.write("bars.csv", header + "\n" + body)
        do {
            _ = try BarImporter(store: store, options: options).importFile(path: file)
        } catch let f as ImportFailure {
            #expect(try store.storedBarCount(timeframe: .daily) == 0)
            #expect(try store.dataVersion() == before)
            return f
        }
        Issue.record("import of a bad file succeeded")
        return ImportFailure(file: file, problems: [], problemCount: 0)
    }

    @Test("real daily bars round-trip exactly")
    func roundTripReal() async throws {
        let dir = try TempDir()
        let store = try dir.store()
        #expect(try SymbolImporter(store: store).importFile(path: SharedData.path("symbols.csv")) == 90)
        let report = try BarImporter(store: store).importFile(path: SharedData.path("daily/bars.csv"))
        #expect(report.rows == 150_504)
        #expect(report.symbols == 90)
        // README: 1,129 rows with high below max(open, close), none with low above min(open, close).
        #expect(report.warningCount == 1_129)
        #expect(report.warnings.count == ImportFailure.listLimit)
        #expect(report.warnings.allSatisfy { $0.message.hasPrefix("high") })

        let expected = try SharedData.plainBars(SharedData.path("daily/bars.csv"))
        let batch = try store.loadBars(
            symbols: Array(expected.keys),
            timeframe: .daily,
            range: .everything,
            lookbackBars: 0
        )
        #expect(batch.unknown.isEmpty)
        for (symbol, rows) in expected {
            let s = try #require(batch.series[symbol])
            #expect(s.count == rows.count)
            #expect(s.utcOffsets.isEmpty)
            for (i, row) in rows.enumerated() {
                #expect(s.timestamp(at: i).description == row.time)
                let got = [
                    s.columns.open[i], s.columns.high[i], s.columns.low[i], s.columns.close[i], s.columns.volume[i],
                ]
                if got != row.values {
                    Issue.record("\(symbol) line \(row.time): \(got) != \(row.values)")
                    break
                }
            }
        }
        #expect(try store.latestDay(for: .daily) == day("2022-09-19"))
        #expect(try store.latestDay(for: .weekly) == day("2022-09-19"))
        #expect(try store.latestDay(for: .minute5) == nil)
    }

    @Test("the bundled sample loads 48 symbols including 005930 and 000660")
    func sample() async throws {
        let dir = try TempDir()
        let store = try dir.store()
        let report = try SampleData.load(into: store)
        #expect(report.symbols == 48)
        #expect(report.bars.rows == 80_033)
        let all = try store.allSymbols()
        #expect(all.contains { $0.symbol == "005930" && $0.name == "삼성전자" })
        #expect(all.contains { $0.symbol == "000660" && $0.market == "KOSPI" })
        #expect(Set(all.map(\.market)) == ["KOSPI", "KOSDAQ", ""])
        let samsung = try store.loadBars(
            BarQuery(symbol: "005930", timeframe: .daily, range: .everything, lookbackBars: 0)
        )
        #expect(samsung.count == 1_895)
    }

    @Test("quoted fields, CRLF, a byte-order mark, Korean names and any column order")
    func csvDialect() async throws {
        let dir = try TempDir()
        let store = try dir.store()
        let symbols =
            "\u{FEFF}Market_Cap,Symbol,\"Name\",market,sector,extra\r\n"
            + "\"1,000\",AAA,\"삼성 \"\"우\"\"\",KOSPI,\"전자, 부품\",x\r\n" + "1500,BBB,\"두 줄\n이름\",KOSDAQ,,y\r\n"
        do {
            _ = try SymbolImporter(store: store).importFile(path: dir.write("s.csv", symbols))
            Issue.record("'1,000' is not a number and must be refused")
        } catch let f as ImportFailure {
            #expect(f.problems.map(\.line) == [2])
        }
        let good = symbols.replacingOccurrences(of: "\"1,000\"", with: "1000")
        #expect(try SymbolImporter(store: store).importFile(path: dir.write("s2.csv", good)) == 2)
        let all = try store.allSymbols()
        #expect(all.map(\.name) == ["삼성 \"우\"", "두 줄\n이름"])
        #expect(all.map(\.sector) == ["전자, 부품", ""])
        #expect(all.map(\.marketCap) == [1000, 1500])

        let bars =
            "\u{FEFF}VOLUME,Close,low,HIGH,open,Date,Symbol,note\r\n"
            + "10,105,99,110,100,2024-01-02,AAA,\"a, b\"\r\n\r\n" + "20,106.5,100,107,105,2024-01-03,AAA,\r\n"
        let report = try BarImporter(store: store).importFile(path: dir.write("b.csv", bars))
        #expect(report.rows == 2)
        let s = try store.loadBars(BarQuery(symbol: "AAA", timeframe: .daily, range: .everything, lookbackBars: 0))
        #expect(s.times == [day("2024-01-02").epochSeconds, day("2024-01-03").epochSeconds])
        #expect(s.columns.close == [105, 106.5])
        #expect(s.columns.volume == [10, 20])
    }

    @Test("a header without a needed column is refused on line 1")
    func missingHeaderColumn() throws {
        let f = try failure("AAA,2024-01-02,1,2,1,1", header: "symbol,date,open,high,low,close")
        #expect(f.problems == [ImportIssue(line: 1, message: "header lacks column volume")])
    }

    @Test("each kind of bad row is named with its line number")
    func badRows() throws {
        let body =
            [
                "AAA,2024-01-02,100,110,90,105,1000",  // 2 ok
                "AAA,2024-01-03,100,110,90,105",  // 3 missing column
                "AAA,2024-01-04,abc,110,90,105,1000",  // 4 not a number
                "AAA,2024-13-05,100,110,90,105,1000",  // 5 bad date
                "AAA,2024-01-08,0,110,90,105,1000",  // 6 price <= 0
                "AAA,2024-01-09,100,80,90,85,1000",  // 7 high < low
                "AAA,2024-01-10,100,110,90,105,-1",  // 8 volume < 0
                "ZZZ,2024-01-10,100,110,90,105,1",  // 9 unknown symbol
                "AAA,2024-01-02,100,110,90,105,1000",  // 10 duplicate of line 2
                "AAA,2024-01-11,100,110,90,,1000",  // 11 missing value
                "BBB,2024-01-11,-5,110,90,100,1000",  // 12 negative price
            ].joined(separator: "\n") + "\n"
        let f = try failure(body)
        #expect(f.problemCount == 10)
        #expect(f.problems.map(\.line) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        let messages = f.problems.map(\.message)
        #expect(messages[0].hasPrefix("missing column 'volume'"))
        #expect(messages[1] == "open 'abc' is not a number")
        #expect(messages[2] == "date '2024-13-05' is not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)")
        #expect(messages[3] == "open must be greater than 0 (is 0)")
        #expect(messages[4] == "high 80 is below low 90")
        #expect(messages[5] == "volume must not be negative (is -1)")
        #expect(messages[6].hasPrefix("unknown symbol 'ZZZ'"))
        #expect(messages[7] == "duplicate bar for AAA at 2024-01-02 (first on line 2)")
        #expect(messages[8] == "missing value for 'close'")
        #expect(messages[9] == "open must be greater than 0 (is -5)")
        #expect(f.description.contains("line 7: high 80 is below low 90"))
    }

    @Test("only the first 20 bad lines are listed, with the total")
    func listLimit() throws {
        let body = (0..<30).map { "AAA,2024-02-\(String(format: "%02d", $0 % 28 + 1)),1,2,1,x,1" }.joined(
            separator: "\n"
        )
        let f = try failure(body)
        #expect(f.problemCount == 30)
        #expect(f.problems.map(\.line) == Array(2...21))
        #expect(f.description.contains("… and 10 more"))
    }

    @Test("high below max(open, close) is a warning, imported unchanged; --strict refuses it")
    func ohlcWarning() throws {
        let dir = try TempDir()
        let store = try storeWithSymbols(dir)
        let file = try dir.write(
            "b.csv",
            "symbol,date,open,high,low,close,volume\nAAA,2024-01-02,100,104,90,105,1\nAAA,2024-01-03,100,110,101,105,1\n"
        )
        let report = try BarImporter(store: store).importFile(path: file)
        #expect(report.warningCount == 2)
        #expect(report.warnings.map(\.line) == [2, 3])
        let s = try store.loadBars(BarQuery(symbol: "AAA", timeframe: .daily, range: .everything, lookbackBars: 0))
        #expect(s.columns.high == [104, 110])
        #expect(s.columns.low == [90, 101])

        let strict = try failure(
            "AAA,2024-01-02,100,104,90,105,1\n",
            options: BarImporter.Options(strict: true)
        )
        #expect(strict.problems.map(\.line) == [2])
        #expect(strict.problems[0].message.contains("--strict"))
    }

    @Test("--create-symbols adds unknown symbols")
    func createSymbols() throws {
        let dir = try TempDir()
        let store = try storeWithSymbols(dir)
        let file = try dir.write("b.csv", "symbol,date,open,high,low,close,volume\nNEW,2024-01-02,1,2,1,2,3\n")
        let report = try BarImporter(store: store, options: .init(createSymbols: true)).importFile(path: file)
        #expect(report.createdSymbols == 1)
        #expect(try store.allSymbols().map(\.symbol) == ["AAA", "BBB", "NEW"])
    }

    @Test("re-importing overlapping bars replaces them, never duplicates")
    func reimport() throws {
        let dir = try TempDir()
        let store = try storeWithSymbols(dir)
        let header = "symbol,date,open,high,low,close,volume\n"
        // Spans a year boundary, so two storage blocks are merged.
        let first = try dir.write(
            "a.csv",
            header
                + "AAA,2023-12-28,10,12,9,11,1\nAAA,2023-12-29,11,12,10,11,2\nAAA,2024-01-02,11,13,10,12,3\nBBB,2024-01-02,5,6,4,5,9\n"
        )
        _ = try BarImporter(store: store).importFile(path: first)
        let second = try dir.write(
            "b.csv",
            header + "AAA,2024-01-03,12,14,11,13,4\nAAA,2023-12-29,11,15,10,14,20\nAAA,2024-01-02,11,13,10,12.5,30\n"
        )
        let v1 = try store.dataVersion()
        _ = try BarImporter(store: store).importFile(path: second)
        #expect(try store.dataVersion() > v1)
        let s = try store.loadBars(BarQuery(symbol: "AAA", timeframe: .daily, range: .everything, lookbackBars: 0))
        #expect(
            s.times.map { CalendarDay(epochSeconds: $0).description } == [
                "2023-12-28", "2023-12-29", "2024-01-02", "2024-01-03",
            ]
        )
        #expect(s.columns.close == [11, 14, 12.5, 13])
        #expect(s.columns.volume == [1, 20, 30, 4])
        #expect(try store.storedBarCount(timeframe: .daily) == 5)
        // Importing the same file again changes nothing but the version.
        _ = try BarImporter(store: store).importFile(path: second)
        #expect(try store.storedBarCount(timeframe: .daily) == 5)
    }

    @Test("a failed or interrupted import leaves the store as it was")
    func atomicity() throws {
        let dir = try TempDir()
        let store = try storeWithSymbols(dir)
        let header = "symbol,date,open,high,low,close,volume\n"
        _ = try BarImporter(store: store).importFile(path: dir.write("a.csv", header + "AAA,2024-01-02,10,12,9,11,1\n"))
        let version = try store.dataVersion()
        let before = try store.loadBars(BarQuery(symbol: "AAA", timeframe: .daily, range: .everything, lookbackBars: 0))

        // A bad last row: nothing from the good rows lands.
        let bad = try dir.write(
            "b.csv",
            header + "AAA,2024-01-02,20,22,19,21,1\nBBB,2024-01-03,5,6,4,5,1\nAAA,2024-01-04,1,2,3,1,1\n"
        )
        #expect(throws: ImportFailure.self) { try BarImporter(store: store).importFile(path: bad) }

        // Interrupted while writing (after the first symbol): the transaction rolls back.
        struct Interrupted: Error {}
        let good = try dir.write("c.csv", header + "AAA,2024-01-02,20,22,19,21,1\nBBB,2024-01-03,5,6,4,5,1\n")
        #expect(throws: Interrupted.self) {
            try BarImporter(store: store).importFile(path: good) { phase, done, _ in
                if phase == .writing && done >= 1 { throw Interrupted() }
            }
        }
        #expect(try store.dataVersion() == version)
        #expect(try store.storedBarCount(timeframe: .daily) == 1)
        let after = try store.loadBars(BarQuery(symbol: "AAA", timeframe: .daily, range: .everything, lookbackBars: 0))
        #expect(after.columns.close == before.columns.close)
        #expect(try store.storedBarCount(timeframe: .daily, symbol: "BBB") == 0)
    }

    @Test("real New York 1-minute bars round-trip with their offsets")
    func intradayRoundTrip() throws {
        let dir = try TempDir()
        let store = try dir.store()
        let path = try SharedData.path("intraday_1m/bars.csv")
        let report = try BarImporter(store: store, options: .init(timeframe: .minute1, createSymbols: true))
            .importFile(path: path)
        #expect(report.rows == 6_326)
        #expect(report.createdSymbols == 3)
        let expected = try SharedData.plainBars(path)
        #expect(expected["INDA"]?.count == 3_838)
        for (symbol, rows) in expected {
            let s = try store.loadBars(
                BarQuery(symbol: symbol, timeframe: .minute1, range: .everything, lookbackBars: 0)
            )
            #expect(s.count == rows.count)
            #expect(s.utcOffsets.allSatisfy { $0 == -4 * 3600 })
            for (i, row) in rows.enumerated() {
                #expect(s.timestamp(at: i).description == row.time)
                #expect(
                    [s.columns.open[i], s.columns.high[i], s.columns.low[i], s.columns.close[i], s.columns.volume[i]]
                        == row.values
                )
            }
        }
        #expect(try store.latestDay(for: .minute1) == day("2025-06-23"))
        // A daily import of a timestamp file is refused: every row names its timestamp.
        #expect(throws: ImportFailure.self) { try BarImporter(store: store).importFile(path: path) }
    }
}
