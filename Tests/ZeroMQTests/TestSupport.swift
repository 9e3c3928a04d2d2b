import Foundation
import Testing
import ZeroMQ

/// A wait that did not finish in time.
struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Resumes a continuation once, from whichever of the operation and the timer finishes first.
/// (NSLock rather than `Mutex`, which needs macOS 15.)
private final class FirstOutcome<T: Sendable>: @unchecked Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var timer: Task<Void, Never>?
    }
    private let lock = NSLock()
    private var storage: State
    private var state: FirstOutcome<T> { self }

    init(_ continuation: CheckedContinuation<T, any Error>) {
        storage = State(continuation: continuation)
    }

    private func withLock<R>(_ body: (inout State) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&storage)
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
/// The wait ends on time even if the operation ignores cancellation, so no test can hang.
/// (It bounds a wait; it does not time anything.)
func within<T: Sendable>(
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

/// The next message of `socket`, failing if none arrives in time or the socket ends.
func receive(_ socket: ZMQSocket, _ seconds: Double = 10) async throws -> ZMQMessage {
    let message = try await within(seconds, "a message") { try await socket.receive() }
    guard let message else { throw TimedOut(what: "a message (the stream ended)") }
    return message
}

/// The next monitor event matching `predicate`, skipping others.
func event(
    in events: ZMQMonitorEvents,
    _ seconds: Double = 10,
    where predicate: @escaping @Sendable (ZMQSocketEvent) -> Bool
) async throws -> ZMQSocketEvent {
    let found = try await within(seconds, "a monitor event") { () async throws -> ZMQSocketEvent? in
        for try await event in events where predicate(event) { return event }
        return nil
    }
    guard let found else { throw TimedOut(what: "a monitor event (the stream ended)") }
    return found
}

/// Waits for a message on any of `sockets`; returns every message received in that round (with the
/// index of its socket). The receives still pending when the first one returns are cancelled, which
/// makes them return `nil` without taking a message, so nothing is lost.
func receiveAny(_ sockets: [ZMQSocket], _ seconds: Double = 10) async throws -> [(index: Int, message: ZMQMessage)] {
    let results = try await within(seconds, "a message on any socket") { () async throws -> [(Int, ZMQMessage)] in
        try await withThrowingTaskGroup(of: (Int, ZMQMessage)?.self) { group in
            for (index, socket) in sockets.enumerated() {
                group.addTask { try await socket.receive().map { (index, $0) } }
            }
            var results: [(Int, ZMQMessage)] = []
            while let next = try await group.next() {
                if let next {
                    results.append(next)
                    group.cancelAll()
                }
            }
            return results
        }
    }
    guard !results.isEmpty else { throw TimedOut(what: "a message on any socket (streams ended)") }
    return results.map { (index: $0.0, message: $0.1) }
}

/// A fresh context and loop for one test, shut down and terminated afterwards whatever happens.
func withLoop<T>(
    capacity: Int = 1024,
    _ body: (ZMQContext, ZMQLoop) async throws -> T
) async throws -> T {
    let context = try ZMQContext()
    let loop = try ZMQLoop(context: context, name: "test", receiveBufferCapacity: capacity)
    do {
        let result = try await body(context, loop)
        await loop.shutdown()
        await context.terminate()
        return result
    } catch {
        await loop.shutdown()
        await context.terminate()
        throw error
    }
}

extension ZMQMessage {
    /// Shorthand for tests: frames from strings.
    static func text(_ strings: String...) -> ZMQMessage { ZMQMessage(strings: strings) }
}

/// An endpoint name unique to this process run.
func inprocEndpoint(_ name: String) -> String {
    "inproc://test-\(name)-\(UInt64.random(in: 0 ... .max))"
}
