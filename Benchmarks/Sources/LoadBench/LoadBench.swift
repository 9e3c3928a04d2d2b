import Foundation
import MarketData
import ScanCore

/// The bar store's hot path: every symbol's whole daily history in one bulk read, as an engine node
/// loads it on a cold cache (BENCHMARKS.md "Market data load"). Prints the best wall and CPU time of
/// the repeats.
///
///     swift run -c release --package-path Benchmarks LoadBench --db STORE [--repeats N]
@main
struct LoadBench {
    static func main() throws {
        var path: String?
        var repeats = 5
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            let text = arguments.next()
            switch (argument, text) {
            case ("--db", let p?): path = p
            case ("--repeats", let r?) where (Int(r) ?? 0) > 0: repeats = Int(r) ?? repeats
            default:
                FileHandle.standardError.write(Data("usage: LoadBench --db STORE [--repeats N]\n".utf8))
                exit(64)
            }
        }
        guard let path else {
            FileHandle.standardError.write(Data("usage: LoadBench --db STORE [--repeats N]\n".utf8))
            exit(64)
        }
        let store = try MarketDataStore.open(path: path)
        let symbols = try store.allSymbols()
        guard let last = try store.latestDay(for: .daily) else {
            FileHandle.standardError.write(Data("\(path) holds no daily bars\n".utf8))
            exit(1)
        }
        let range = DateRange(from: last, to: last)
        var best = Double.infinity
        var bestCPU = Double.infinity
        var bars = 0
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            let cpu = cpuNanoseconds()
            let batch = try store.loadBars(
                symbols: symbols.map(\.symbol),
                timeframe: .daily,
                range: range,
                lookbackBars: 0
            )
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            bestCPU = min(bestCPU, (cpuNanoseconds() - cpu) / 1e6)
            bars = batch.series.values.reduce(0) { $0 + $1.count }
        }
        print(
            "bulk load of every daily series: \(bars) bars of \(symbols.count) symbols, "
                + "best of \(repeats): \((best * 10).rounded() / 10) ms wall, \((bestCPU * 10).rounded() / 10) ms CPU"
        )
    }

    static func cpuNanoseconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e9 + Double(t.tv_nsec)
    }
}
