import Foundation
import ScanClient
import ScanCore
import ScanProtocol
import Testing

@Suite("LIST_SYMBOLS")
struct ListSymbolsTests {
    @Test("lists symbols with names, bar ranges, markets and sectors; filters and pages; names for a result")
    func listSymbols() async throws {
        try await withCluster(nodes: 0) { cluster in
            let client = try await ScanClient.connect(endpoint: cluster.endpoints.api)
            do {
                let all = try await client.listSymbols()
                #expect(all.total == 48)
                #expect(all.symbols.count == 48)
                #expect(all.markets == ["KOSDAQ", "KOSPI"])
                #expect(all.sectors.contains("반도체 제조업"))
                let samsung = try #require(all.symbols.first { $0.symbol == "005930" })
                #expect(samsung.name == "삼성전자")
                #expect(samsung.market == "KOSPI")
                #expect(samsung.bars["1d"]?.to == "2022-09-19")
                #expect(samsung.bars["1d"]?.from == "2015-01-02")
                #expect((samsung.bars["1d"]?.count ?? 0) > 1800)

                let kospi = try await client.listSymbols(SymbolQuery(markets: ["kospi"], search: "삼성", limit: 1))
                #expect(kospi.total > 1)
                #expect(kospi.symbols.count == 1)
                #expect(kospi.symbols.allSatisfy { $0.market == "KOSPI" && $0.name.contains("삼성") })
                #expect(kospi.markets == all.markets)  // the whole catalogue's choices, not the page's

                let names = try await client.symbolNames(["005930", "000660", "NOPE"])
                #expect(names == ["005930": "삼성전자", "000660": "SK하이닉스"])

                let bad = try await client.call(.listSymbols, ["limit": "x"])
                #expect(bad.error?.message == "field 'limit' must be an integer")
            } catch {
                await client.close()
                throw error
            }
            await client.close()
        }
    }
}
