import Foundation
import ScanCore
import Testing

@testable import ScanProtocol

/// The feed's hand-written reader of the usual body (issue 14 part 5) reads what `JSONDecoder` reads,
/// and hands everything else to it.
@Suite struct FeedCodecTests {
    static func bars() -> [FeedBar] {
        (0..<50).map { (i: Int) -> FeedBar in
            let x = Double(i)
            let daily = i % 5 == 0
            let minute = Int64(1_750_120_200) + Int64(i) * 60
            let timestamp =
                daily
                ? BarTimestamp(epochSeconds: 1_750_118_400, utcOffsetSeconds: 0, isIntraday: false)
                : BarTimestamp(epochSeconds: minute, utcOffsetSeconds: 32_400, isIntraday: true)
            let symbol: String = i % 2 == 0 ? "00\(5930 + i)" : "삼성\(i)"
            let open: Double = 71_250 + x * 0.01
            let high: Double = 1e-7 * (x + 1)
            let low: Double = 0.5 - 0.1 * x  // negative too, never -0 (left to JSONDecoder)
            let close: Double = x / 3
            return FeedBar(
                symbol: symbol,
                timeframe: daily ? .daily : .minute1,
                timestamp: timestamp,
                open: open,
                high: high,
                low: low,
                close: close,
                volume: x * 1000,
                final: i % 3 != 0
            )
        }
    }

    static func body(_ frames: [[UInt8]]) -> [UInt8] { frames.last ?? [] }

    static func same(_ a: [FeedBar], _ b: [FeedBar]) -> Bool {
        a == b
            && zip(a, b).allSatisfy { x, y in
                [x.open, x.high, x.low, x.close, x.volume].map(\.bitPattern)
                    == [y.open, y.high, y.low, y.close, y.volume].map(\.bitPattern)
                    && x.timestamp.utcOffsetSeconds == y.timestamp.utcOffsetSeconds
            }
    }

    @Test func whatFeedersSendIsReadByHandAsJSONDecoderReadsIt() throws {
        let bars = Self.bars()
        let body = Self.body(try FeedCodec.encode(bars))
        let read = FeedCodec.fastBars(body, maxBars: 100)
        #expect(read != nil, "the usual body was left to JSONDecoder")
        guard let fast = read else { return }
        guard case .success(let decoded) = FeedCodec.decodeBody(body, maxBars: 100) else {
            Issue.record("JSONDecoder refused the body")
            return
        }
        #expect(Self.same(fast, decoded.compactMap { try? $0.get() }))
        #expect(Self.same(fast, bars))
        // With whitespace, other key orders and no optional fields.
        let spaced = Array(
            """
             { "bars" : [ { "volume" : 0 , "close" : 1.5e2 , "low" : -0.5 , "high" : 2E-3 , "open" : 100.25 ,
               "time" : "2025-06-17T09:30:00-04:00" , "symbol" : "AAPL" } ] } \n
            """.utf8
        )
        let one = try #require(FeedCodec.fastBars(spaced, maxBars: 1))
        #expect(one.count == 1 && one[0].timeframe == .minute1 && one[0].final && one[0].close == 150)
    }

    /// Anything but the usual shape of valid bars goes to `JSONDecoder`, which refuses as before.
    @Test func everythingElseIsLeftToJSONDecoder() throws {
        let ok = #""symbol":"A","time":"2025-06-17T09:30:00-04:00","open":1,"high":1,"low":1,"close":1"#
        let bodies = [
            #"{"bars":[{\#(ok),"volume":1,"note":"unknown key"}]}"#,
            #"{"bars":[{"symbol":"A\u0042","time":"2025-06-17T09:30:00-04:00","open":1,"high":1,"low":1,"close":1,"volume":1}]}"#,
            #"{"bars":[{\#(ok),"volume":"NaN"}]}"#,
            #"{"bars":[{\#(ok),"volume":-1}]}"#,
            #"{"bars":[{\#(ok),"volume":1,"timeframe":"5m"}]}"#,
            #"{"bars":[{\#(ok),"volume":1,"timeframe":null}]}"#,
            #"{"bars":[{\#(ok),"volume":1,"volume":2}]}"#,
            #"{"bars":[{\#(ok),"volume":01}]}"#,
            #"{"bars":[{\#(ok),"volume":1e999}]}"#,
            #"{"bars":[{\#(ok),"volume":0e2}]}"#,  // valid JSON that JSONDecoder refuses
            #"{"bars":[{\#(ok),"volume":1e-400}]}"#,  // underflows to 0: JSONDecoder refuses it
            #"{"bars":[{"symbol":"A","time":"2025-06-17T09:30:30-04:00","open":1,"high":1,"low":1,"close":1,"volume":1}]}"#,
            #"{"bars":[{"symbol":"","time":"2025-06-17T09:30:00-04:00","open":1,"high":1,"low":1,"close":1,"volume":1}]}"#,
            #"{"bars":[{\#(ok),"volume":1},{\#(ok),"volume":2}]}"#,  // more than maxBars = 1
            #"{\#(ok),"volume":1}"#,  // a single bar
            #"{"bars":[{\#(ok),"volume":1}],"extra":1}"#,
            #"{"bars":[{\#(ok),"volume":1}]} trailing"#,
        ]
        for text in bodies {
            let body = Array(text.utf8)
            #expect(FeedCodec.fastBars(body, maxBars: 1) == nil, "\(text)")
            let frames = [WireProtocol.versionBytes, Array(FeedCodec.verb.utf8), body]
            #expect(
                "\(FeedCodec.decode(frames, maxBars: 1))" == "\(FeedCodec.decodeBody(body, maxBars: 1))",
                "\(text)"
            )
        }
    }
}
