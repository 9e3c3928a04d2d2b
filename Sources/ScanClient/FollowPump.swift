/// What drives a follower (``SessionFollow``, ``LiveFollow``): the subscription's events of one
/// session or watch and a tick every poll interval, merged into the follower's one input stream,
/// and the quiet-spell test that decides when a tick re-reads the state.
struct FollowPump {
    /// Starts feeding `sink`: `event(e)` for every element `e` of `events` that `matches`, and
    /// `tick` every `pollInterval`. Returns the two feeding tasks; cancel them to stop.
    static func start<Events: AsyncSequence & Sendable, Input: Sendable>(
        events: Events,
        where matches: @escaping @Sendable (Events.Element) -> Bool,
        into sink: AsyncStream<Input>.Continuation,
        event: @escaping @Sendable (Events.Element) -> Input,
        tick: Input,
        every pollInterval: Duration
    ) -> [Task<Void, Never>] {
        let reader = Task {
            do {
                for try await e in events where matches(e) { sink.yield(event(e)) }
            } catch {}
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: pollInterval)
                sink.yield(tick)
            }
        }
        return [reader, ticker]
    }
}

/// A spell without events: a follower re-reads the state when one lasted a whole poll interval.
struct QuietSpell {
    let interval: Duration
    private var since = ContinuousClock.now

    init(_ interval: Duration) { self.interval = interval }

    /// An event arrived: the spell starts again.
    mutating func heard() { since = .now }

    /// Whether nothing arrived for ``interval``; when so, a new spell starts.
    mutating func isOver() -> Bool {
        guard ContinuousClock.now - since >= interval else { return false }
        since = .now
        return true
    }
}
