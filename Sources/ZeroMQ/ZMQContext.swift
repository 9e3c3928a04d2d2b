import CZeroMQ
import Foundation
import Synchronization

/// A libzmq context. Thread-safe (libzmq contexts are): any thread or task may use it.
///
/// Loops (``ZMQLoop``) keep their context alive. ``terminate()`` interrupts every loop on the context
/// (their pending receives end, pending sends throw) and waits — on a dedicated thread, never the
/// cooperative pool — until libzmq has closed everything. Dropping the last reference terminates
/// the context in the background.
public final class ZMQContext: Sendable {
    /// The `void *` from `zmq_ctx_new`. Thread-safe by libzmq's contract.
    nonisolated(unsafe) let handle: UnsafeMutableRawPointer
    private let terminated = Mutex(false)

    public init(ioThreads: Int32 = 1) throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.handle = handle
        // Sockets get linger 0 unless their options say otherwise, so no close can hang.
        _ = zmq_ctx_set(handle, ZMQ_BLOCKY, 0)
        if zmq_ctx_set(handle, ZMQ_IO_THREADS, max(1, ioThreads)) != 0 {
            let error = ZMQError.last("zmq_ctx_set ZMQ_IO_THREADS")
            zmq_ctx_term(handle)
            throw error
        }
    }

    deinit {
        guard markTerminated() else { return }
        // Every loop holds its context, so all sockets are closed or closing: `zmq_ctx_term` returns
        // once their (bounded) linger ends. Still, never block whoever dropped the last reference.
        let handle = SendablePointer(handle)
        Thread.detachNewThread {
            ZMQContext.term(handle.pointer)
        }
    }

    /// Shuts the context down: every loop on it ends (sockets closed, pending receives return `nil`,
    /// pending sends throw), then `zmq_ctx_term` runs on a dedicated thread. Idempotent.
    /// Loops made on a terminated context fail to make sockets.
    public func terminate() async {
        guard markTerminated() else { return }
        zmq_ctx_shutdown(handle)  // non-blocking: every blocking call on this context now fails with ETERM
        let handle = SendablePointer(handle)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                ZMQContext.term(handle.pointer)
                continuation.resume()
            }
            thread.name = "zmq-ctx-term"
            thread.start()
        }
    }

    /// Whether ``terminate()`` was called.
    public var isTerminated: Bool { terminated.withLock { $0 } }

    private func markTerminated() -> Bool {
        terminated.withLock { done in
            if done { return false }
            done = true
            return true
        }
    }

    private static func term(_ handle: UnsafeMutableRawPointer) {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}

/// A pointer handed to another thread whose use there is safe by the C library's contract.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
}
