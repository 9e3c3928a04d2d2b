import Foundation
import ScanCore
import SessionStore
import Testing

@Suite("SessionStore watches") struct WatchStoreTests {
    static func entry(_ symbol: String, _ signal: String, close: Double, rsi: Double) -> WatchEntry {
        WatchEntry(
            match: SignalMatch(
                symbol: symbol,
                timestamp: BarTimestamp(epochSeconds: 1_749_475_800, utcOffsetSeconds: -14_400, isIntraday: true),
                signal: signal,
                close: close,
                values: ["rsi14": rsi]
            ),
            forming: signal == "b"
        )
    }

    @Test func watchesTheirSetsAndEventLogsRoundTripAndAreDeletedWhole() async throws {
        let store = try SessionStore.inMemory()
        let request = WatchRequest(
            symbolCriteria: SymbolCriteria(symbols: ["INDA", "FXY"]),
            timeframe: .minute1,
            formula: Formula(name: "w", source: "close > open"),
            parameters: ["n": .number(3)],
            confirm: .tick
        )
        let created = Date(timeIntervalSinceReferenceDate: 1000.25)
        try await store.saveWatch(StoredWatch(id: "w1", request: request, createdAt: created, seq: 0, entries: []))
        try await store.saveWatch(
            StoredWatch(id: "w2", request: request, createdAt: created.addingTimeInterval(1), seq: 0, entries: [])
        )
        let a = Self.entry("INDA", "a", close: 56.01, rsi: .nan)
        let b = Self.entry("FXY", "b", close: 62.5, rsi: 48.25)
        let events = [
            WatchEvent(seq: 1, kind: .enter, entry: a, time: created),
            WatchEvent(seq: 2, kind: .enter, entry: b, time: created),
            WatchEvent(seq: 3, kind: .exit, entry: a, time: created),
        ]
        try await store.recordEvents(watchId: "w1", events: events, seq: 3, entries: [b])

        let all = try await store.watches()
        #expect(all.map(\.id) == ["w1", "w2"])
        #expect(all[0].request == request)
        #expect(all[0].createdAt == created)
        #expect(all[0].seq == 3)
        #expect(all[0].entries == [b])
        #expect(all[0].entries.first?.forming == true)
        #expect(try await store.events(watchId: "w1", after: 0, limit: 10) == events)
        #expect(try await store.events(watchId: "w1", after: 1, limit: 1).map(\.seq) == [2])
        let nan = try #require(
            try await store.events(watchId: "w1", after: 0, limit: 1).first?.entry.match.values["rsi14"]
        )
        #expect(nan.isNaN)

        // Events without a new snapshot: the stored set is the snapshot with the later events folded in.
        let c = Self.entry("INDA", "c", close: 57, rsi: 60)
        let later = [
            WatchEvent(seq: 4, kind: .enter, entry: c, time: created),
            WatchEvent(seq: 5, kind: .exit, entry: b, time: created),
            WatchEvent(seq: 6, kind: .enter, entry: a, time: created),
        ]
        try await store.recordEvents(watchId: "w1", events: later, seq: 6, entries: nil)
        let folded = try #require(try await store.watches().first)
        #expect(folded.seq == 6)
        #expect(folded.entries == [a, c])
        #expect(try await store.events(watchId: "w1", after: 0, limit: 10) == events + later)

        try await store.deleteWatch(id: "w1")
        #expect(try await store.watches().map(\.id) == ["w2"])
        #expect(try await store.events(watchId: "w1", after: 0, limit: 10).isEmpty)
    }
}
