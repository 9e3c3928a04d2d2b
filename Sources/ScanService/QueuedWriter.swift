import ScanCore
import Synchronization

/// Runs writes one at a time, in the order they were queued, off the caller's path (issue 14 part 5):
/// ``enqueue(startWriting:_:)`` folds what is to be written into the pending batch and returns at
/// once; one write at a time takes the whole pending batch (everything queued since the last write
/// began), so a writer that falls behind catches up in fewer, larger writes.
///
/// The writes run in a task on ``Blocking/executor`` (the shared blocking threads), so what they do
/// between suspension points — encoding rows, the store's blocking calls — never takes a thread of
/// the cooperative pool from the event path (feed, evaluation round, publishing, replies).
///
/// A batch queued with `startWriting: false` waits for ``startWriting()`` (or ``flush()``, or a later
/// enqueue that starts writing): the live watches queue the feed's bars that way and let the store
/// append them once the round they belong to is published.
final class QueuedWriter<Batch: Sendable>: Sendable {
    private struct State {
        var pending: Batch?
        /// Batches enqueued, and batches written (a flush waits for the first to reach the second).
        var queued = 0
        var done = 0
        var writing = false
        var waiters: [(upTo: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let write: @Sendable (Batch) async -> Void
    private let state = Mutex(State())

    /// - Parameter write: writes one batch (reports its own failures: the batch counts as written).
    init(write: @escaping @Sendable (Batch) async -> Void) {
        self.write = write
    }

    /// Folds something into the pending batch (`fold` gets `nil` when nothing is pending) and starts
    /// writing unless `startWriting` is `false`.
    func enqueue(startWriting: Bool = true, _ fold: (inout Batch?) -> Void) {
        let start = state.withLock { s -> Bool in
            fold(&s.pending)
            s.queued += 1
            return startWriting && Self.claim(&s)
        }
        if start { Task(executorPreference: Blocking.executor) { await self.drain() } }
    }

    /// Starts writing what is pending (nothing when a write is already running: it takes it next).
    func startWriting() {
        if state.withLock({ Self.claim(&$0) }) { Task(executorPreference: Blocking.executor) { await self.drain() } }
    }

    /// Waits until everything queued before the call is written (starting the writes if held).
    func flush() async {
        startWriting()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                guard s.done < s.queued else { return true }
                s.waiters.append((s.queued, c))
                return false
            }
            if now { c.resume() }
        }
    }

    /// Marks the writer busy when there is something to write and no write runs.
    private static func claim(_ s: inout State) -> Bool {
        guard s.pending != nil, !s.writing else { return false }
        s.writing = true
        return true
    }

    /// Writes what is pending, again and again, until nothing is.
    private func drain() async {
        while true {
            let taken = state.withLock { s -> (batch: Batch, upTo: Int)? in
                guard let batch = s.pending else {
                    s.writing = false
                    return nil
                }
                s.pending = nil
                return (batch, s.queued)
            }
            guard let taken else { return }
            await write(taken.batch)
            let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.done = taken.upTo
                var ready: [CheckedContinuation<Void, Never>] = []
                s.waiters.removeAll { w in
                    guard w.upTo <= s.done else { return false }
                    ready.append(w.continuation)
                    return true
                }
                return ready
            }
            for c in ready { c.resume() }
        }
    }
}
