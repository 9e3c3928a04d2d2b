import CoreMetrics
import ScanProtocol
import Synchronization

/// An engine node's metrics, through swift-metrics (`engine-node --metrics HOST:PORT` serves them):
///
/// - `marketscan_node_chunks_received_total`, `marketscan_node_chunks_completed_total`
/// - `marketscan_node_chunk_duration_seconds`: histogram, from a chunk's arrival to its result
/// - `marketscan_node_symbols_total{outcome}`: symbols evaluated (`ok`) or reported as errors (`error`)
/// - `marketscan_node_chunks_in_flight`: chunks received and not finished
/// - `marketscan_node_ignored_messages_total`: malformed or unexpected frames on the jobs socket
/// - `marketscan_node_series_cache_lookups_total{outcome}` (`hit`, `miss`) and
///   `marketscan_node_series_cache_bytes`: the bar series cache (``SeriesCache``)
final class NodeMetrics: Sendable {
    let received: Counter
    let completed: Counter
    let symbolsOK: Counter
    let symbolsFailed: Counter
    let ignored: Counter
    let inFlight: Gauge
    private let duration: CoreMetrics.Timer
    private let started = Mutex<[ChunkRef: ContinuousClock.Instant]>([:])

    init(factory: any MetricsFactory) {
        received = Counter(label: "marketscan_node_chunks_received_total", factory: factory)
        completed = Counter(label: "marketscan_node_chunks_completed_total", factory: factory)
        symbolsOK = Counter(label: "marketscan_node_symbols_total", dimensions: [("outcome", "ok")], factory: factory)
        symbolsFailed = Counter(
            label: "marketscan_node_symbols_total",
            dimensions: [("outcome", "error")],
            factory: factory
        )
        ignored = Counter(label: "marketscan_node_ignored_messages_total", factory: factory)
        inFlight = Gauge(label: "marketscan_node_chunks_in_flight", factory: factory)
        duration = CoreMetrics.Timer(label: "marketscan_node_chunk_duration_seconds", factory: factory)
    }

    func chunkReceived(_ chunk: ChunkMessage) {
        received.increment()
        let count = started.withLock { s -> Int in
            // Bounded: a chunk dropped by a cancel never completes; forget the oldest entries.
            if s.count >= 4_096 { s.removeAll() }
            s[ChunkRef(jobId: chunk.jobId, chunkIndex: chunk.chunkIndex)] = .now
            return s.count
        }
        inFlight.record(count)
    }

    func chunkCompleted(_ chunk: ChunkMessage, errors: Int, symbols: Int) {
        completed.increment()
        symbolsOK.increment(by: symbols - errors)
        symbolsFailed.increment(by: errors)
        let (start, count) = started.withLock { s in
            (s.removeValue(forKey: ChunkRef(jobId: chunk.jobId, chunkIndex: chunk.chunkIndex)), s.count)
        }
        inFlight.record(count)
        if let start {
            let elapsed = ContinuousClock.now - start
            duration.recordNanoseconds(
                elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
            )
        }
    }

    /// Forgets a job's chunks (cancelled: they will not complete).
    func jobDropped(_ jobId: String) {
        let count = started.withLock { s in
            s = s.filter { $0.key.jobId != jobId }
            return s.count
        }
        inFlight.record(count)
    }
}
