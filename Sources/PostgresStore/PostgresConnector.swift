import Dispatch
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A small pool of PostgreSQL connections for blocking callers.
///
/// postgres-nio runs every connection on NIO's event loops; this type waits for their futures on
/// the *calling* thread, which must be one of the caller's own threads (an engine node's workers, a
/// `Blocking.run` thread) — never Swift's cooperative pool and never an event loop. Async callers
/// go through ``ScanCore/Blocking``.
///
/// Faults: every wait is bounded (``queryTimeout``); a connection that fails or times out is closed
/// and the operation is retried on a new one for as long as the database has been unreachable for
/// less than ``outageWindow`` (a restart of the server is ridden out); after that, operations fail at
/// once with ``PostgresStoreError`` `.unreachable` until a connection succeeds again. Every
/// operation given to ``withConnection(_:)`` must be safe to run again (the stores' writes are
/// idempotent transactions).
final class PostgresConnector: Sendable {
    let url: PostgresURL
    let queryTimeout: Duration
    let outageWindow: Duration
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let idle = Mutex<[PostgresConnection]>([])
    private let downSince = Mutex<ContinuousClock.Instant?>(nil)
    private let nextId = Atomic<Int>(1)
    private let maxIdle = 16

    init(
        url: PostgresURL,
        connectTimeout: Duration = .seconds(5),
        queryTimeout: Duration = .seconds(30),
        outageWindow: Duration = .seconds(15),
        logger: Logger = Logger(label: "postgres-store")
    ) {
        self.url = url
        self.queryTimeout = queryTimeout
        self.outageWindow = outageWindow
        self.logger = logger
        var configuration = PostgresConnection.Configuration(
            host: url.host,
            port: url.port,
            username: url.user,
            password: url.password,
            database: url.database,
            tls: .disable
        )
        configuration.options.connectTimeout = .milliseconds(connectTimeout.milliseconds)
        self.configuration = configuration
    }

    /// Runs `body` on a pooled connection, retrying on a new connection while the database is in a
    /// short outage (see the type's notes). Blocks.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        var delay = Duration.milliseconds(100)
        while true {
            do {
                let connection = try checkout()
                do {
                    let value = try body(connection)
                    checkin(connection)
                    downSince.withLock { $0 = nil }
                    return value
                } catch let error as PostgresStoreError {
                    // Our own errors (corrupt rows, schema) leave the connection usable.
                    checkin(connection)
                    throw error
                } catch {
                    if Self.isConnectionLoss(error) {
                        Self.discard(connection)
                    } else {
                        checkin(connection)
                    }
                    throw error
                }
            } catch {
                guard Self.isConnectionLoss(error) else {
                    // The caller's own errors (unknown symbol, a cancelled import) pass through as they are.
                    throw error is PSQLError ? describe(error) : error
                }
                let now = ContinuousClock.now
                let since = downSince.withLock { d -> ContinuousClock.Instant in
                    if d == nil { d = now }
                    return d ?? now
                }
                guard now - since < outageWindow else {
                    throw PostgresStoreError(
                        .unreachable,
                        url: url.description,
                        "the database has been unreachable for \(Int((now - since).milliseconds / 1000)) s: "
                            + describe(error).message
                    )
                }
                logger.warning(
                    "database connection lost; retrying",
                    metadata: ["store": "\(url)", "error": "\(describe(error).message)"]
                )
                Thread.sleep(forTimeInterval: Double(delay.milliseconds) / 1000)
                delay = min(delay * 2, .seconds(1))
            }
        }
    }

    /// Runs `body` in one transaction (`BEGIN` … `COMMIT`, `ROLLBACK` when it throws). Blocks.
    func transaction<T>(
        begin: PostgresQuery = "BEGIN",
        _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        try withConnection { connection in
            try run(begin, on: connection)
            do {
                let value = try body(connection)
                try run("COMMIT", on: connection)
                return value
            } catch {
                if !Self.isConnectionLoss(error) { _ = try? run("ROLLBACK", on: connection) }
                throw error
            }
        }
    }

    /// Runs one statement on `connection` and collects its rows; bounded by ``queryTimeout``.
    @discardableResult
    func run(_ query: PostgresQuery, on connection: PostgresConnection) throws -> PostgresQueryResult {
        let future = connection.query(query, logger: logger)
        do {
            return try wait(future)
        } catch let error as TimedOut {
            Self.discard(connection)
            throw error
        }
    }

    /// Connects now (outside the pool's retries): checks the URL, the credentials and the database.
    func connectOnce() throws {
        do {
            checkin(try connect())
        } catch {
            throw describe(error)
        }
    }

    /// Closes every idle connection.
    func close() {
        let all = idle.withLock { c -> [PostgresConnection] in
            defer { c = [] }
            return c
        }
        for c in all { Self.discard(c) }
    }

    deinit { close() }

    /// Closes a connection without waiting; the closure keeps it alive until it is closed
    /// (postgres-nio requires a connection to be closed before it is released).
    static func discard(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    // MARK: Pool

    private func checkout() throws -> PostgresConnection {
        while let c = idle.withLock({ $0.popLast() }) {
            if !c.isClosed { return c }
        }
        return try connect()
    }

    private func checkin(_ connection: PostgresConnection) {
        guard !connection.isClosed else { return }
        let extra = idle.withLock { c -> Bool in
            guard c.count < maxIdle else { return true }
            c.append(connection)
            return false
        }
        if extra { Self.discard(connection) }
    }

    private func connect() throws -> PostgresConnection {
        let future = PostgresConnection.connect(
            on: PostgresConnection.defaultEventLoopGroup.any(),
            configuration: configuration,
            id: nextId.add(1, ordering: .relaxed).newValue,
            logger: logger
        )
        return try wait(future)
    }

    struct TimedOut: Error {}

    private func wait<T: Sendable>(_ future: EventLoopFuture<T>) throws -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        future.whenComplete { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        let ms = Int(queryTimeout.milliseconds)
        guard done.wait(timeout: .now() + .milliseconds(ms)) == .success else { throw TimedOut() }
        guard let result = outcome.withLock({ $0 }) else { throw TimedOut() }
        return try result.get()
    }

    // MARK: Errors

    /// Whether `error` means the connection (not the statement) failed: worth a new connection.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        if error is TimedOut { return true }
        if error is PostgresStoreError { return false }
        // NIO's own errors (refused, reset, timed out, closed channel) when not wrapped by postgres-nio.
        if error is IOError || error is ChannelError || error is NIOConnectionError { return true }
        guard let e = error as? PSQLError else { return false }
        switch e.code {
        case .server:
            // Class 57: the server is shutting down or starting (admin_shutdown, cannot_connect_now, …).
            return e.serverInfo?[.sqlState]?.hasPrefix("57") ?? false
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return true
        default:
            return false
        }
    }

    /// A ``PostgresStoreError`` for any failure, naming the URL (password hidden) and, for server
    /// errors, the server's message and SQLSTATE.
    func describe(_ error: any Error) -> PostgresStoreError {
        let shown = url.description
        if let e = error as? PostgresStoreError { return e }
        if error is TimedOut {
            return PostgresStoreError(
                .unreachable,
                url: shown,
                "no answer within \(queryTimeout.milliseconds / 1000) s"
            )
        }
        guard let e = error as? PSQLError else {
            if Self.isConnectionLoss(error) {
                return PostgresStoreError(.unreachable, url: shown, "cannot connect: \(error)")
            }
            return PostgresStoreError(.query, url: shown, "\(error)")
        }
        switch e.code {
        case .server:
            let state = e.serverInfo?[.sqlState] ?? "?"
            let message = e.serverInfo?[.message] ?? "server error"
            let kind: PostgresStoreError.Kind =
                switch state {
                case "28P01", "28000": .authentication
                case "3D000", "42501": .database
                case _ where state.hasPrefix("57") || state.hasPrefix("08"): .unreachable
                default: .query
                }
            return PostgresStoreError(kind, url: shown, "\(message) (SQLSTATE \(state))")
        case .connectionError:
            var why = e.underlying.map { "\($0)" } ?? "connection failed"
            if let nio = e.underlying as? NIOConnectionError, !nio.connectionErrors.isEmpty {
                why = nio.connectionErrors.map { "\($0.error)" }.joined(separator: "; ")
            }
            return PostgresStoreError(.unreachable, url: shown, "cannot connect: \(why)")
        case .serverClosedConnection, .uncleanShutdown:
            return PostgresStoreError(.unreachable, url: shown, "the server closed the connection")
        case .clientClosedConnection:
            return PostgresStoreError(.unreachable, url: shown, "the connection was closed")
        case .authMechanismRequiresPassword:
            return PostgresStoreError(
                .authentication,
                url: shown,
                "the server asks for a password; give one in the URL"
            )
        case .unsupportedAuthMechanism:
            return PostgresStoreError(
                .authentication,
                url: shown,
                "the server asks for an authentication method this client does not support (use scram-sha-256 or md5)"
            )
        case .saslError:
            return PostgresStoreError(.authentication, url: shown, "password authentication failed")
        default:
            return PostgresStoreError(.query, url: shown, "\(String(reflecting: e.code))")
        }
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
