import Foundation
import MarketData
import ScanCore
import Testing

@Suite("Generator")
struct MarketGeneratorTests {
    func same(_ a: BarSeries, _ b: BarSeries) -> Bool {
        a.times == b.times && a.utcOffsets == b.utcOffsets && a.columns.open == b.columns.open
            && a.columns.high == b.columns.high && a.columns.low == b.columns.low && a.columns.close == b.columns.close
            && a.columns.volume == b.columns.volume
    }

    @Test("the same seed gives the same data; another seed does not")
    func determinism() throws {
        let a = try MarketGenerator(.init(symbols: 5, days: 300, seed: 7))
        let b = try MarketGenerator(.init(symbols: 5, days: 300, seed: 7))
        let c = try MarketGenerator(.init(symbols: 5, days: 300, seed: 8))
        #expect(a.symbolInfos() == b.symbolInfos())
        for i in 0..<5 {
            #expect(same(a.series(i), b.series(i)))
            #expect(!same(a.series(i), c.series(i)))
        }
        // Symbol i does not depend on how many symbols are generated.
        let big = try MarketGenerator(.init(symbols: 50, days: 300, seed: 7))
        #expect(same(big.series(3), a.series(3)))
    }

    @Test("daily bars are valid OHLCV on weekdays, spread over markets and sectors")
    func dailyShape() throws {
        let g = try MarketGenerator(.init(symbols: 40, days: 500, seed: 1))
        let infos = g.symbolInfos()
        #expect(Set(infos.map(\.market)) == ["KOSPI", "KOSDAQ"])
        #expect(Set(infos.map(\.sector)).count >= 6)
        #expect(Set(infos.compactMap(\.marketCap)).count == 40)
        for i in 0..<40 {
            let s = g.series(i)
            #expect(s.count == 500)
            #expect(s.day(at: 499) == day("2024-12-31"))
            let c = s.columns
            for k in 0..<s.count {
                #expect(s.day(at: k).weekday < 5)
                #expect(
                    c.low[k] > 0 && c.low[k] <= min(c.open[k], c.close[k]) && c.high[k] >= max(c.open[k], c.close[k])
                )
                #expect(c.volume[k] >= 0)
            }
        }
        // Volatility clusters: absolute returns are positively autocorrelated.
        let s = g.series(0)
        let r = (1..<s.count).map { abs(log(s.columns.close[$0] / s.columns.close[$0 - 1])) }
        let mean = r.reduce(0, +) / Double(r.count)
        var cov = 0.0
        for k in 1..<r.count { cov += (r[k] - mean) * (r[k - 1] - mean) }
        #expect(cov > 0)
    }

    @Test("1-minute bars cover 09:00–15:29 Seoul time and round-trip through the store")
    func minuteBars() throws {
        let dir = try TempDir()
        let store = try dir.store()
        let g = try MarketGenerator(.init(symbols: 3, days: 3, timeframe: .minute1, seed: 9))
        #expect(try g.write(into: store) == 3 * 3 * 390)
        let s = g.series(1)
        #expect(s.timestamp(at: 0).description == "2024-12-27T09:00:00+09:00")
        #expect(s.timestamp(at: 389).description == "2024-12-27T15:29:00+09:00")
        #expect(s.timestamp(at: s.count - 1).description == "2024-12-31T15:29:00+09:00")
        let loaded = try store.loadBars(
            BarQuery(symbol: s.symbol, timeframe: .minute1, range: .everything, lookbackBars: 0)
        )
        #expect(same(loaded, s))
        let five = try store.loadBars(
            BarQuery(symbol: s.symbol, timeframe: .minute5, range: .everything, lookbackBars: 0)
        )
        #expect(five.count == 3 * 78)
        #expect(five.timestamp(at: 1).description == "2024-12-27T09:05:00+09:00")
        #expect(try store.latestDay(for: .minute60) == day("2024-12-31"))
    }

    @Test("bad configurations are refused")
    func badConfig() {
        #expect(throws: MarketDataError.self) { try MarketGenerator(.init(symbols: 0, days: 10)) }
        #expect(throws: MarketDataError.self) { try MarketGenerator(.init(symbols: 1, days: 10, timeframe: .weekly)) }
    }
}
