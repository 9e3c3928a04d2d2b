import CoreMetrics
import Foundation
import ScanCore

/// The service's metrics, through swift-metrics (the executable bootstraps swift-prometheus and serves
/// them on `--metrics HOST:PORT`). Names follow Prometheus conventions (`_total` counters, `_seconds`).
///
/// - `marketscan_scans_total{outcome}`: sessions that ended `completed`, `failed` or `cancelled`
/// - `marketscan_scan_duration_seconds`: histogram of ended sessions' run time (started → finished)
/// - `marketscan_chunks_dispatched_total`, `marketscan_chunks_redispatched_total` (dispatches after a
///   lease expired), `marketscan_chunks_failed_total` (chunks out of attempts; their symbols became errors)
/// - `marketscan_lease_expiries_total`, `marketscan_live_nodes`, `marketscan_queue_depth` (chunks waiting
///   for a node)
/// - `marketscan_requests_total{verb, code}`: client requests by verb (`invalid` when unreadable) and
///   the code answered (`ok` or an error code)
/// - `marketscan_store_write_failures_total{operation}`: session-store writes that failed
/// - `marketscan_store_checkpoints_total{outcome}`: the session store's WAL checkpoints, `completed` or
///   `failed` (a store that reports them: ``CheckpointReporting``)
struct ServiceMetrics: Sendable {
    private let factory: any MetricsFactory
    let chunksDispatched: Counter
    let chunksRedispatched: Counter
    let chunksFailed: Counter
    let leaseExpiries: Counter
    let liveNodes: Gauge
    let queueDepth: Gauge
    private let scanDuration: CoreMetrics.Timer

    init(factory: any MetricsFactory) {
        self.factory = factory
        chunksDispatched = Counter(label: "marketscan_chunks_dispatched_total", factory: factory)
        chunksRedispatched = Counter(label: "marketscan_chunks_redispatched_total", factory: factory)
        chunksFailed = Counter(label: "marketscan_chunks_failed_total", factory: factory)
        leaseExpiries = Counter(label: "marketscan_lease_expiries_total", factory: factory)
        liveNodes = Gauge(label: "marketscan_live_nodes", factory: factory)
        queueDepth = Gauge(label: "marketscan_queue_depth", factory: factory)
        scanDuration = CoreMetrics.Timer(label: "marketscan_scan_duration_seconds", factory: factory)
        // Every labelled series starts at 0, so a scraper sees them before the first event.
        for outcome in ScanStatus.allCases where outcome.isFinal {
            _ = Counter(label: "marketscan_scans_total", dimensions: [("outcome", outcome.rawValue)], factory: factory)
        }
        for outcome in ["completed", "failed"] {
            _ = Counter(
                label: "marketscan_store_checkpoints_total",
                dimensions: [("outcome", outcome)],
                factory: factory
            )
        }
    }

    /// Metrics that go nowhere (tests and embedders that do not export them).
    static let discarded = ServiceMetrics(factory: NOOPMetricsHandler.instance)

    /// A session ended with its final status.
    func scanEnded(_ session: ScanSession) {
        guard session.status.isFinal else { return }
        Counter(label: "marketscan_scans_total", dimensions: [("outcome", session.status.rawValue)], factory: factory)
            .increment()
        if let started = session.startedAt, let finished = session.finishedAt, finished >= started {
            scanDuration.recordNanoseconds(Int64(finished.timeIntervalSince(started) * 1e9))
        }
    }

    /// A request answered (or accepted, for those answered when their session ends).
    func request(verb: String, code: String) {
        Counter(label: "marketscan_requests_total", dimensions: [("verb", verb), ("code", code)], factory: factory)
            .increment()
    }

    /// A checkpoint of the session store's write-ahead log ran (`succeeded`) or failed.
    func storeCheckpointed(succeeded: Bool) {
        Counter(
            label: "marketscan_store_checkpoints_total",
            dimensions: [("outcome", succeeded ? "completed" : "failed")],
            factory: factory
        ).increment()
    }

    /// A write to the session store failed (`operation`: `session`, `chunk_result`, `delete_job`, `prune`).
    func storeWriteFailed(_ operation: String) {
        Counter(
            label: "marketscan_store_write_failures_total",
            dimensions: [("operation", operation)],
            factory: factory
        ).increment()
    }
}
