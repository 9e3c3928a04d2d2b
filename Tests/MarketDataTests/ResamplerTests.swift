import MarketData
import PropertyBased
import ScanCore
import Testing

/// Checks each output bar against the input bars it covers.
private func checkAggregation(_ input: BarSeries, _ output: BarSeries, group: (Int) -> Int64) {
    var groups: [[Int]] = []
    var lastKey: Int64?
    for i in 0..<input.count {
        let k = group(i)
        if k != lastKey { groups.append([]) }
        groups[groups.count - 1].append(i)
        lastKey = k
    }
    #expect(output.count == groups.count)
    guard output.count == groups.count else { return }
    let c = input.columns
    let r = output.columns
    for (j, g) in groups.enumerated() {
        #expect(r.open[j] == c.open[g.first!])
        #expect(r.close[j] == c.close[g.last!])
        #expect(r.high[j] == g.map { c.high[$0] }.max())
        #expect(r.low[j] == g.map { c.low[$0] }.min())
        #expect(r.volume[j] == g.reduce(0) { $0 + c.volume[$1] })
        #expect(output.times[j] <= input.times[g.first!])
        #expect(r.low[j] <= min(r.open[j], r.close[j]) && r.high[j] >= max(r.open[j], r.close[j]))
    }
    #expect(zip(output.times, output.times.dropFirst()).allSatisfy { $0 < $1 })
}

@Suite("Resampling")
struct ResamplerTests {
    @Test("weekly bars: first open, max high, min low, last close, summed volume, Monday-to-Sunday weeks")
    func weeklyProperty() async {
        await propertyCheck(input: Gen.int(in: 0...1_000_000), Gen.int(in: 0...300)) { seed, n in
            let daily = randomSeries(seed: UInt64(seed), count: n, timeframe: .daily)
            let weekly = Resampler.weekly(daily)
            #expect(weekly.timeframe == .weekly && weekly.utcOffsets.isEmpty)
            checkAggregation(daily, weekly) { i in
                let d = daily.day(at: i)
                return Int64(d.daysSinceEpoch - Int32(d.weekday))  // the Monday of its week
            }
            // Each weekly bar starts on its first session.
            for j in 0..<weekly.count { #expect(daily.times.contains(weekly.times[j])) }
        }
    }

    @Test(
        "intraday bars: aggregation invariants and alignment to the session open",
        arguments: [Timeframe.minute5, .minute15, .minute60]
    )
    func intradayProperty(_ tf: Timeframe) async {
        await propertyCheck(input: Gen.int(in: 0...1_000_000), Gen.int(in: 0...1_500)) { seed, n in
            let minute = randomSeries(seed: UInt64(seed), count: n, timeframe: .minute1)
            let out = Resampler.intraday(minute, to: tf)
            let size = Int64(tf.minutes!) * 60
            // The generated sessions open at 09:00 local, so buckets start at 09:00 + k × size.
            checkAggregation(minute, out) { i in
                let local = minute.times[i] + Int64(minute.utcOffsets[i])
                let day = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
                let sinceOpen = local - day * 86_400 - 9 * 3600
                let bucket = sinceOpen >= 0 ? sinceOpen / size : -((-sinceOpen + size - 1) / size)
                return day * 100_000 + bucket
            }
            #expect(out.utcOffsets.count == out.count)
            for j in 0..<out.count {
                let local = out.times[j] + Int64(out.utcOffsets[j])
                #expect(((local % 86_400) - 9 * 3600) % size == 0)
            }
        }
    }

    @Test("60-minute bars of New York data start at 09:30, 10:30, …, loaded through the store")
    func newYorkSixty() throws {
        let dir = try TempDir()
        let store = try dir.store()
        _ = try BarImporter(store: store, options: .init(timeframe: .minute1, createSymbols: true))
            .importFile(path: SharedData.path("intraday_1m/bars.csv"))
        let range = DateRange(from: day("2025-06-10"), to: day("2025-06-10"))
        let s = try store.loadBars(BarQuery(symbol: "INDA", timeframe: .minute60, range: range, lookbackBars: 0))
        #expect(s.count == 7)
        #expect(s.timestamp(at: 0).description == "2025-06-10T09:30:00-04:00")
        #expect(s.timestamp(at: 6).description == "2025-06-10T15:30:00-04:00")
        let minute = try store.loadBars(BarQuery(symbol: "INDA", timeframe: .minute1, range: range, lookbackBars: 0))
        #expect(s.columns.volume.reduce(0, +) == minute.columns.volume.reduce(0, +))
        #expect(s.columns.high.max() == minute.columns.high.max())
        #expect(s.columns.open.first == minute.columns.open.first)
        #expect(s.columns.close.last == minute.columns.close.last)
    }
}
