import Synchronization

/// A one-shot value many tasks can wait for (`ready`, `stop requested`). Thread-safe.
final class AsyncValue<Value: Sendable>: Sendable {
    private struct State {
        var value: Result<Value, any Error>?
        var waiters: [CheckedContinuation<Value, any Error>] = []
    }
    private let state = Mutex(State())

    init() {}

    /// Sets the value once; later calls are ignored.
    func resolve(_ result: Result<Value, any Error>) {
        let waiters = state.withLock { s -> [CheckedContinuation<Value, any Error>] in
            guard s.value == nil else { return [] }
            s.value = result
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(with: result) }
    }

    var current: Result<Value, any Error>? { state.withLock { $0.value } }

    func wait() async throws -> Value {
        try await withCheckedThrowingContinuation { c in
            let now = state.withLock { s -> Result<Value, any Error>? in
                if let v = s.value { return v }
                s.waiters.append(c)
                return nil
            }
            if let now { c.resume(with: now) }
        }
    }
}
