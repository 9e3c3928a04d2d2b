import CZeroMQ

/// libzmq socket types.
public enum SocketType: Sendable, Hashable, CaseIterable {
    case req, rep, dealer, router, pub, sub, xpub, push, pull, pair

    /// The `ZMQ_*` constant passed to `zmq_socket`.
    var rawValue: Int32 {
        switch self {
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pair: ZMQ_PAIR
        }
    }

    /// Whether the type can receive (PUB and PUSH cannot; their sockets are never polled for input).
    var canReceive: Bool {
        switch self {
        case .pub, .push: false
        default: true
        }
    }
}
