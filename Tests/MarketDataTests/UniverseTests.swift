import MarketData
import ScanCore
import Testing

@Suite("Universes")
struct UniverseTests {
    /// A store holding the bundled sample's symbols (48: 25 KOSPI, 20 KOSDAQ, 3 ETFs without market cap).
    func sampleStore(_ dir: TempDir) throws -> MarketDataStore {
        let store = try dir.store()
        _ = try SymbolImporter(store: store).importFile(path: SampleData.symbolsPath)
        return store
    }

    @Test("no criteria means every active symbol, ordered by symbol")
    func everything() async throws {
        let dir = try TempDir()
        let store = try sampleStore(dir)
        var all = try await store.resolve(.all)
        #expect(all.symbols.count == 48)
        #expect(all.symbols.map(\.symbol) == all.symbols.map(\.symbol).sorted())
        #expect(all.unknown.isEmpty)
        var samsung = try #require(all.symbols.first { $0.symbol == "005930" })
        samsung.active = false
        try store.upsertSymbols([samsung])
        all = try await store.resolve(.all)
        #expect(all.symbols.count == 47)
        #expect(!all.symbols.contains { $0.symbol == "005930" })
        // An explicit list still reaches an inactive symbol.
        let explicit = try await store.resolve(SymbolCriteria(symbols: ["005930"]))
        #expect(explicit.symbols.map(\.symbol) == ["005930"])
    }

    @Test("explicit symbols win; unknown ones are reported; exclusions apply last")
    func explicit() async throws {
        let dir = try TempDir()
        let store = try sampleStore(dir)
        let u = try await store.resolve(
            SymbolCriteria(
                symbols: ["005930", "NOPE", "000660", "005930", "000080"],
                markets: ["KOSDAQ"],
                exclude: ["000080"]
            )
        )
        #expect(u.symbols.map(\.symbol) == ["000660", "005930"])
        #expect(u.unknown == ["NOPE"])
    }

    @Test("markets and sectors match case-insensitively")
    func marketsAndSectors() async throws {
        let dir = try TempDir()
        let store = try sampleStore(dir)
        let kosdaq = try await store.resolve(SymbolCriteria(markets: ["kosdaq"]))
        #expect(kosdaq.symbols.count == 20)
        #expect(kosdaq.symbols.allSatisfy { $0.market == "KOSDAQ" })
        let both = try await store.resolve(SymbolCriteria(markets: ["KOSPI", "Kosdaq"]))
        #expect(both.symbols.count == 45)
        let chips = try await store.resolve(SymbolCriteria(sectors: ["반도체 제조업"]))
        #expect(chips.symbols.map(\.symbol).contains("000660"))
        #expect(chips.symbols.allSatisfy { $0.sector == "반도체 제조업" })
        let mixed = try await store.resolve(SymbolCriteria(markets: ["KOSPI"], sectors: ["반도체 제조업", "의약품 제조업"]))
        #expect(!mixed.symbols.isEmpty)
        #expect(mixed.symbols.allSatisfy { $0.market == "KOSPI" && ["반도체 제조업", "의약품 제조업"].contains($0.sector) })
        let none = try await store.resolve(SymbolCriteria(markets: ["NYSE"]))
        #expect(none.symbols.isEmpty && none.unknown.isEmpty)
    }

    @Test("market-cap bounds are inclusive and skip symbols without a market cap")
    func marketCap() async throws {
        let dir = try TempDir()
        let store = try sampleStore(dir)
        let all = try store.allSymbols()
        let samsungCap = try #require(all.first { $0.symbol == "005930" }?.marketCap)
        let top = try await store.resolve(SymbolCriteria(minMarketCap: samsungCap))
        #expect(top.symbols.map(\.symbol) == ["005930"])
        let small = try await store.resolve(SymbolCriteria(maxMarketCap: 2e12))
        #expect(small.symbols.allSatisfy { ($0.marketCap ?? .infinity) <= 2e12 })
        #expect(small.symbols.count == all.filter { ($0.marketCap ?? .infinity) <= 2e12 }.count)
        let band = try await store.resolve(SymbolCriteria(minMarketCap: 1e12, maxMarketCap: 5e12, exclude: ["000080"]))
        #expect(band.symbols.allSatisfy { (1e12...5e12).contains($0.marketCap ?? -1) && $0.symbol != "000080" })
        #expect(
            band.symbols.count
                == all.filter { (1e12...5e12).contains($0.marketCap ?? -1) && $0.symbol != "000080" }.count
        )
    }

    @Test("symbols(_:) returns details of known symbols only")
    func details() async throws {
        let dir = try TempDir()
        let store = try sampleStore(dir)
        let info = try await store.symbols(["000660", "XXXXXX"])
        #expect(info.map(\.name) == ["SK하이닉스"])
    }
}
