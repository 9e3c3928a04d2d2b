import Foundation
import TestSupport
import Testing
import ZeroMQ

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
