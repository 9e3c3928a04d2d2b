import Foundation
import ZeroMQ

/// Everything an ``EngineNode`` is configured with.
public struct EngineNodeConfiguration: Sendable, Hashable {
    /// The service's jobs PUSH (this node's PULL connects to it).
    public var jobsEndpoint: String
    /// The service's results PULL (this node's PUSH connects to it).
    public var resultsEndpoint: String
    /// The service's control PUB (this node's SUB connects to it, subscribed to `ctl.`).
    public var controlEndpoint: String
    /// Evaluation threads.
    public var threads: Int
    /// The node's name in heartbeats, results and the service's `PING`.
    public var name: String
    public var heartbeatIntervalMs: Int
    /// Loaded bar series kept in memory, in bytes (a daily bar with every column is 48 bytes; a formula
    /// reading `close` and `volume` loads 24). 256 MB holds 5 million such bars: 2,000 symbols × 10 years.
    public var seriesCacheMaxBytes: Int
    /// Chunks taken off the socket ahead of the ones being evaluated (so no node hoards work).
    public var queuedChunks: Int
    /// ZMQ_MAXMSGSIZE of the jobs PULL and the control SUB.
    public var maxMessageBytes: Int64
    public var lingerMs: Int32
    /// A pause after each symbol, in milliseconds: 0 in production. Fault injection for a slow node
    /// (the end-to-end tests use it to catch a scan mid-way without depending on the machine's speed).
    public var paceMsPerSymbol: Int = 0
    /// CURVE keys for talking to a service that requires them; `nil` for plain TCP.
    public var curve: CurveClientSecurity?
    /// The node's store as heartbeats show it (`sqlite:PATH`, or the PostgreSQL URL without password).
    public var storeDescription: String = ""

    public init(
        jobsEndpoint: String,
        resultsEndpoint: String,
        controlEndpoint: String,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        name: String = EngineNodeConfiguration.defaultName(),
        heartbeatIntervalMs: Int = 1000,
        seriesCacheMaxBytes: Int = 256 << 20,
        queuedChunks: Int = 2,
        maxMessageBytes: Int64 = 64 << 20,
        lingerMs: Int32 = 500,
        curve: CurveClientSecurity? = nil
    ) {
        self.jobsEndpoint = jobsEndpoint
        self.resultsEndpoint = resultsEndpoint
        self.controlEndpoint = controlEndpoint
        self.threads = max(1, threads)
        self.name = name
        self.heartbeatIntervalMs = max(10, heartbeatIntervalMs)
        self.seriesCacheMaxBytes = max(0, seriesCacheMaxBytes)
        self.queuedChunks = max(1, queuedChunks)
        self.maxMessageBytes = maxMessageBytes
        self.lingerMs = lingerMs
        self.curve = curve
    }

    /// The endpoints of a service at `host` with ports from `portBase` (jobs +2, results +3, control +4),
    /// as `scan-service --port-base` binds them.
    public init(serviceHost host: String = "127.0.0.1", portBase: Int = 5555, threads: Int? = nil, name: String? = nil)
    {
        self.init(
            jobsEndpoint: "tcp://\(host):\(portBase + 2)",
            resultsEndpoint: "tcp://\(host):\(portBase + 3)",
            controlEndpoint: "tcp://\(host):\(portBase + 4)",
            threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
            name: name ?? Self.defaultName()
        )
    }

    /// `HOST-PID`.
    public static func defaultName() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }
}
