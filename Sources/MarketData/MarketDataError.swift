/// An error of the market-data store, with a message meant for people.
public struct MarketDataError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Kind: String, Sendable, Hashable {
        /// A symbol the store does not know.
        case unknownSymbol
        /// Input (a file, an argument) that cannot be used.
        case invalidInput
        /// Stored data that cannot be decoded.
        case corruptData
        /// A file that cannot be read or written.
        case io
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
