import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A libzmq error: errno plus libzmq's text (`zmq_strerror`).
///
/// A plain value; any thread may use it. Compare ``errno`` with the static constants, e.g.
/// `catch let error as ZMQError where error.errno == ZMQError.hostUnreachable`.
public struct ZMQError: Error, Sendable, Hashable, CustomStringConvertible {
    public var errno: Int32
    public var message: String
    /// What was being done (`zmq_bind tcp://127.0.0.1:5555`).
    public var operation: String
    public init(errno: Int32, message: String, operation: String) {
        self.errno = errno
        self.message = message
        self.operation = operation
    }

    /// An error for `errno` with libzmq's text for it.
    public init(errno: Int32, operation: String) {
        self.init(errno: errno, message: ZMQError.text(for: errno), operation: operation)
    }

    public var description: String { "\(operation): \(message) (errno \(errno))" }

    /// libzmq's text for an errno (`zmq_strerror`).
    public static func text(for errno: Int32) -> String {
        guard let text = zmq_strerror(errno) else { return "errno \(errno)" }
        return String(cString: text)
    }

    /// The error libzmq reported for the call that just failed on this thread (`zmq_errno`).
    static func last(_ operation: @autoclosure () -> String) -> ZMQError {
        ZMQError(errno: zmq_errno(), operation: operation())
    }

    // MARK: errno values worth matching

    /// `EAGAIN`: the operation would block (only surfaces where a caller asked not to wait).
    public static let wouldBlock: Int32 = EAGAIN
    /// `EINTR`: interrupted by a signal (the binding retries these; callers never see them).
    public static let interrupted: Int32 = EINTR
    /// `ETERM`: the context was terminated.
    public static let terminated: Int32 = CZeroMQ.ETERM
    /// `EHOSTUNREACH`: a ROUTER_MANDATORY socket was asked to send to an unknown routing id.
    public static let hostUnreachable: Int32 = EHOSTUNREACH
    /// `EFSM`: the socket's state machine forbids the operation now (e.g. REQ sending twice).
    public static let invalidState: Int32 = CZeroMQ.EFSM
    /// `ENOTSOCK`: the socket (or its loop) is closed.
    public static let notSocket: Int32 = ENOTSOCK
    /// `EINVAL`: an invalid argument (bad endpoint, bad option value, empty message…).
    public static let invalidArgument: Int32 = EINVAL
    /// `EADDRINUSE`: the endpoint is already bound.
    public static let addressInUse: Int32 = EADDRINUSE
    /// `EPROTONOSUPPORT`: unknown transport in an endpoint.
    public static let protocolNotSupported: Int32 = EPROTONOSUPPORT
    /// `ENOTSUP`: the operation is not supported by this socket type or libzmq build.
    public static let notSupported: Int32 = ENOTSUP
    /// `ECANCELED`: the waiting task was cancelled (a pending ``ZMQSocket/send(_:)``).
    public static let cancelled: Int32 = ECANCELED

    static func socketClosed(_ operation: String) -> ZMQError {
        ZMQError(errno: ENOTSOCK, message: "socket is closed", operation: operation)
    }

    static func loopStopped(_ operation: String) -> ZMQError {
        ZMQError(errno: ENOTSOCK, message: "the socket's loop is shut down", operation: operation)
    }
}
