import Foundation
import ScanCore
import Testing

@testable import ScanProtocol

/// The hand-written live events (issue 14 part 5) are the JSON `JSONEncoder` writes for them.
@Suite struct LiveEventCodecTests {
    static func event(_ kind: WatchEventKind, close: Double, values: [String: Double], forming: Bool) -> WatchEvent {
        WatchEvent(
            seq: 1234,
            kind: kind,
            entry: WatchEntry(
                match: SignalMatch(
                    symbol: "quote\" back\\ tab\t nl\n ctl\u{1} 한글 /",
                    timestamp: BarTimestamp(epochSeconds: 1_750_167_000, utcOffsetSeconds: -14_400, isIntraday: true),
                    signal: "up",
                    close: close,
                    values: values
                ),
                forming: forming
            ),
            time: Date(timeIntervalSince1970: 1_750_167_061.25)
        )
    }

    /// Both encodings parsed back into plain JSON objects.
    static func both(_ doc: LiveEventDocument) throws -> (hand: NSDictionary, foundation: NSDictionary) {
        let frames = LiveEventCodec.encode(doc)
        #expect(frames.count == 2)
        #expect(frames[0] == Array(doc.topic.utf8))
        let hand = try JSONSerialization.jsonObject(with: Data(frames[1])) as? NSDictionary
        let foundation = try JSONSerialization.jsonObject(with: Data(try JSONCoding.encode(doc))) as? NSDictionary
        return (try #require(hand), try #require(foundation))
    }

    @Test func enterAndExitEventsEqualJSONEncodersOutput() throws {
        for (kind, forming) in [(WatchEventKind.enter, false), (.exit, true)] {
            let doc = LiveEventDocument(
                watchId: "9f1c",
                event: Self.event(
                    kind,
                    close: 71234.5,
                    values: ["rsi14": 55.123456789012345, "neg": -42, "tiny": -0.000012345, "big": 1e300],
                    forming: forming
                ),
                confirm: forming ? .tick : .bar
            )
            let (hand, foundation) = try Self.both(doc)
            #expect(hand == foundation)
            // And it decodes to the same document.
            #expect(try LiveEventCodec.decode(LiveEventCodec.encode(doc)) == doc)
        }
    }

    @Test func stoppedEventsCarryNoEntryFields() throws {
        let doc = LiveEventDocument(stoppedWatch: "9f1c", seq: 7, confirm: .bar, time: Date(timeIntervalSince1970: 0))
        let (hand, foundation) = try Self.both(doc)
        #expect(hand == foundation)
        #expect(Set(hand.allKeys.compactMap { $0 as? String }) == ["watch_id", "event", "seq", "confirm", "time"])
    }

    /// An undefined close or column is `null` (the schema requires `close` on enter and exit).
    @Test func undefinedNumbersAreNull() throws {
        let doc = LiveEventDocument(
            watchId: "w",
            event: Self.event(.enter, close: .nan, values: ["rsi14": .infinity], forming: false),
            confirm: .bar
        )
        let body = try #require(LiveEventCodec.encode(doc).last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(object["close"] is NSNull)
        #expect((object["values"] as? [String: Any])?["rsi14"] is NSNull)
        #expect(try LiveEventCodec.decode(LiveEventCodec.encode(doc)) == doc)
    }

    /// A round's documents made together (times formatted once per run) are those made one by one.
    @Test func documentsOfARoundEqualTheOneByOneDocuments() {
        var events: [WatchEvent] = []
        for (i, (bar, published)) in [(0, 0.0), (0, 0.0), (60, 0.0), (60, 0.5), (0, 0.5), (-86_400, 1.0)].enumerated() {
            var e = Self.event(
                i % 2 == 0 ? .enter : .exit,
                close: 10 + Double(i),
                values: ["v": Double(i)],
                forming: i == 3
            )
            e.seq = i + 1
            e.entry.match.timestamp = BarTimestamp(
                epochSeconds: 1_750_167_000 + Int64(bar),
                utcOffsetSeconds: i == 5 ? 32_400 : -14_400,
                isIntraday: true
            )
            e.time = Date(timeIntervalSince1970: 1_750_167_061 + published)
            events.append(e)
        }
        let together = LiveEventDocument.documents(watchId: "w", events: events, confirm: .bar)
        #expect(together == events.map { LiveEventDocument(watchId: "w", event: $0, confirm: .bar) })
        #expect(Set(together.map(\.timestamp)).count == 3)
        #expect(LiveEventDocument.documents(watchId: "w", events: [], confirm: .tick).isEmpty)
    }
}
