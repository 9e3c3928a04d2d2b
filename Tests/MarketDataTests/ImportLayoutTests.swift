import Foundation
import MarketData
import ScanCore
import Testing

/// The committed fixtures in other tools' layouts (made by scripts/make-import-fixtures.py from
/// ../shared/data) import to exactly the bars of their native twins.
@Suite("Import layouts")
struct ImportLayoutTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/Imports")

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// The bars a fresh store holds after `load` (the fixtures' symbols imported first).
    func stored(
        timeframe: Timeframe = .daily,
        _ load: (MarketDataStore) throws -> Void
    ) throws -> [String: [String]] {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: Self.fixture("symbols-native.csv"))
        try load(store)
        let symbols = try store.allSymbols().map(\.symbol) + ["FXY"]
        let batch = try store.loadBars(symbols: symbols, timeframe: timeframe, range: .everything, lookbackBars: 0)
        // Every stored number, exactly: time, offset, open, high, low, close, volume per bar.
        return batch.series.filter { $0.value.count > 0 }.mapValues { s in
            s.times.indices.map { i in
                let offset = s.utcOffsets.isEmpty ? 0 : s.utcOffsets[i]
                let c = s.columns
                return "\(s.times[i]) \(offset) \(c.open[i]) \(c.high[i]) \(c.low[i]) \(c.close[i]) \(c.volume[i])"
            }
        }
    }

    func imported(_ path: String, _ options: BarImporter.Options = .init()) throws -> [String: [String]] {
        try stored(timeframe: options.timeframe) { store in
            _ = try BarImporter(store: store, options: options).importPath(path)
        }
    }

    @Test(
        "each layout imports to the native file's bars",
        arguments: ["fdr", "yahoo", "pykrx", "krx", "native-yyyymmdd.csv"]
    )
    func sameBars(_ fixture: String) throws {
        let native = try imported(Self.fixture("native.csv"))
        #expect(native.count == 2)
        #expect(native.values.allSatisfy { $0.count > 50 })
        let other = try imported(Self.fixture(fixture))
        #expect(other == native)
    }

    @Test("the layout is recognised per file and reported")
    func detectedLayouts() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: Self.fixture("symbols-native.csv"))
        for (name, layout) in [("fdr", BarFileLayout.fdr), ("yahoo", .yahoo), ("pykrx", .pykrx), ("krx", .krx)] {
            let report = try BarImporter(store: store).importPath(Self.fixture(name))
            #expect(report.layouts == [layout])
            #expect(report.files == 2)
            #expect(report.symbols == 2)
        }
    }

    @Test("--symbol names a KRX portal download whose name and rows carry no symbol")
    func krxDownloadWithSymbol() throws {
        let native = try imported(Self.fixture("native.csv")).filter { $0.key == "005930" }
        #expect(native.count == 1)
        let download = Self.fixture("krx-download/data_0412_20221001.csv")
        #expect(try imported(download, .init(symbol: "005930")) == native)
        // Without --symbol the file name is taken for the symbol, and the message says what to do.
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: Self.fixture("symbols-native.csv"))
        let error = try #require(throws: ImportFailure.self) { try BarImporter(store: store).importPath(download) }
        #expect(
            error.problems.first?.message.hasPrefix("unknown symbol 'data_0412_20221001' (from the file name") == true
        )
        #expect(error.problems.first?.message.contains("--symbol") == true)
    }

    @Test("--symbol names a Yahoo or FDR file named Samsung.csv")
    func namedFileWithSymbol() throws {
        let native = try imported(Self.fixture("native.csv")).filter { $0.key == "005930" }
        let dir = try TempDir()
        for (layout, source) in [("yahoo", "yahoo/005930.KS.csv"), ("fdr", "fdr/005930.csv")] {
            try FileManager.default.createDirectory(atPath: dir.path(layout), withIntermediateDirectories: true)
            let named = dir.path("\(layout)/Samsung.csv")
            try FileManager.default.copyItem(atPath: Self.fixture(source), toPath: named)
            #expect(try imported(named, .init(symbol: "005930")) == native, "\(layout)")
        }
    }

    @Test("--symbol is refused for a directory and for a file with a symbol column; nothing is imported")
    func symbolRefused() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: Self.fixture("symbols-native.csv"))
        let options = BarImporter.Options(symbol: "005930")
        let e1 = try #require(throws: MarketDataError.self) {
            try BarImporter(store: store, options: options).importPath(Self.fixture("krx"))
        }
        #expect(e1.message.contains("--symbol 005930 names the symbol of one file"))
        #expect(e1.message.contains("is a directory"))
        let e2 = try #require(throws: ImportFailure.self) {
            try BarImporter(store: store, options: options).importPath(Self.fixture("native.csv"))
        }
        #expect(e2.problems.first?.line == 1)
        #expect(e2.problems.first?.message.contains("has the column 'symbol'") == true)
        let coded = try dir.write("listing.csv", "종목코드,일자,종가,시가,고가,저가,거래량\n005930,2022/09/19,1,1,1,1,1\n")
        let e3 = try #require(throws: ImportFailure.self) {
            try BarImporter(store: store, options: options).importPath(coded)
        }
        #expect(e3.problems.first?.message.contains("has the column '종목코드'") == true)
        let e4 = try #require(throws: ImportFailure.self) {
            try BarImporter(store: store, options: .init(symbol: "999999")).importPath(
                Self.fixture("krx-download/data_0412_20221001.csv")
            )
        }
        #expect(e4.problems.first?.message.hasPrefix("unknown symbol '999999' (from --symbol") == true)
        #expect(try store.storedBarCount(timeframe: .daily) == 0)
    }

    @Test("--adjusted uses Adj Close and scales open, high and low by the same factor")
    func adjusted() throws {
        let expected = try imported(Self.fixture("native-adjusted.csv"))
        let adjusted = try imported(Self.fixture("yahoo"), .init(adjusted: true))
        #expect(adjusted == expected)
        #expect(adjusted != (try imported(Self.fixture("yahoo"))))
    }

    @Test("--adjusted on a file without Adj Close is refused, naming the file")
    func adjustedWithoutColumn() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: Self.fixture("symbols-native.csv"))
        let error = try #require(throws: ImportFailure.self) {
            try BarImporter(store: store, options: .init(adjusted: true)).importPath(Self.fixture("fdr"))
        }
        #expect(error.problems.first?.file?.hasSuffix("fdr/000660.csv") == true)
        #expect(error.problems.first?.line == 1)
        #expect(error.problems.first?.message.contains("Adj Close") == true)
        #expect(try store.storedBarCount(timeframe: .daily) == 0)
    }

    @Test("intraday local times with --tz, and Yahoo's offsets, import to the native 1m bars")
    func intraday() throws {
        let options = BarImporter.Options(timeframe: .minute1, createSymbols: true)
        let native = try imported(Self.fixture("native-1m.csv"), options)
        #expect(native["FXY"]?.count ?? 0 > 100)
        var local = options
        local.timeZone = TimeZone(identifier: "America/New_York")
        #expect(try imported(Self.fixture("local-1m"), local) == native)
        #expect(try imported(Self.fixture("yahoo-1m"), options) == native)
    }

    @Test("local times without --tz are refused on their line")
    func intradayWithoutZone() throws {
        let dir = try TempDir()
        let store = try dir.store()
        let error = try #require(throws: ImportFailure.self) {
            try BarImporter(store: store, options: .init(timeframe: .minute1, createSymbols: true))
                .importFile(path: Self.fixture("local-1m/FXY.csv"))
        }
        #expect(error.problems.first?.line == 2)
        #expect(error.problems.first?.message.contains("--tz") == true)
    }

    @Test("--tz Asia/Seoul gives +09:00; a written offset wins over --tz")
    func seoul() throws {
        let dir = try TempDir()
        let store = try dir.store()
        let file = try dir.write(
            "X.csv",
            "Datetime,Open,High,Low,Close,Volume\n2025-06-09 09:00,10,11,9,10,5\n2025-06-09T09:01:00Z,10,11,9,10,5\n"
        )
        let options = BarImporter.Options(
            timeframe: .minute1,
            createSymbols: true,
            timeZone: TimeZone(identifier: "Asia/Seoul")
        )
        _ = try BarImporter(store: store, options: options).importFile(path: file)
        let s = try store.loadBars(symbols: ["X"], timeframe: .minute1, range: .everything, lookbackBars: 0).series["X"]
        let series = try #require(s)
        #expect(series.times == [1_749_427_200, 1_749_459_660])
        #expect(series.utcOffsets == [32_400, 0])
    }

    @Test("the KRX listing (CP949, thousands separators) imports to the native symbols")
    func krxListing() throws {
        func symbols(_ file: String) throws -> [SymbolInfo] {
            let dir = try TempDir()
            let store = try dir.store()
            #expect(try SymbolImporter(store: store).importFile(path: Self.fixture(file)) == 4)
            return try store.allSymbols()
        }
        let native = try symbols("symbols-native.csv")
        #expect(native.contains { $0.name == "삼성전자" && $0.marketCap == 447_733_691_250_000 })
        #expect(try symbols("symbols-krx.csv") == native)
    }

    @Test("a bad row in one file of a directory imports nothing and names the file and line")
    func directoryAllOrNothing() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: Self.fixture("symbols-native.csv"))
        let bars = dir.url.appendingPathComponent("bars")
        try FileManager.default.createDirectory(at: bars, withIntermediateDirectories: true)
        for s in ["000660", "005930"] {
            try FileManager.default.copyItem(
                atPath: Self.fixture("fdr/\(s).csv"),
                toPath: bars.appendingPathComponent("\(s).csv").path
            )
        }
        var text = try String(contentsOfFile: bars.appendingPathComponent("005930.csv").path, encoding: .utf8)
        text += "2022-09-20,56400,57000,56000,oops,100,0.0\n"
        try Data(text.utf8).write(to: bars.appendingPathComponent("005930.csv"))
        try Data("notes".utf8).write(to: bars.appendingPathComponent("README.txt"))  // not a .csv: skipped
        let error = try #require(throws: ImportFailure.self) {
            try BarImporter(store: store).importPath(bars.path)
        }
        #expect(error.problemCount == 1)
        let problem = try #require(error.problems.first)
        #expect(problem.file?.hasSuffix("bars/005930.csv") == true)
        #expect(problem.line == text.split(separator: "\n").count)
        #expect(problem.message == "close 'oops' is not a number")
        #expect(error.description.contains("005930.csv line"))
        #expect(try store.storedBarCount(timeframe: .daily) == 0)
    }

    @Test("the same bar in two files of a directory is a duplicate naming both")
    func duplicateAcrossFiles() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: Self.fixture("symbols-native.csv"))
        try FileManager.default.createDirectory(atPath: dir.path("a"), withIntermediateDirectories: true)
        _ = try dir.write("a/005930.csv", "Date,Open,High,Low,Close,Volume\n2022-09-19,1,1,1,1,1\n")
        _ = try dir.write("a/x.csv", "symbol,date,open,high,low,close,volume\n005930,20220919,1,1,1,1,1\n")
        let error = try #require(throws: ImportFailure.self) { try BarImporter(store: store).importPath(dir.path("a")) }
        #expect(error.problems.first?.message.contains("005930.csv line 2") == true)
        #expect(error.problems.first?.file?.hasSuffix("a/x.csv") == true)
    }

    @Test("an unknown header, a forced layout that does not fit, an unknown file-name symbol")
    func headerProblems() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: Self.fixture("symbols-native.csv"))
        let odd = try dir.write("005930.csv", "when,o,h,l,c,v\n2022-09-19,1,1,1,1,1\n")
        let e1 = try #require(throws: ImportFailure.self) { try BarImporter(store: store).importFile(path: odd) }
        #expect(e1.problems.first?.message.contains("--layout") == true)
        let e2 = try #require(throws: ImportFailure.self) {
            try BarImporter(store: store, options: .init(layout: .pykrx)).importFile(
                path: Self.fixture("fdr/005930.csv")
            )
        }
        #expect(e2.problems.first?.message.hasPrefix("header lacks column 날짜") == true)
        let unknown = try dir.write("999999.KS.csv", "Date,Open,High,Low,Close,Volume\n2022-09-19,1,1,1,1,1\n")
        let e3 = try #require(throws: ImportFailure.self) { try BarImporter(store: store).importFile(path: unknown) }
        #expect(e3.problems.first?.message.hasPrefix("unknown symbol '999999' (from the file name") == true)
    }

    @Test("date forms: YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD, a midnight time; others are named")
    func dateForms() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: Self.fixture("symbols-native.csv"))
        let good = try dir.write(
            "005930.csv",
            "Date,Open,High,Low,Close,Volume\n2022-09-14,1,1,1,1,1\n2022/09/15,1,1,1,1,1\n20220916,1,1,1,1,1\n2022-09-19 00:00:00,1,1,1,1,1\n"
        )
        _ = try BarImporter(store: store).importFile(path: good)
        let s = try store.loadBars(symbols: ["005930"], timeframe: .daily, range: .everything, lookbackBars: 0)
        #expect(
            s.series["005930"]?.times.map { CalendarDay(epochSeconds: $0).description } == [
                "2022-09-14", "2022-09-15", "2022-09-16", "2022-09-19",
            ]
        )
        let bad = try dir.write(
            "000660.csv",
            "Date,Open,High,Low,Close,Volume\n2022-02-30,1,1,1,1,1\n2022-09-19 10:00,1,1,1,1,1\n"
        )
        let e = try #require(throws: ImportFailure.self) { try BarImporter(store: store).importFile(path: bad) }
        #expect(e.problems.map(\.line) == [2, 3])
        #expect(e.problems.first?.message == "Date '2022-02-30' is not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)")
    }

    @Test("thousands separators only in whole groups of three; CP949 that is not CP949 is refused")
    func numbersAndEncoding() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: Self.fixture("symbols-native.csv"))
        let header = Array("일자,종가,시가,고가,저가,거래량\n".utf8)
        let cp949Header = try #require("일자,종가,시가,고가,저가,거래량\n".data(using: String.Encoding(rawValue: 0x8000_0422)))
        #expect(Array(cp949Header) != header)
        let bad = dir.path("005930.csv")
        try Data(Array(cp949Header) + Array("2022/09/19,\"1,23\",1,1,1,1\n".utf8)).write(to: URL(fileURLWithPath: bad))
        let e = try #require(throws: ImportFailure.self) { try BarImporter(store: store).importFile(path: bad) }
        #expect(e.problems.first?.message == "close '1,23' is not a number")
        // 0xFF is no CP949 lead byte: a clear error, not a silently dropped byte.
        try Data(Array(cp949Header) + [0xFF, 0xFF] + Array(",1,1,1,1,1\n".utf8)).write(to: URL(fileURLWithPath: bad))
        let e2 = try #require(throws: MarketDataError.self) { try BarImporter(store: store).importFile(path: bad) }
        #expect(e2.message.contains("line 2: the file is neither UTF-8 nor CP949"))
        #expect(try store.storedBarCount(timeframe: .daily) == 0)
    }
}
