import Foundation
import Synchronization

/// A bounded set of dedicated threads (never Swift's cooperative pool) that run closures in the
/// order they were submitted. Threads start as work arrives, up to `maxThreads`, and then wait for
/// more until ``stop()``. Each thread hands its closures the same ``WorkerContext``: state that
/// belongs to that thread (a scanner's buffers) and is reused from one closure to the next.
///
/// The one way the engine runs work on threads: ``Blocking`` runs store calls on a shared pool and
/// ``ScanExecutor`` runs symbols on a pool of its own. Thread-safe.
package final class ThreadPool: Sendable {
    package typealias Work = @Sendable (WorkerContext) -> Void

    private struct State {
        var queue: [Work] = []
        var head = 0
        var threads = 0
        var idle = 0
        var stopped = false

        var queued: Int { queue.count - head }

        mutating func pop() -> Work? {
            guard head < queue.count else { return nil }
            let work = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024, head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            return work
        }
    }

    package let maxThreads: Int
    private let name: String
    private let state = Mutex(State())
    private let condition = NSCondition()

    /// - Parameters:
    ///   - maxThreads: the most threads the pool starts (at least 1).
    ///   - name: the threads' name, with a number appended.
    package init(maxThreads: Int, name: String) {
        self.maxThreads = max(1, maxThreads)
        self.name = name
    }

    /// Queues `work`; `false` (and `work` never runs) once the pool is stopped.
    @discardableResult
    package func submit(_ work: @escaping Work) -> Bool {
        condition.lock()
        let start = state.withLock { s -> Int? in
            guard !s.stopped else { return nil }
            s.queue.append(work)
            guard s.queued > s.idle, s.threads < maxThreads else { return 0 }
            s.threads += 1
            return s.threads
        }
        condition.signal()
        condition.unlock()
        guard let start else { return false }
        if start > 0 {
            let thread = Thread { [self] in loop(WorkerContext()) }
            thread.name = "\(name)-\(start)"
            thread.start()
        }
        return true
    }

    /// Drops the queued work and lets every thread end after the closure it runs. Idempotent.
    package func stop() {
        condition.lock()
        state.withLock { s in
            s.stopped = true
            s.queue = []
            s.head = 0
        }
        condition.broadcast()
        condition.unlock()
    }

    private func next() -> Work? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let (work, stopped) = state.withLock { s -> (Work?, Bool) in
                if let w = s.pop() { return (w, false) }
                if s.stopped {
                    s.threads -= 1
                    return (nil, true)
                }
                s.idle += 1
                return (nil, false)
            }
            if let work { return work }
            if stopped { return nil }
            condition.wait()
            state.withLock { $0.idle -= 1 }
        }
    }

    private func loop(_ context: WorkerContext) {
        while let work = next() { work(context) }
    }
}

/// State one pool thread keeps across the closures it runs (never shared between threads).
package final class WorkerContext {
    private var values: [ObjectIdentifier: (key: AnyObject, value: Any)] = [:]

    init() {}

    /// The value this thread made for `key` (compared by identity), made now if there is none.
    /// Holds at most `limit` values (all dropped when full); a kept value keeps its key alive, so an
    /// identifier is never reused while it is cached.
    package func value<Key: AnyObject, Value>(for key: Key, limit: Int, make: () -> Value) -> Value {
        let id = ObjectIdentifier(key)
        if let entry = values[id], let value = entry.value as? Value { return value }
        if values.count >= limit { values = [:] }
        let value = make()
        values[id] = (key, value)
        return value
    }
}
