import ArgumentParser
import EngineNode
import Logging
import MetricsEndpoint
import PostgresStore
import ScanCore
import ServiceLifecycle
import ZeroMQ

/// `engine-node`: parses arguments and wires the store and the node.
@main
struct EngineNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine-node",
        abstract: "Evaluate scan chunks for a scan-service (DESIGN §4, §6)."
    )

    @Option(help: "The service as HOST or HOST:PORT_BASE (jobs +2, results +3, control +4).")
    var service: String = "127.0.0.1:5555"

    @Option(help: "This node's SQLite market-data store; default $MARKETSCAN_DB, else ./marketscan.sqlite.")
    var db: String?

    @Option(
        help: ArgumentHelp(
            "The shared PostgreSQL store instead of SQLite (default $MARKETSCAN_STORE).",
            valueName: "postgres://USER[:PASS]@HOST[:PORT]/DB"
        )
    )
    var store: String?

    @Option(help: "Evaluation threads (default: every core).")
    var threads: Int?

    @Option(help: "Name shown in the service's PING (default HOST-PID).")
    var name: String?

    @Option(help: "Memory for bar series kept between scans, in MB (default 256; 0 keeps none).")
    var cacheMb: Int = 256

    @Option(help: ArgumentHelp("Pause after each symbol, in ms (fault injection: a slow node).", visibility: .hidden))
    var paceMs: Int = 0

    @Option(help: "CURVE: this node's secret certificate (from `scan keygen`); the service must allow its public key.")
    var curveCertificate: String?

    @Option(help: "CURVE: the service's public certificate (or key).")
    var curveServer: String?

    @Option(help: "Serve Prometheus metrics over HTTP at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464).")
    var metrics: String?

    func validate() throws {
        guard cacheMb >= 0 else { throw ValidationError("--cache-mb must be 0 or more (got \(cacheMb))") }
        if let metrics {
            do { _ = try MetricsEndpoint.parse(metrics) } catch { throw ValidationError("--metrics: \(error)") }
        }
        _ = try parsedService()
        _ = try StoreLocation.choose(db: db, store: store)
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if (curveCertificate == nil) != (curveServer == nil) {
            throw ValidationError("--curve-certificate and --curve-server go together")
        }
    }

    /// `HOST` or `HOST:PORT_BASE` (a bracketed IPv6 host may carry a port: `[::1]:5555`).
    func parsedService() throws -> (host: String, portBase: Int) {
        var host = service
        var port = 5555
        if let colon = service.lastIndex(of: ":"), !service.hasSuffix("]"),
            service.hasPrefix("[") || service.firstIndex(of: ":") == colon
        {
            host = String(service[..<colon])
            guard let p = Int(service[service.index(after: colon)...]), (1...65_531).contains(p) else {
                throw ValidationError("--service '\(service)': the port base must be a number from 1 to 65531")
            }
            port = p
        }
        guard !host.isEmpty else { throw ValidationError("--service '\(service)' has no host") }
        return (host, port)
    }

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let metricsEndpoint = try metrics.map { try MetricsEndpoint.bootstrapAndServe($0) }
        defer { metricsEndpoint?.stop() }
        let logger = Logger(label: "engine-node")
        if let metricsEndpoint {
            logger.info("metrics at http://\(metricsEndpoint.host):\(metricsEndpoint.port)/metrics")
        }
        let (host, portBase) = try parsedService()
        let location = try StoreLocation.choose(db: db, store: self.store)
        let store = try await Blocking.run { try location.openMarketData(logger: logger) }
        var configuration = EngineNodeConfiguration(serviceHost: host, portBase: portBase, threads: threads, name: name)
        configuration.paceMsPerSymbol = paceMs
        configuration.seriesCacheMaxBytes = min(cacheMb, Int.max >> 21) << 20
        configuration.storeDescription = location.description
        if let curveCertificate, let curveServer {
            let certificate = try CurveCertificate.load(path: curveCertificate)
            guard certificate.secretKey != nil else {
                throw ValidationError("--curve-certificate \(curveCertificate) has no secret-key")
            }
            configuration.curve = CurveClientSecurity(
                certificate: certificate,
                serverKey: try CurveCertificate.load(path: curveServer).publicKey
            )
        }
        let node = EngineNode(
            configuration: configuration,
            bars: store,
            logger: logger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: node)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
