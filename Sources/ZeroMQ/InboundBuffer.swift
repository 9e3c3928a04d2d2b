import Synchronization

/// The bounded buffer between a loop's thread (the only producer) and the tasks consuming a socket's
/// received messages (or monitor events).
///
/// Thread use: ``deliver(_:)``, ``finish(throwing:)`` and ``isPaused`` are called by the loop's thread;
/// ``next()`` by any task. All state sits behind one lock, taken once per batch by the producer.
///
/// Back-pressure: when a delivery fills the buffer to `capacity` it becomes *paused* and the loop stops
/// polling the socket for input; a consumer that drains it to half capacity un-pauses it and wakes the
/// loop (`onRoom`) — one wake-up per half buffer, not per message.
///
/// Cancellation: a cancelled consumer's pending `next()` returns `nil`. A message leaves the buffer
/// only inside the lock, handed to a waiter that is still registered, so none is lost.
final class InboundBuffer<Element: Sendable>: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: UnsafeContinuation<Element?, any Error>
    }

    private struct State {
        var items: [Element] = []
        var head = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var paused = false
        var finished = false
        var failure: ZMQError?

        var count: Int { items.count - head }

        mutating func popFirst() -> Element? {
            guard head < items.count else { return nil }
            let element = items[head]
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
            return element
        }
    }

    let capacity: Int
    private let state = Mutex(State())
    private let onRoom: @Sendable () -> Void

    init(capacity: Int, onRoom: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.onRoom = onRoom
    }

    // MARK: Producer (loop thread)

    /// How many more elements fit before the buffer is full; 0 while paused or finished.
    var room: Int {
        state.withLock { $0.paused || $0.finished ? 0 : max(0, capacity - $0.count) }
    }

    /// Appends a batch in order, handing elements to waiting consumers first. Pauses when full.
    func deliver(_ batch: [Element]) {
        guard !batch.isEmpty else { return }
        var resumed: [(UnsafeContinuation<Element?, any Error>, Element)] = []
        state.withLock { state in
            guard !state.finished else { return }
            var index = 0
            // Waiters exist only while the buffer is empty, so order is preserved.
            while index < batch.count, !state.waiters.isEmpty {
                resumed.append((state.waiters.removeFirst().continuation, batch[index]))
                index += 1
            }
            if index < batch.count { state.items.append(contentsOf: batch[index...]) }
            if state.count >= capacity { state.paused = true }
        }
        for (continuation, element) in resumed { continuation.resume(returning: element) }
    }

    /// Ends the stream: consumers get what is buffered, then `failure` (once) or `nil`. Idempotent.
    func finish(throwing failure: ZMQError? = nil) {
        let waiters: [Waiter] = state.withLock { state in
            guard !state.finished else { return [] }
            state.finished = true
            state.failure = failure
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters {
            if let failure {
                waiter.continuation.resume(throwing: failure)
            } else {
                waiter.continuation.resume(returning: nil)
            }
        }
    }

    // MARK: Consumer (any task)

    private enum Taken {
        case element(Element)
        case end
        case failure(ZMQError)
        case wait
    }

    /// The next element; `nil` once finished and drained, or when the calling task is cancelled.
    func next() async throws -> Element? {
        if Task.isCancelled { return nil }
        switch take() {
        case .element(let element): return element
        case .end: return nil
        case .failure(let error): throw error
        case .wait: break
        }
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Element?, any Error>) in
                var wakeLoop = false
                let taken: Taken = state.withLock { state in
                    if let element = state.popFirst() {
                        wakeLoop = Self.unpauseIfDrained(&state, capacity: capacity)
                        return .element(element)
                    }
                    if state.finished { return Self.endOrFailure(&state) }
                    if Task.isCancelled { return .end }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .wait
                }
                if wakeLoop { onRoom() }
                switch taken {
                case .element(let element): continuation.resume(returning: element)
                case .end: continuation.resume(returning: nil)
                case .failure(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: nil)
        }
    }

    private func take() -> Taken {
        var wakeLoop = false
        let taken: Taken = state.withLock { state in
            if let element = state.popFirst() {
                wakeLoop = Self.unpauseIfDrained(&state, capacity: capacity)
                return .element(element)
            }
            return state.finished ? Self.endOrFailure(&state) : .wait
        }
        if wakeLoop { onRoom() }
        return taken
    }

    private static func unpauseIfDrained(_ state: inout State, capacity: Int) -> Bool {
        guard state.paused, state.count <= capacity / 2 else { return false }
        state.paused = false
        return true
    }

    private static func endOrFailure(_ state: inout State) -> Taken {
        guard let failure = state.failure else { return .end }
        state.failure = nil
        return .failure(failure)
    }
}
