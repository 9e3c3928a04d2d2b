import Foundation

/// A wait that did not finish in time.
struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Resumes a continuation once, from whichever of the operation and the timer finishes first.
private final class FirstOutcome<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var timer: Task<Void, Never>?

    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = continuation }

    func setTimer(_ t: Task<Void, Never>) {
        lock.lock()
        timer = t
        let finished = continuation == nil
        lock.unlock()
        if finished { t.cancel() }
    }

    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        lock.lock()
        let c = continuation
        continuation = nil
        let t = timer
        lock.unlock()
        guard let c else { return false }
        t?.cancel()
        c.resume(with: result)
        return true
    }
}

/// Runs `operation`, throwing ``TimedOut`` (and cancelling it) if it has not finished after `seconds`.
/// The wait ends on time even if the operation ignores cancellation, so no test can hang.
func within<T: Sendable>(
    _ seconds: Double,
    _ what: String,
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

/// Polls `check` every `interval` until it returns a value; throws ``TimedOut`` after `seconds`.
func eventually<T: Sendable>(
    _ seconds: Double,
    _ what: String,
    interval: Duration = .milliseconds(20),
    _ check: @escaping @Sendable () async throws -> T?
) async throws -> T {
    try await within(seconds, what) {
        while true {
            try Task.checkCancellation()
            if let value = try await check() { return value }
            try await Task.sleep(for: interval)
        }
    }
}
