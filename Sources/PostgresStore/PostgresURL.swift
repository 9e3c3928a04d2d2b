import Foundation

/// Where the shared PostgreSQL store is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`
/// (`postgresql://` too), parsed once. The password never appears in ``description`` — every message
/// about the store names the URL with the password replaced by `***`.
///
/// User and password may be percent-encoded (`%40` for `@`); an IPv6 host goes in brackets
/// (`[::1]`). The port defaults to 5432. Query parameters are refused rather than ignored.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String

    /// The environment variable read when no `--store` option is given.
    public static let environmentVariable = "MARKETSCAN_STORE"

    public init(user: String, password: String? = nil, host: String, port: Int = 5432, database: String) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
    }

    /// Parses `text`; throws ``PostgresStoreError`` (kind `.invalidURL`) saying what is wrong.
    public init(parsing text: String) throws(PostgresStoreError) {
        // The error shows the text with anything between "://user:" and "@" masked.
        let shown = Self.masked(text)
        func bad(_ why: String) -> PostgresStoreError {
            PostgresStoreError(
                .invalidURL,
                url: shown,
                "\(why); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
            )
        }
        let rest: Substring
        if text.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else if text.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else {
            throw bad("not a postgres:// URL")
        }
        guard !rest.contains("?"), !rest.contains("#") else { throw bad("query parameters are not supported") }
        guard let at = rest.lastIndex(of: "@") else { throw bad("no USER@ before the host") }
        let credentials = rest[..<at]
        let location = rest[rest.index(after: at)...]
        let userPart: Substring
        var passwordPart: Substring?
        if let colon = credentials.firstIndex(of: ":") {
            userPart = credentials[..<colon]
            passwordPart = credentials[credentials.index(after: colon)...]
        } else {
            userPart = credentials
        }
        guard let user = userPart.removingPercentEncoding, !user.isEmpty else { throw bad("the user is empty") }
        var password: String?
        if let passwordPart {
            guard let p = passwordPart.removingPercentEncoding else { throw bad("the password is badly encoded") }
            password = p
        }
        guard let slash = location.firstIndex(of: "/") else { throw bad("no /DATABASE after the host") }
        let hostPort = location[..<slash]
        let databasePart = location[location.index(after: slash)...]
        guard let database = databasePart.removingPercentEncoding, !database.isEmpty, !database.contains("/") else {
            throw bad("the database name is missing or invalid")
        }
        var host = hostPort
        var port = 5432
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw bad("an unclosed [ in the host") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { throw bad("a bad port") }
                port = p
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            guard let p = Int(hostPort[hostPort.index(after: colon)...]) else { throw bad("a bad port") }
            port = p
        }
        guard !host.isEmpty else { throw bad("the host is empty") }
        guard (1...65_535).contains(port) else { throw bad("the port must be from 1 to 65535") }
        self.init(user: user, password: password, host: String(host), port: port, database: database)
    }

    /// The URL from `$MARKETSCAN_STORE`, `nil` when it is unset or empty.
    public static func fromEnvironment() throws(PostgresStoreError) -> PostgresURL? {
        guard let text = ProcessInfo.processInfo.environment[environmentVariable], !text.isEmpty else { return nil }
        return try PostgresURL(parsing: text)
    }

    /// The URL with the password shown as `***`.
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)\(password == nil ? "" : ":***")@\(h):\(port)/\(database)"
    }

    /// `text` with a password (between `://user:` and the last `@`) replaced by `***`.
    static func masked(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text.lastIndex(of: "@"), scheme.upperBound < at else {
            return text
        }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
