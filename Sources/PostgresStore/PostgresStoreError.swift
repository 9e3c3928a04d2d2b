/// A failure of the PostgreSQL store, naming the store's URL (password hidden) and what went wrong.
public struct PostgresStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure it is.
    public enum Kind: String, Sendable, Hashable {
        /// The `--store` text is not a valid URL.
        case invalidURL = "invalid URL"
        /// The server cannot be reached (refused, timed out, name not resolved) or went away.
        case unreachable
        /// The server refused the user or password.
        case authentication
        /// The database does not exist or the user may not use it.
        case database
        /// The database holds a schema this program does not know (newer, or not ours).
        case schema
        /// A statement failed on the server.
        case query
        /// A stored row cannot be read back.
        case corrupt
    }

    public var kind: Kind
    /// The store's URL as shown to people (password hidden).
    public var url: String
    public var message: String

    public init(_ kind: Kind, url: String, _ message: String) {
        self.kind = kind
        self.url = url
        self.message = message
    }

    public var description: String { "PostgreSQL store \(url): \(message)" }
}
