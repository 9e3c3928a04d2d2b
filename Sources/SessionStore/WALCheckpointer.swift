import Dispatch
import GRDB
import Synchronization

/// Checkpoints a store file's write-ahead log off the writers' path.
///
/// SQLite checkpoints inside whichever commit takes the WAL past `wal_autocheckpoint` frames. With the
/// store's 64 KB pages that is a copy of 64 MB and an fsync inside some scan's chunk save or final
/// save: the slow tail of the T2 scans (a study's p99 of 203–221 ms against a median of 119 before this
/// type, 147–167 ms after; BENCHMARKS.md "WAL checkpoints off the scan's path"). The session store's
/// connections keep the automatic checkpoint only as a safety net (``safetyNetFrames``), and the store
/// asks this type for a checkpoint after the writes that end a piece of work (a session's final state,
/// a prune). It runs a *passive* checkpoint — one that neither waits for nor blocks the writer and the
/// readers — on a connection of its own, on a thread of its own. One runs at a time; requests made
/// while one runs fold into one more run after it.
///
/// A checkpoint that fails (the file cannot be opened, an I/O error) is counted, reported (the service
/// exports `marketscan_store_checkpoints_total{outcome}`) and otherwise left to the next request and to
/// the safety net: nothing written depends on it.
final class WALCheckpointer: Sendable {
    /// The automatic checkpoint the store's own connections keep (`wal_autocheckpoint`, in frames of
    /// one page): 128 MB of 64 KB pages, twice the WAL that `journal_size_limit` keeps.
    static let safetyNetFrames = 2_000

    private struct State {
        var running = false
        var again = false
        var connection: DatabaseQueue?
        var completed = 0
        var failures = 0
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var report: (@Sendable (Bool) -> Void)?
    }

    private let path: String
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "marketscan.session-store.checkpoint", qos: .utility)

    /// - Parameter path: the store's SQLite file (opened on the first checkpoint).
    init(path: String) {
        self.path = path
    }

    /// Starts a passive checkpoint, or one more after the one running. Returns at once.
    func request() {
        let start = state.withLock { s -> Bool in
            if s.running {
                s.again = true
                return false
            }
            s.running = true
            return true
        }
        if start { queue.async { self.drain() } }
    }

    /// Calls `report` after each checkpoint with whether it succeeded (on the checkpointer's queue).
    func reportCheckpoints(to report: @escaping @Sendable (Bool) -> Void) {
        state.withLock { $0.report = report }
    }

    /// Checkpoints run to completion so far.
    var completed: Int { state.withLock { $0.completed } }

    /// Checkpoints that failed so far.
    var failures: Int { state.withLock { $0.failures } }

    /// Waits until no checkpoint runs or is requested.
    func idle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                guard s.running else { return true }
                s.idleWaiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    private func drain() {
        while true {
            let ok = checkpoint()
            state.withLock { $0.report }?(ok)
            let (more, waiters) = state.withLock { s -> (Bool, [CheckedContinuation<Void, Never>]) in
                if ok { s.completed += 1 } else { s.failures += 1 }
                if s.again {
                    s.again = false
                    return (true, [])
                }
                s.running = false
                defer { s.idleWaiters = [] }
                return (false, s.idleWaiters)
            }
            for w in waiters { w.resume() }
            if !more { return }
        }
    }

    /// One passive checkpoint; `false` when it failed. Runs on ``queue`` only.
    private func checkpoint() -> Bool {
        do {
            let db = try connection()
            try db.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
            return true
        } catch {
            return false
        }
    }

    private func connection() throws -> DatabaseQueue {
        if let open = state.withLock({ $0.connection }) { return open }
        var config = Configuration()
        // It only checkpoints; nothing it does should start another checkpoint.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        let db = try DatabaseQueue(path: path, configuration: config)
        state.withLock { $0.connection = db }
        return db
    }
}
