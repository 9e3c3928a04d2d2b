import ScanProtocol
import Synchronization

/// Requests waiting for their reply, keyed by the `request_id` the client put in each body.
///
/// Every waiter is resumed exactly once: by its reply, its timeout, a send failure or ``closeAll(_:)``,
/// whichever comes first (the others find the entry gone and do nothing).
final class PendingReplies: Sendable {
    private struct State {
        var waiting: [String: CheckedContinuation<Reply, any Error>] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    /// Registers a waiter; `false` (and the continuation resumed with `.closed`) when closed.
    func register(_ id: String, _ continuation: CheckedContinuation<Reply, any Error>) -> Bool {
        let accepted = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.waiting[id] = continuation
            return true
        }
        if !accepted { continuation.resume(throwing: ScanClientError.closed) }
        return accepted
    }

    /// Resumes the waiter of `id` with `result`; `false` when none waits (late or unknown reply).
    @discardableResult
    func resume(_ id: String, with result: Result<Reply, any Error>) -> Bool {
        guard let c = state.withLock({ $0.waiting.removeValue(forKey: id) }) else { return false }
        c.resume(with: result)
        return true
    }

    /// A reply without a usable `request_id` (the service could not read ours): given to the waiter
    /// only when exactly one waits, so it is never taken for another request's reply.
    func resumeOnly(with reply: Reply) {
        let only = state.withLock { s -> CheckedContinuation<Reply, any Error>? in
            guard s.waiting.count == 1, let key = s.waiting.keys.first else { return nil }
            return s.waiting.removeValue(forKey: key)
        }
        only?.resume(returning: reply)
    }

    /// Fails every waiter and refuses new ones.
    func closeAll(_ error: any Error) {
        let all = state.withLock { s -> [CheckedContinuation<Reply, any Error>] in
            s.closed = true
            defer { s.waiting = [:] }
            return Array(s.waiting.values)
        }
        for c in all { c.resume(throwing: error) }
    }
}
