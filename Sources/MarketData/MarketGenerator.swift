import FormulaEngine
import Foundation
import ScanCore

/// Synthetic market data for scale tests: deterministic for a seed, realistic enough for indicators.
///
/// Each symbol gets a market (KOSPI 45 %, KOSDAQ 55 %), one of a dozen KRX sectors, a lognormal market
/// cap, a start price between 2,000 and 300,000 KRW and its own volatility level. Closes follow a
/// random walk whose variance is GARCH(1,1) (volatility clusters), with a weak pull back to the start
/// price so long histories stay in range; highs and lows wrap open and close; prices are whole KRW;
/// volume is lognormal and rises with the size of the move. Daily bars are weekdays ending at
/// ``Config/endDay``; 1-minute bars cover 09:00–15:29 (390 bars, +09:00) of each of those days.
/// Symbol `i` depends only on the seed and `i`, so any subset can be regenerated alone.
public struct MarketGenerator: Sendable {
    /// What to generate.
    public struct Config: Sendable, Hashable {
        public var symbols: Int
        public var days: Int
        /// `1d` or `1m`.
        public var timeframe: Timeframe
        public var seed: UInt64
        /// The last session date.
        public var endDay: CalendarDay

        public init(
            symbols: Int,
            days: Int,
            timeframe: Timeframe = .daily,
            seed: UInt64 = 42,
            endDay: CalendarDay = CalendarDay(daysSinceEpoch: 20_088)  // 2024-12-31
        ) {
            self.symbols = symbols
            self.days = days
            self.timeframe = timeframe
            self.seed = seed
            self.endDay = endDay
        }
    }

    public let config: Config
    /// The session dates, oldest first (weekdays).
    public let sessions: [CalendarDay]

    static let sectors = [
        "반도체 제조업", "의약품 제조업", "전자부품 제조업", "소프트웨어 개발 및 공급업", "기타 금융업",
        "자동차 신품 부품 제조업", "기초 화학물질 제조업", "통신 및 방송 장비 제조업", "종합 소매업",
        "일차전지 및 이차전지 제조업", "기타 식품 제조업", "부동산 임대 및 공급업",
    ]
    /// Seoul's UTC offset.
    public static let seoulOffset: Int32 = 9 * 3600
    /// 1-minute bars per session (09:00 to 15:29 starts).
    public static let minutesPerSession = 390

    /// Checks the configuration: positive counts, a stored timeframe.
    public init(_ config: Config) throws {
        guard config.symbols > 0, config.days > 0 else {
            throw MarketDataError(.invalidInput, "--symbols and --days must be positive")
        }
        guard config.timeframe == .daily || config.timeframe == .minute1 else {
            throw MarketDataError(.invalidInput, "the generator makes 1d or 1m bars, not \(config.timeframe)")
        }
        self.config = config
        var days: [CalendarDay] = []
        days.reserveCapacity(config.days)
        var d = config.endDay
        while days.count < config.days {
            if d.weekday < 5 { days.append(d) }
            d = d.adding(days: -1)
        }
        sessions = days.reversed()
    }

    /// The symbol code of index `i`: six digits from 900000 (`900000`, `900001`, …).
    public static func code(_ i: Int) -> String { String(900_000 + i) }

    private func rng(_ i: Int, stream: UInt64) -> SeededRandom {
        SeededRandom(seed: config.seed ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15) ^ (stream &* 0xD1B5_4A32_D192_ED03))
    }

    /// The listing of symbol `i`.
    public func symbolInfo(_ i: Int) -> SymbolInfo {
        var r = rng(i, stream: 1)
        let market = r.uniform() < 0.45 ? "KOSPI" : "KOSDAQ"
        let sector = Self.sectors[Int(r.next() % UInt64(Self.sectors.count))]
        let cap = (exp(26.5 + 1.4 * r.normal()) / 1e6).rounded() * 1e6
        return SymbolInfo(
            symbol: Self.code(i),
            name: "합성 \(Self.code(i))",
            market: market,
            sector: sector,
            marketCap: cap
        )
    }

    /// Every symbol's listing.
    public func symbolInfos() -> [SymbolInfo] { (0..<config.symbols).map(symbolInfo) }

    /// The bars of symbol `i`.
    public func series(_ i: Int) -> BarSeries {
        var r = rng(i, stream: 2)
        let p0 = exp(log(2_000.0) + r.uniform() * (log(300_000.0) - log(2_000.0)))
        let longVol = 0.012 + 0.023 * r.uniform()
        let baseVolume = exp(11 + 1.5 * r.normal())
        let (alpha, beta) = (0.08, 0.90)
        let omega = longVol * longVol * (1 - alpha - beta)
        var variance = longVol * longVol
        var price = p0
        let intraday = config.timeframe == .minute1
        let perDay = intraday ? Self.minutesPerSession : 1
        let n = sessions.count * perDay
        var times = [Int64]()
        var offsets = [Int32]()
        var o = [Double]()
        var h = [Double]()
        var l = [Double]()
        var c = [Double]()
        var v = [Double]()
        times.reserveCapacity(n)
        o.reserveCapacity(n)
        h.reserveCapacity(n)
        l.reserveCapacity(n)
        c.reserveCapacity(n)
        v.reserveCapacity(n)
        if intraday { offsets.reserveCapacity(n) }

        func bar(open: Double, close: Double, sigma: Double, volume: Double) {
            let op = max(1, open.rounded())
            let cl = max(1, close.rounded())
            let hi = max(op, cl, (max(open, close) * exp(abs(r.normal()) * 0.5 * sigma)).rounded())
            let lo = max(1, min(op, cl, (min(open, close) * exp(-abs(r.normal()) * 0.5 * sigma)).rounded()))
            o.append(op)
            h.append(hi)
            l.append(lo)
            c.append(cl)
            v.append(max(0, volume.rounded()))
        }

        for day in sessions {
            let sigma = variance.squareRoot()
            let z = r.normal()
            let pull = -0.002 * log(price / p0)
            let ret = sigma * z - 0.5 * variance + pull
            variance = omega + alpha * sigma * sigma * z * z + beta * variance
            let open = price * exp(0.25 * sigma * r.normal())
            let close = price * exp(ret)
            let dayVolume = baseVolume * exp(0.5 * r.normal()) * (1 + 2 * abs(z))
            if !intraday {
                times.append(day.epochSeconds)
                bar(open: open, close: close, sigma: sigma, volume: dayVolume)
            } else {
                // A bridge from open to close in 390 steps, with U-shaped volume.
                let steps = Self.minutesPerSession
                let mSigma = sigma / Double(steps).squareRoot()
                let drift = log(close / open) / Double(steps)
                var p = open
                let start = day.epochSeconds + 9 * 3600 - Int64(Self.seoulOffset)
                for m in 0..<steps {
                    let next = p * exp(drift + mSigma * r.normal())
                    let x = Double(m) / Double(steps - 1) - 0.5
                    let shape = 0.6 + 4.8 * x * x
                    times.append(start + Int64(m) * 60)
                    offsets.append(Self.seoulOffset)
                    bar(
                        open: p,
                        close: next,
                        sigma: mSigma,
                        volume: dayVolume / Double(steps) * shape * exp(0.4 * r.normal())
                    )
                    p = next
                }
                price = p
                continue
            }
            price = close
        }
        return BarSeries(
            symbol: Self.code(i),
            timeframe: config.timeframe,
            times: times,
            utcOffsets: offsets,
            columns: PriceColumns(open: o, high: h, low: l, close: c, volume: v)
        )
    }

    /// Writes every symbol and its bars into `store` (replacing bars at the same times), a batch of
    /// symbols per transaction. `progress` gets (symbols written, symbols total). Returns the bar count.
    @discardableResult
    public func write(
        into store: any MarketDataBackend,
        progress: ((_ done: Int, _ total: Int) throws -> Void)? = nil
    )
        throws -> Int
    {
        try store.upsertSymbols(symbolInfos())
        let batch = config.timeframe == .daily ? 200 : 10
        var bars = 0
        var i = 0
        while i < config.symbols {
            let range = i..<min(i + batch, config.symbols)
            let series = range.map(series)
            bars += series.reduce(0) { $0 + $1.count }
            try store.writeBars(series, createSymbols: false, progress: nil)
            i = range.upperBound
            try progress?(i, config.symbols)
        }
        return bars
    }
}
