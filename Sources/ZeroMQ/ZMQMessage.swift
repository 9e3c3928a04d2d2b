/// A multipart message: its frames, each an exact byte string (empty frames preserved).
///
/// A plain value; any thread may use it.
public struct ZMQMessage: Sendable, Hashable {
    public var frames: [[UInt8]]
    /// The ZAP user id of the connection it came from (the `User-Id` message property): on a socket
    /// with a ZAP domain, the peer's CURVE public key as ``ZAPAuthenticator`` accepted it. `nil` for
    /// messages built locally or received without ZAP.
    public var userId: String?
    public init(_ frames: [[UInt8]], userId: String? = nil) {
        self.frames = frames
        self.userId = userId
    }
    /// Frames from UTF-8 strings.
    public init(strings: [String]) { self.frames = strings.map { Array($0.utf8) } }

    /// The frames decoded as UTF-8 (invalid sequences repaired), for logging and tests.
    public var strings: [String] { frames.map { String(decoding: $0, as: UTF8.self) } }
}
