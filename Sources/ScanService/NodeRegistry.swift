import ScanProtocol
import Synchronization

/// Who sent a node message: the node's name and, when CURVE is on, its public key (the ZAP user id
/// of the connection). A lease is bound to the identity of the node that first named it.
public struct NodeIdentity: Sendable, Hashable {
    public var name: String
    public var key: String?

    public init(name: String, key: String?) {
        self.name = name
        self.key = key
    }
}

/// The engine nodes the service has heard from (heartbeats and results). Thread-safe (a mutex).
///
/// Bounded: names longer than ``maxNameBytes`` are refused, and at most `maxNodes` nodes are kept
/// (a heartbeat from one more new name is ignored). With CURVE, a name is bound to the key of its
/// first heartbeat: a heartbeat with that name from another key is ignored. A node counts for chunk
/// sizing only once it has held a lease (see ``workerCount(at:)``), so made-up heartbeat names cost
/// nothing but a `PING` line each.
public final class NodeRegistry: Sendable {
    /// What the service knows of one node.
    public struct Node: Sendable, Hashable {
        public var name: String
        public var key: String?
        public var incarnation: UInt64
        public var threads: Int
        public var chunksDone: Int
        public var symbolsDone: Int
        public var inFlight: Int
        public var lastSeen: ContinuousClock.Instant
        /// When its symbol count last moved (or it held nothing).
        public var lastProgress: ContinuousClock.Instant
        /// It has named a lease it really holds (a node that pulled chunks, not just a name).
        public var proven = false

        /// The name with control characters escaped (`\u{1B}`), for `PING` and logs.
        public var displayName: String { NodeRegistry.escaped(name) }
    }

    /// Longest node name accepted (UTF-8 bytes).
    public static let maxNameBytes = 128

    private let nodes = Mutex<[String: Node]>([:])
    private let timeout: Duration
    private let stallTimeout: Duration
    private let maxNodes: Int

    /// - Parameters:
    ///   - timeout: a node not heard from for this long is not live any more.
    ///   - stallTimeout: a live node holding chunks whose symbol count has not moved for this long is
    ///     stalled (its evaluation hangs while its sockets still answer); default `timeout`.
    ///   - maxNodes: nodes remembered at most.
    public init(timeout: Duration, stallTimeout: Duration? = nil, maxNodes: Int = 256) {
        self.timeout = timeout
        self.stallTimeout = stallTimeout ?? timeout
        self.maxNodes = max(1, maxNodes)
    }

    /// Records a heartbeat; `false` when it is ignored (name too long or bound to another CURVE key,
    /// or too many nodes).
    @discardableResult
    public func heartbeat(_ h: HeartbeatMessage, sender: String? = nil, at now: ContinuousClock.Instant = .now) -> Bool
    {
        guard !h.nodeName.isEmpty, h.nodeName.utf8.count <= Self.maxNameBytes else { return false }
        return nodes.withLock { all in
            var node: Node
            if let known = all[h.nodeName] {
                if let key = known.key, key != sender, now - known.lastSeen < timeout * 10 { return false }
                node = known
                let restarted = known.incarnation != h.incarnation
                if restarted || h.symbolsDone != known.symbolsDone || h.inFlight == 0 { node.lastProgress = now }
                if restarted { node.proven = false }
            } else {
                if all.count >= maxNodes { all = all.filter { now - $0.value.lastSeen < timeout * 10 } }
                guard all.count < maxNodes else { return false }
                node = Node(
                    name: h.nodeName,
                    incarnation: h.incarnation,
                    threads: 1,
                    chunksDone: 0,
                    symbolsDone: 0,
                    inFlight: 0,
                    lastSeen: now,
                    lastProgress: now
                )
            }
            node.key = sender
            node.incarnation = h.incarnation
            node.threads = max(1, h.threads)
            node.chunksDone = h.chunksDone
            node.symbolsDone = h.symbolsDone
            node.inFlight = h.inFlight
            node.lastSeen = now
            all[h.nodeName] = node
            return true
        }
    }

    /// Any accepted message from a node counts as a sign of life.
    public func seen(_ name: String, at now: ContinuousClock.Instant = .now) {
        nodes.withLock { $0[name]?.lastSeen = now }
    }

    /// Marks a node as one that really holds leases (it counts for chunk sizing).
    public func proven(_ name: String) {
        nodes.withLock { $0[name]?.proven = true }
    }

    /// Live nodes, by name.
    public func live(at now: ContinuousClock.Instant = .now) -> [Node] {
        nodes.withLock { all in
            all = all.filter { now - $0.value.lastSeen < timeout * 10 }  // forget long-gone nodes
            return all.values.filter { now - $0.lastSeen < timeout }.sorted { $0.name < $1.name }
        }
    }

    /// Whether the node is live and not stalled: an expired lease it held counts as an attempt.
    public func isWorking(_ name: String, at now: ContinuousClock.Instant = .now) -> Bool {
        nodes.withLock { all in
            guard let n = all[name], now - n.lastSeen < timeout else { return false }
            return n.inFlight == 0 || now - n.lastProgress < stallTimeout
        }
    }

    /// How many nodes a job is chunked for: live nodes that have held a lease; before any has, the
    /// live ones, but at most 4 (heartbeats alone prove nothing).
    public func workerCount(at now: ContinuousClock.Instant = .now) -> Int {
        let all = live(at: now)
        let proven = all.filter(\.proven).count
        return max(1, proven > 0 ? proven : min(4, all.count))
    }

    /// Threads of every live node (at least 1).
    public func totalThreads(at now: ContinuousClock.Instant = .now) -> Int {
        max(1, live(at: now).reduce(0) { $0 + $1.threads })
    }

    /// `name` with every control character written as `\u{XX}` (and backslashes doubled), so a
    /// name cannot forge log lines or terminal output.
    public static func escaped(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            if scalar == "\\" {
                out += "\\\\"
            } else if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
