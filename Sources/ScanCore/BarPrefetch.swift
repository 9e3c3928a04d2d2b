import Synchronization

/// Reads a chunk's bars in groups: the first thread to need a symbol of a group loads the whole
/// group with one call (``BarRepository/loadBars(_:)-([BarQuery])``: one round trip to a database
/// server instead of one per symbol); threads needing another symbol of that group wait for it, and
/// each series is handed out once and then forgotten (the chunk holds at most the groups not yet
/// scanned).
///
/// With a group size of 1 every symbol is loaded on its own, on the thread that scans it (what a
/// local SQLite file prefers). Thread-safe.
public final class BarPrefetch: Sendable {
    private let symbols: [String]
    private let firstIndex: [String: Int]
    private let groupSize: Int
    private let load: @Sendable ([BarQuery]) -> [Result<BarSeries, any Error>]
    private let groups: [Group]

    /// One group's series: `nil` until loaded, then those not handed out yet.
    private final class Group: Sendable {
        let slot = Mutex<[String: Result<BarSeries, any Error>]?>(nil)
    }

    /// - Parameters:
    ///   - symbols: the chunk's symbols, in the order threads take them.
    ///   - groupSize: symbols per load (at least 1).
    ///   - load: loads a group's queries, one result per query in order.
    public init(
        symbols: [String],
        groupSize: Int,
        load: @escaping @Sendable ([BarQuery]) -> [Result<BarSeries, any Error>]
    ) {
        self.symbols = symbols
        self.groupSize = max(1, groupSize)
        self.load = load
        var first: [String: Int] = [:]
        for (i, s) in symbols.enumerated() where first[s] == nil { first[s] = i }
        firstIndex = first
        let count = (symbols.count + self.groupSize - 1) / self.groupSize
        groups = (0..<count).map { _ in Group() }
    }

    /// A prefetch over `bars`, in groups of the store's ``BarRepository/preferredReadBatch``.
    public convenience init(symbols: [String], bars: any BarRepository) {
        self.init(symbols: symbols, groupSize: bars.preferredReadBatch) { queries in
            do {
                return try bars.loadBars(queries)
            } catch {
                return queries.map { _ in .failure(error) }
            }
        }
    }

    /// `symbol`'s series, loading its group (with `query` giving each symbol's query) when no thread
    /// has yet. A symbol outside the chunk, or asked for twice, is loaded on its own.
    public func series(for symbol: String, query: (String) -> BarQuery) throws -> BarSeries {
        guard let index = firstIndex[symbol] else { return try single(query(symbol)) }
        let g = index / groupSize
        let taken = groups[g].slot.withLock { slot -> Result<BarSeries, any Error>? in
            var loaded = slot ?? [:]
            if slot == nil {
                let members = Array(symbols[(g * groupSize)..<min(symbols.count, (g + 1) * groupSize)])
                var unique: [String] = []
                for s in members where !unique.contains(s) { unique.append(s) }
                let results = load(unique.map(query))
                for (s, r) in zip(unique, results) { loaded[s] = r }
            }
            let mine = loaded.removeValue(forKey: symbol)
            slot = loaded
            return mine
        }
        if let taken { return try taken.get() }
        return try single(query(symbol))
    }

    private func single(_ query: BarQuery) throws -> BarSeries {
        guard let result = load([query]).first else {
            throw BarPrefetchError(symbol: query.symbol)
        }
        return try result.get()
    }
}

/// A store's batched read returned fewer results than it was asked for.
public struct BarPrefetchError: Error, Sendable, CustomStringConvertible {
    public var symbol: String
    public init(symbol: String) { self.symbol = symbol }
    public var description: String { "the store returned no bars for \(symbol)" }
}
