/// A failure of the session store beyond SQLite's own errors.
public enum SessionStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stored row could not be read back.
    case corrupt(String)

    public var description: String {
        switch self {
        case .corrupt(let why): "session store: corrupt row: \(why)"
        }
    }
}
