import ScanCore
import ZeroMQ

/// Everything a ``ScanService`` is configured with. Plain data; build it in `main` and hand it over.
public struct ScanServiceConfiguration: Sendable, Hashable {
    /// The endpoints the service binds.
    public struct Endpoints: Sendable, Hashable {
        /// ROUTER for client requests (port base + 0).
        public var api: String
        /// PUB for `scan.<session>.<event>` events (port base + 1).
        public var events: String
        /// PUSH for job chunks to nodes (port base + 2).
        public var jobs: String
        /// PULL for chunk results and node heartbeats (port base + 3).
        public var results: String
        /// PUB for node control (`ctl.cancel`) (port base + 4).
        public var control: String
        /// PULL for the bar feed (port base + 5); `nil`: no feed socket. Bound only by a service
        /// with live scans (a market-data backend and a watch repository).
        public var feed: String?

        public init(api: String, events: String, jobs: String, results: String, control: String, feed: String? = nil) {
            self.api = api
            self.events = events
            self.jobs = jobs
            self.results = results
            self.control = control
            self.feed = feed
        }

        /// `tcp://HOST:BASE+0 … BASE+5`: api 5555, events 5556, jobs 5557, results 5558, control 5559,
        /// feed 5560 by default.
        public init(host: String = "127.0.0.1", portBase: Int = 5555) {
            func ep(_ offset: Int) -> String { "tcp://\(host):\(portBase + offset)" }
            self.init(api: ep(0), events: ep(1), jobs: ep(2), results: ep(3), control: ep(4), feed: ep(5))
        }

        /// Every endpoint on `tcp://HOST:*` (ephemeral ports; tests read the bound ones back).
        public static func ephemeral(host: String = "127.0.0.1") -> Endpoints {
            let ep = "tcp://\(host):*"
            return Endpoints(api: ep, events: ep, jobs: ep, results: ep, control: ep, feed: ep)
        }
    }

    public var endpoints: Endpoints
    /// Sessions running at once; more `RUN_SCAN`s are answered `busy`.
    public var maxRunningSessions: Int
    /// How long a dispatched chunk may go without a result (or a heartbeat naming it) before it is
    /// dispatched again.
    public var chunkLeaseTimeoutMs: Int
    /// However often heartbeats renew a chunk's lease, it expires this long after the dispatch.
    public var chunkDeadlineMs: Int
    /// Expired leases (whose node was alive and working) of one chunk before its symbols are
    /// reported as errors. Expiries of leases held by a dead, stopped or stalled node do not count.
    public var maxChunkAttempts: Int
    /// Largest request body answered normally; larger ones get `too_large`.
    public var maxRequestBytes: Int
    /// ZMQ_MAXMSGSIZE of the ROUTER (a peer sending more is disconnected). Above ``maxRequestBytes``
    /// so that merely oversized requests still get their `too_large` answer.
    public var apiSocketMaxMessageBytes: Int64
    /// ZMQ_MAXMSGSIZE of the results PULL.
    public var resultsMaxMessageBytes: Int64
    /// SNDHWM of the jobs PUSH, per node: a few chunks, so no node hoards work.
    public var jobsSendHighWaterMark: Int32
    /// ZMTP heartbeat interval of the jobs PUSH (timeout: three intervals).
    public var jobsHeartbeatIntervalMs: Int32
    /// SNDHWM of the events PUB (events beyond it are dropped for that subscriber; `seq` shows the gap).
    public var eventsSendHighWaterMark: Int32
    /// RCVHWM/SNDHWM of the ROUTER and the results PULL.
    public var highWaterMark: Int32
    /// Replies queued for one client at most (the ROUTER's SNDHWM, when below ``highWaterMark``): a
    /// client that reads none loses those beyond it, and the service holds at most this many for it.
    public var apiReplyHighWaterMark: Int32
    /// LINGER of every socket when the service stops.
    public var lingerMs: Int32
    /// A node not heard from for this long is no longer listed as live.
    public var nodeTimeoutMs: Int
    /// CURVE encryption with an allow-list per role (client keys on api/events, node keys on
    /// jobs/results/control); `nil` for plain TCP.
    public var curve: CurveServerSecurity?
    /// Which finished sessions the store keeps (pruned at start and every ``retentionIntervalMs``).
    public var retention: RetentionPolicy
    /// How often the retention policy is applied.
    public var retentionIntervalMs: Int
    /// Live watches running at once; more `WATCH_START`s are answered `busy`.
    public var maxWatches: Int
    /// Largest number of bars in one feed message (more: the message is refused as `too_large`).
    public var maxFeedBars: Int
    /// Threads that evaluate watches (in this process).
    public var liveThreads: Int
    /// After this long without a request or node message (and at the latest every ten times this
    /// while busy) the allocator's free memory is returned to the kernel (`malloc_trim`); 0: never (the
    /// allocator's figures are still sampled for the metrics).
    public var memoryReleaseIdleMs: Int
    /// A scan of at most this many symbols per live node is split into one chunk per node (larger ones
    /// into two per node); 0: always two.
    public var smallJobSymbolsPerNode: Int

    public init(
        endpoints: Endpoints = Endpoints(),
        maxRunningSessions: Int = 8,
        chunkLeaseTimeoutMs: Int = 15_000,
        chunkDeadlineMs: Int = 300_000,
        maxChunkAttempts: Int = 3,
        maxRequestBytes: Int = 1 << 20,
        apiSocketMaxMessageBytes: Int64 = 16 << 20,
        resultsMaxMessageBytes: Int64 = 256 << 20,
        jobsSendHighWaterMark: Int32 = 2,
        jobsHeartbeatIntervalMs: Int32 = 1_000,
        eventsSendHighWaterMark: Int32 = 10_000,
        highWaterMark: Int32 = 1_000,
        apiReplyHighWaterMark: Int32 = 100,
        lingerMs: Int32 = 500,
        nodeTimeoutMs: Int = 5_000,
        curve: CurveServerSecurity? = nil,
        retention: RetentionPolicy = .keepAll,
        retentionIntervalMs: Int = 60_000,
        maxWatches: Int = 10,
        maxFeedBars: Int = 10_000,
        liveThreads: Int = 2,
        memoryReleaseIdleMs: Int = 1_000,
        smallJobSymbolsPerNode: Int = 256
    ) {
        self.endpoints = endpoints
        self.maxRunningSessions = maxRunningSessions
        self.chunkLeaseTimeoutMs = chunkLeaseTimeoutMs
        self.chunkDeadlineMs = max(chunkLeaseTimeoutMs, chunkDeadlineMs)
        self.maxChunkAttempts = maxChunkAttempts
        self.maxRequestBytes = maxRequestBytes
        self.apiSocketMaxMessageBytes = apiSocketMaxMessageBytes
        self.resultsMaxMessageBytes = resultsMaxMessageBytes
        self.jobsSendHighWaterMark = jobsSendHighWaterMark
        self.jobsHeartbeatIntervalMs = max(10, jobsHeartbeatIntervalMs)
        self.eventsSendHighWaterMark = eventsSendHighWaterMark
        self.highWaterMark = highWaterMark
        self.apiReplyHighWaterMark = max(1, apiReplyHighWaterMark)
        self.lingerMs = lingerMs
        self.nodeTimeoutMs = nodeTimeoutMs
        self.curve = curve
        self.retention = retention
        self.retentionIntervalMs = retentionIntervalMs
        self.maxWatches = maxWatches
        self.maxFeedBars = maxFeedBars
        self.liveThreads = liveThreads
        self.memoryReleaseIdleMs = max(0, memoryReleaseIdleMs)
        self.smallJobSymbolsPerNode = max(0, smallJobSymbolsPerNode)
    }
}
