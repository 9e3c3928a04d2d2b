import ArgumentParser
import Logging
import MetricsEndpoint
import PostgresStore
import ProcessMemory
import ScanCore
import ScanService
import ServiceLifecycle
import ZeroMQ

/// `scan-service`: parses arguments and wires the store, the session store and the service.
@main
struct ScanServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan-service",
        abstract: "Serve scans over ZeroMQ: requests, events, and chunks for engine nodes (DESIGN §4–§6)."
    )

    @Option(help: "The SQLite store (market data and sessions); default $MARKETSCAN_DB, else ./marketscan.sqlite.")
    var db: String?

    @Option(
        help: ArgumentHelp(
            "The shared PostgreSQL store instead of SQLite (default $MARKETSCAN_STORE); the service then keeps no local state.",
            valueName: "postgres://USER[:PASS]@HOST[:PORT]/DB"
        )
    )
    var store: String?

    @Option(help: "Host to bind every socket on.")
    var bind: String = "127.0.0.1"

    @Option(help: "First port: api +0, events +1, jobs +2, results +3, control +4, feed +5.")
    var portBase: Int = 5555

    @Option(help: "ROUTER endpoint for requests (overrides the port base).")
    var api: String?
    @Option(help: "PUB endpoint for events.")
    var events: String?
    @Option(help: "PUSH endpoint for job chunks.")
    var jobs: String?
    @Option(help: "PULL endpoint for results and heartbeats.")
    var results: String?
    @Option(help: "PUB endpoint for node control.")
    var control: String?
    @Option(help: "PULL endpoint for the bar feed (live scans).")
    var feed: String?

    @Option(help: "Live watches running at once; more WATCH_STARTs are answered 'busy'.")
    var maxWatches: Int = 10

    @Option(help: "Sessions running at once; more RUN_SCANs are answered 'busy'.")
    var maxSessions: Int = 8

    @Option(help: "Milliseconds a dispatched chunk may go without a result before it is dispatched again.")
    var leaseMs: Int = 15_000

    @Option(help: "Milliseconds after its dispatch a chunk's lease ends, however often heartbeats renew it.")
    var chunkDeadlineMs: Int = 300_000

    @Option(help: "CURVE: this service's secret certificate (from `scan keygen`); enables encryption on every socket.")
    var curveCertificate: String?

    @Option(help: "CURVE: a client's public certificate (or key) allowed on the api and events sockets; repeatable.")
    var curveAllowClient: [String] = []

    @Option(
        help:
            "CURVE: an engine node's public certificate (or key) allowed on the jobs, results and control sockets; repeatable."
    )
    var curveAllowNode: [String] = []

    @Option(
        help:
            "Deprecated: a key allowed in both roles (client and node); use --curve-allow-client / --curve-allow-node."
    )
    var curveAllow: [String] = []

    @Option(
        help: ArgumentHelp(
            "Finished sessions to keep (newest first); older ones are deleted with their results.",
            discussion: "Running sessions are never deleted. Applied at start and every minute."
        )
    )
    var keepSessions: Int = 1_000

    @Option(help: "Also delete finished sessions that finished more than this many days ago.")
    var keepDays: Double?

    @Option(help: "Serve Prometheus metrics over HTTP at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464).")
    var metrics: String?

    @Option(
        help: ArgumentHelp(
            "glibc malloc arenas (M_ARENA_MAX); 0: glibc's default (8 per core).",
            discussion: "Few arenas keep the resident size near what is in use after bursts on many threads."
        )
    )
    var mallocArenas: Int = 2

    @Option(help: "Return free heap memory to the kernel after this many idle milliseconds (malloc_trim); 0: never.")
    var memoryReleaseIdleMs: Int = 1_000

    @Option(
        help: ArgumentHelp(
            "Free heap memory each malloc arena keeps for reuse while busy, in MB (M_TRIM_THRESHOLD); 0: glibc's default.",
            discussion: """
                Blocks up to 32 MB then come from the arenas too (M_MMAP_THRESHOLD), so the large buffers of \
                each scan's result are reused instead of faulted in afresh. What is kept goes back after \
                --memory-release-idle-ms; with that 0, glibc's defaults apply.
                """
        )
    )
    var mallocKeepMb: Int = 64

    func validate() throws {
        if let metrics {
            do { _ = try MetricsEndpoint.parse(metrics) } catch { throw ValidationError("--metrics: \(error)") }
        }
        guard (1...65_531).contains(portBase) else { throw ValidationError("--port-base must be from 1 to 65531") }
        guard maxSessions >= 1 else { throw ValidationError("--max-sessions must be at least 1") }
        guard maxWatches >= 1 else { throw ValidationError("--max-watches must be at least 1") }
        // Nodes heartbeat every second, naming the chunks they hold (which extends their leases): a
        // lease shorter than a few heartbeats expires chunks that are being worked on.
        guard leaseMs >= 3_000 else {
            throw ValidationError("--lease-ms must be at least 3000 (three node heartbeats of 1 s)")
        }
        _ = try StoreLocation.choose(db: db, store: store)
        guard chunkDeadlineMs >= leaseMs else {
            throw ValidationError("--chunk-deadline-ms must be at least --lease-ms (\(leaseMs))")
        }
        guard mallocArenas >= 0 else { throw ValidationError("--malloc-arenas must be 0 or more") }
        guard (0...2_047).contains(mallocKeepMb) else {
            throw ValidationError("--malloc-keep-mb must be from 0 to 2047")
        }
        guard memoryReleaseIdleMs >= 0 else { throw ValidationError("--memory-release-idle-ms must be 0 or more") }
        guard keepSessions >= 1 else { throw ValidationError("--keep-sessions must be at least 1") }
        if let keepDays, !(keepDays > 0 && keepDays <= 36_500) {
            throw ValidationError("--keep-days must be more than 0 and at most 36500")
        }
        let allows = curveAllow + curveAllowClient + curveAllowNode
        if curveCertificate == nil, !allows.isEmpty {
            throw ValidationError("--curve-allow-client/--curve-allow-node need --curve-certificate")
        }
        if curveCertificate != nil, curveAllow.isEmpty, curveAllowClient.isEmpty || curveAllowNode.isEmpty {
            throw ValidationError(
                "--curve-certificate needs at least one --curve-allow-client (clients) and one --curve-allow-node (engine nodes)"
            )
        }
    }

    func run() async throws {
        if mallocArenas > 0 { Allocator.limitArenas(mallocArenas) }
        if mallocKeepMb > 0, memoryReleaseIdleMs > 0 { Allocator.keepFreedMemory(trimThreshold: mallocKeepMb << 20) }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let metricsEndpoint = try metrics.map { try MetricsEndpoint.bootstrapAndServe($0) }
        defer { metricsEndpoint?.stop() }
        let logger = Logger(label: "scan-service")
        if let metricsEndpoint {
            logger.info("metrics at http://\(metricsEndpoint.host):\(metricsEndpoint.port)/metrics")
        }
        var endpoints = ScanServiceConfiguration.Endpoints(host: bind, portBase: portBase)
        if let api { endpoints.api = api }
        if let events { endpoints.events = events }
        if let jobs { endpoints.jobs = jobs }
        if let results { endpoints.results = results }
        if let control { endpoints.control = control }
        if let feed { endpoints.feed = feed }
        let location = try StoreLocation.choose(db: db, store: self.store)
        // Opening connects and migrates (and may wait on another writer): off the cooperative pool.
        let store = try await Blocking.run { try location.openMarketData(logger: logger) }
        let sessions = try await Blocking.run { try location.openSessions(logger: logger) }
        logger.info("store opened", metadata: ["store": "\(location)"])
        var curve: CurveServerSecurity?
        if let curveCertificate {
            let certificate = try CurveCertificate.load(path: curveCertificate)
            guard certificate.secretKey != nil else {
                throw ValidationError("--curve-certificate \(curveCertificate) has no secret-key")
            }
            func keys(_ paths: [String]) throws -> Set<String> {
                Set(try paths.map { try CurveCertificate.load(path: $0).publicKey })
            }
            let both = try keys(curveAllow)
            if !both.isEmpty {
                logger.warning(
                    "--curve-allow is deprecated: its keys may act as clients and as engine nodes; use --curve-allow-client and --curve-allow-node"
                )
            }
            curve = CurveServerSecurity(
                certificate: certificate,
                allowedClientKeys: both.union(try keys(curveAllowClient)),
                allowedNodeKeys: both.union(try keys(curveAllowNode))
            )
        }
        let service = ScanService(
            configuration: ScanServiceConfiguration(
                endpoints: endpoints,
                maxRunningSessions: maxSessions,
                chunkLeaseTimeoutMs: leaseMs,
                chunkDeadlineMs: chunkDeadlineMs,
                curve: curve,
                retention: RetentionPolicy(
                    keepSessions: keepSessions,
                    maxAge: keepDays.map { .seconds($0 * 86_400) }
                ),
                maxWatches: maxWatches,
                memoryReleaseIdleMs: memoryReleaseIdleMs
            ),
            symbols: store,
            bars: store,
            sessions: sessions,
            jobs: sessions,
            marketData: store,
            watches: sessions,
            logger: logger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
