import ScanCore
import ScanProtocol
import Synchronization

/// The engine nodes the service has heard from (heartbeats and results). Thread-safe (a mutex).
public final class NodeRegistry: Sendable {
    /// What the service knows of one node.
    public struct Node: Sendable, Hashable {
        public var name: String
        public var incarnation: UInt64
        public var threads: Int
        public var chunksDone: Int
        public var inFlight: Int
        public var lastSeen: ContinuousClock.Instant
        /// The node's store as it shows it (`sqlite:PATH` or a PostgreSQL URL without password).
        public var store: String = ""
        /// The node's store version at its last heartbeat.
        public var dataVersion: StoreVersion?
    }

    private let nodes = Mutex<[String: Node]>([:])
    private let timeout: Duration

    /// `timeout`: a node not heard from for this long is not live any more.
    public init(timeout: Duration) { self.timeout = timeout }

    public func heartbeat(_ h: HeartbeatMessage, at now: ContinuousClock.Instant = .now) {
        nodes.withLock {
            $0[h.nodeName] = Node(
                name: h.nodeName,
                incarnation: h.incarnation,
                threads: max(1, h.threads),
                chunksDone: h.chunksDone,
                inFlight: h.inFlight,
                lastSeen: now,
                store: h.store,
                dataVersion: h.dataVersion
            )
        }
    }

    /// Any message from a node counts as a sign of life.
    public func seen(_ name: String, at now: ContinuousClock.Instant = .now) {
        nodes.withLock { $0[name]?.lastSeen = now }
    }

    /// Live nodes, by name.
    public func live(at now: ContinuousClock.Instant = .now) -> [Node] {
        nodes.withLock { all in
            all = all.filter { now - $0.value.lastSeen < timeout * 10 }  // forget long-gone nodes
            return all.values.filter { now - $0.lastSeen < timeout }.sorted { $0.name < $1.name }
        }
    }

    /// Threads of every live node (at least 1): how many workers a job is chunked for.
    public func totalThreads(at now: ContinuousClock.Instant = .now) -> Int {
        max(1, live(at: now).reduce(0) { $0 + $1.threads })
    }
}
