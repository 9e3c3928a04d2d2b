import Synchronization

/// A wait that did not finish in time.
public struct TimedOut: Error, CustomStringConvertible {
    public let what: String
    public init(what: String) { self.what = what }
    public var description: String { "timed out waiting for \(what)" }
}

/// Resumes a continuation once, from whichever of the operation and the timer finishes first.
private final class FirstOutcome<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var timer: Task<Void, Never>?
    }
    private let state: Mutex<State>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        state = Mutex(State(continuation: continuation))
    }

    func setTimer(_ timer: Task<Void, Never>) {
        let finished = state.withLock { state in
            state.timer = timer
            return state.continuation == nil
        }
        if finished { timer.cancel() }
    }

    /// `false` if the other side already finished.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let (continuation, timer) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.timer)
        }
        guard let continuation else { return false }
        timer?.cancel()
        continuation.resume(with: result)
        return true
    }
}

/// Runs `operation`, throwing ``TimedOut`` (and cancelling it) if it has not finished after `seconds`.
/// The wait ends on time even if the operation ignores cancellation, so no test can hang. (It bounds
/// a wait; it does not time anything.)
public func within<T: Sendable>(
    _ seconds: Double = 10,
    _ what: String = "an operation",
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let outcome = FirstOutcome(continuation)
        let work = Task {
            do { outcome.finish(.success(try await operation())) } catch { outcome.finish(.failure(error)) }
        }
        outcome.setTimer(
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                if !Task.isCancelled, outcome.finish(.failure(TimedOut(what: what))) { work.cancel() }
            }
        )
    }
}

/// Polls `check` every `interval` until it returns a value; throws ``TimedOut`` once `seconds` have
/// passed and a check after that still gave none.
///
/// The deadline is the poll's own, checked after each check: with every test of the process sharing
/// the cooperative pool, a poll (or a timer) can be woken long after its time, and a condition that
/// held by then must not be reported as timed out because a timer happened to run first. The outer
/// ``within(_:_:_:)`` only ends a check that never returns.
public func eventually<T: Sendable>(
    _ seconds: Double = 10,
    _ what: String,
    interval: Duration = .milliseconds(20),
    _ check: @escaping @Sendable () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + .seconds(seconds)
    return try await within(seconds + 60, what) {
        while true {
            try Task.checkCancellation()
            if let value = try await check() { return value }
            if ContinuousClock.now >= deadline { throw TimedOut(what: what) }
            try await Task.sleep(for: interval)
        }
    }
}

/// Polls `condition` every `interval` until it holds; throws ``TimedOut`` after `seconds`.
public func eventually(
    _ seconds: Double = 10,
    _ what: String,
    interval: Duration = .milliseconds(20),
    _ condition: @escaping @Sendable () async throws -> Bool
) async throws {
    let _: Bool = try await eventually(seconds, what, interval: interval) { try await condition() ? true : nil }
}
