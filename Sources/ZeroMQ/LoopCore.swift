import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A unit of work for a loop's thread: `run` executes there; `reject` is called instead (on any
/// thread) when the loop stops before running it. Exactly one of the two is called.
struct LoopCommand: Sendable {
    let run: @Sendable (LoopThread) -> Void
    let reject: @Sendable (ZMQError) -> Void
}

/// The part of a loop shared between its thread and every task: the locked command queue, the wake
/// pipe and the stop/exit flags. Any thread may call its methods; none of them blocks (beyond the
/// short lock and one non-blocking `write`).
final class LoopCore: Sendable {
    private struct State {
        var commands: [LoopCommand] = []
        var wakePending = false
        var accepting = true
        var stopRequested = false
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
        var nextTicket: UInt64 = 0
    }

    let context: ZMQContext
    let name: String
    let receiveBufferCapacity: Int
    /// The wake pipe: tasks write one byte (only when none is pending); the thread polls the read end.
    let wakeReadFD: Int32
    let wakeWriteFD: Int32
    private let state = Mutex(State())

    init(context: ZMQContext, name: String, receiveBufferCapacity: Int) throws(ZMQError) {
        self.context = context
        self.name = name
        self.receiveBufferCapacity = max(1, receiveBufferCapacity)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw ZMQError(errno: errno, message: String(cString: strerror(errno)), operation: "pipe (loop \(name))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeReadFD = fds[0]
        wakeWriteFD = fds[1]
    }

    deinit {
        // Only here: a buffer's `onRoom` may still call `wake()` after the thread exited, and a
        // closed-then-reused descriptor would be written to by mistake.
        close(wakeReadFD)
        close(wakeWriteFD)
    }

    // MARK: Any thread

    /// Queues a command and wakes the thread. `false` (command not queued) once the loop stopped.
    func submit(_ command: LoopCommand) -> Bool {
        let needsWake: Bool? = state.withLock { state in
            guard state.accepting else { return nil }
            state.commands.append(command)
            defer { state.wakePending = true }
            return !state.wakePending
        }
        guard let needsWake else { return false }
        if needsWake { writeWakeByte() }
        return true
    }

    /// Runs `body` on the loop's thread and returns its result; throws if it throws or the loop stopped.
    func perform<T: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (LoopThread) throws(ZMQError) -> T
    ) async throws(ZMQError) -> T {
        let result: Result<T, ZMQError> = await withCheckedContinuation { continuation in
            let command = LoopCommand(
                run: { thread in
                    do throws(ZMQError) { continuation.resume(returning: .success(try body(thread))) } catch {
                        continuation.resume(returning: .failure(error))
                    }
                },
                reject: { continuation.resume(returning: .failure($0)) }
            )
            if !submit(command) { continuation.resume(returning: .failure(.loopStopped(operation))) }
        }
        return try result.get()
    }

    /// Wakes the thread so it re-evaluates what to poll (e.g. a consumer made room in a buffer).
    func wake() {
        let needsWake = state.withLock { state in
            defer { state.wakePending = true }
            return !state.wakePending && !state.exited
        }
        if needsWake { writeWakeByte() }
    }

    /// Asks the thread to close its sockets and exit. Non-blocking; idempotent.
    func requestStop() {
        state.withLock { $0.stopRequested = true }
        wake()
    }

    /// Suspends (never blocks) until the thread has exited.
    func waitUntilExited() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = state.withLock { state in
                if !state.exited { state.exitWaiters.append(continuation) }
                return state.exited
            }
            if exited { continuation.resume() }
        }
    }

    var hasExited: Bool { state.withLock { $0.exited } }

    /// A number unique within this loop (send tickets, so a cancelled send can be found).
    func nextTicket() -> UInt64 {
        state.withLock { state in
            state.nextTicket += 1
            return state.nextTicket
        }
    }

    private func writeWakeByte() {
        var byte: UInt8 = 1
        while write(wakeWriteFD, &byte, 1) < 0 && errno == EINTR {}
        // EAGAIN: the pipe is full, so the thread will wake anyway.
    }

    // MARK: Loop thread only

    /// Drains the wake pipe and takes the queued commands; `stop` when a stop was requested.
    func takeCommands() -> (commands: [LoopCommand], stop: Bool) {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wakeReadFD, &sink, sink.count) > 0 {}
        return state.withLock { state in
            state.wakePending = false
            let commands = state.commands
            state.commands = []
            return (commands, state.stopRequested)
        }
    }

    /// Stops accepting commands and returns those still queued (to be rejected).
    func closeIntake() -> [LoopCommand] {
        state.withLock { state in
            state.accepting = false
            let commands = state.commands
            state.commands = []
            return commands
        }
    }

    /// Marks the thread gone and resumes everyone waiting in ``waitUntilExited()``.
    func markExited() {
        let waiters = state.withLock { state in
            state.exited = true
            state.wakePending = true  // nobody reads the pipe any more
            let waiters = state.exitWaiters
            state.exitWaiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
