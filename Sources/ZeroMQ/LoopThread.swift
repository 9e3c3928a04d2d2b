import CZeroMQ
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The state of one loop that only its own thread touches: the libzmq sockets, the receive
/// scratch message and the poll set. Created on the thread, never leaves it.
final class LoopThread {
    let core: LoopCore
    private var sockets: [Int: SocketEntry] = [:]
    private var nextSocketID = 0
    private let scratch: UnsafeMutablePointer<zmq_msg_t>
    /// Set when libzmq reports ETERM: the context is terminating, so the loop closes and exits.
    private var terminated = false
    private var pollItems: [zmq_pollitem_t] = []
    private var polledEntries: [SocketEntry] = []

    private static let monitorCounter = Mutex<UInt64>(0)

    init(core: LoopCore) {
        self.core = core
        scratch = .allocate(capacity: 1)
        zmq_msg_init(scratch)
    }

    deinit {
        zmq_msg_close(scratch)
        scratch.deallocate()
    }

    // MARK: The loop

    /// Runs until a stop is requested, the context terminates or polling fails; then closes every
    /// socket, rejects queued commands and marks the loop exited.
    func run() {
        var failure: ZMQError?
        var stop = false
        while !stop && !terminated {
            let timeout = buildPollSet()
            let count = pollItems.count
            let rc = pollItems.withUnsafeMutableBufferPointer { items in
                zmq_poll(items.baseAddress, Int32(count), timeout)
            }
            if rc < 0 {
                let error = ZMQError.last("zmq_poll (loop \(core.name))")
                if error.errno == EINTR { continue }
                if error.errno != ZMQError.terminated { failure = error }
                break
            }
            if pollItems[0].revents != 0 || rc == 0 {
                let (commands, stopRequested) = core.takeCommands()
                for command in commands { command.run(self) }
                stop = stopRequested
            }
            for (index, entry) in polledEntries.enumerated() where sockets[entry.id] === entry {
                let revents = Int32(pollItems[index + 1].revents)
                if revents & Int32(ZMQ_POLLIN) != 0 { receiveAvailable(entry) }
                if !entry.pendingSends.isEmpty {
                    let wasStalled = entry.stallBackoffMs > 0
                    if revents & Int32(ZMQ_POLLOUT) != 0 || wasStalled { flushSends(entry, afterPollOut: true) }
                }
            }
        }
        shutDown(failure: failure)
    }

    /// Fills `pollItems` (item 0 is the wake pipe) and returns the poll timeout in ms (-1: none).
    private func buildPollSet() -> Int {
        pollItems.removeAll(keepingCapacity: true)
        polledEntries.removeAll(keepingCapacity: true)
        pollItems.append(zmq_pollitem_t(socket: nil, fd: core.wakeReadFD, events: Int16(ZMQ_POLLIN), revents: 0))
        var timeout = -1
        for entry in sockets.values {
            // Every socket stays in the set, even one that wants nothing now (a full buffer, a PUB
            // with nothing to send): a non-zero mask makes `zmq_poll` watch its command mailbox, so
            // the context's termination still wakes the loop with ETERM. ZMQ_POLLERR itself is never
            // reported for libzmq sockets.
            var events = Int32(ZMQ_POLLERR)
            if entry.canReceive && entry.sink.room > 0 { events |= Int32(ZMQ_POLLIN) }
            if !entry.pendingSends.isEmpty {
                if entry.stallBackoffMs > 0 {
                    timeout = timeout < 0 ? Int(entry.stallBackoffMs) : min(timeout, Int(entry.stallBackoffMs))
                } else {
                    events |= Int32(ZMQ_POLLOUT)
                }
            }
            pollItems.append(zmq_pollitem_t(socket: entry.handle, fd: 0, events: Int16(events), revents: 0))
            polledEntries.append(entry)
        }
        return timeout
    }

    // MARK: Receiving

    /// Reads every complete message available, up to the room left in the socket's buffer, and hands
    /// them over in one batch.
    private func receiveAvailable(_ entry: SocketEntry) {
        let room = entry.sink.room
        var batch: [ZMQMessage] = []
        var failure: ZMQError?
        reading: while batch.count < room {
            let rc = zmq_msg_recv(scratch, entry.handle, ZMQ_DONTWAIT)
            if rc < 0 {
                let error = ZMQError.last("zmq_msg_recv")
                switch error.errno {
                case EINTR: continue reading
                // EFSM: a REQ/REP socket that must send before it may receive again (the batch
                // read reached the end of its turn); not an error of the socket.
                case EAGAIN, EFSM: break reading
                case ZMQError.terminated:
                    terminated = true
                    break reading
                default:
                    failure = error
                    break reading
                }
            }
            let size = zmq_msg_size(scratch)
            let frame: [UInt8] =
                size == 0
                ? [] : Array(UnsafeRawBufferPointer(start: zmq_msg_data(scratch), count: size))
            if entry.readsUserId, entry.partialFrames.isEmpty, let property = zmq_msg_gets(scratch, "User-Id") {
                entry.partialUserId = String(cString: property)
            }
            entry.partialFrames.append(frame)
            if zmq_msg_more(scratch) == 0 {
                batch.append(ZMQMessage(entry.partialFrames, userId: entry.partialUserId))
                entry.partialFrames = []
                entry.partialUserId = nil
            }
        }
        switch entry.sink {
        case .messages(let buffer):
            buffer.deliver(batch)
        case .monitor(let buffer):
            var events: [ZMQSocketEvent] = []
            var stopped = false
            for message in batch {
                if let event = ZMQSocketEvent(monitorFrames: message.frames) {
                    events.append(event)
                } else {
                    stopped = stopped || message.frames.count >= 2
                }
            }
            buffer.deliver(events)
            if stopped { buffer.finish() }
        }
        if let failure {
            closeSocket(entry.id, failure: failure)
        }
    }

    // MARK: Sending

    private enum SendOutcome {
        case sent
        case wouldBlock
        case failed(ZMQError)
    }

    /// Queues the frames of `pending` from `nextFrame` on, without waiting.
    private func sendFrames(_ entry: SocketEntry, _ pending: inout PendingSend) -> SendOutcome {
        let last = pending.frames.count - 1
        while pending.nextFrame <= last {
            let flags = ZMQ_DONTWAIT | (pending.nextFrame < last ? ZMQ_SNDMORE : 0)
            let rc = pending.frames[pending.nextFrame].withUnsafeBytes { bytes in
                zmq_send(entry.handle, bytes.baseAddress, bytes.count, flags)
            }
            if rc < 0 {
                let error = ZMQError.last("zmq_send")
                switch error.errno {
                case EINTR: continue
                case EAGAIN: return .wouldBlock
                case ZMQError.terminated:
                    terminated = true
                    return .failed(error)
                default: return .failed(error)
                }
            }
            pending.nextFrame += 1
        }
        return .sent
    }

    /// Sends queued messages in order until one would block.
    private func flushSends(_ entry: SocketEntry, afterPollOut: Bool) {
        var progressed = false
        while !entry.pendingSends.isEmpty {
            let framesBefore = entry.pendingSends[0].nextFrame
            let outcome = sendFrames(entry, &entry.pendingSends[0])
            switch outcome {
            case .sent:
                let done = entry.pendingSends.removeFirst()
                done.continuation?.resume()
                progressed = true
            case .failed(let error):
                let done = entry.pendingSends.removeFirst()
                done.continuation?.resume(throwing: error)
                progressed = true
            case .wouldBlock:
                progressed = progressed || entry.pendingSends[0].nextFrame > framesBefore
                if afterPollOut && !progressed {
                    entry.stallBackoffMs = min(max(1, entry.stallBackoffMs * 2), 16)
                } else {
                    entry.stallBackoffMs = 0
                }
                return
            }
        }
        entry.stallBackoffMs = 0
    }

    // MARK: Commands (run on this thread by `LoopCommand`s)

    func entry(_ id: Int, _ operation: String) throws(ZMQError) -> SocketEntry {
        guard let entry = sockets[id] else { throw .socketClosed(operation) }
        return entry
    }

    /// `zmq_socket` + options; registers the socket and returns its id and receive buffer.
    func makeSocket(
        _ type: SocketType,
        options: SocketOptions
    ) throws(ZMQError) -> (
        id: Int, inbound: InboundBuffer<ZMQMessage>
    ) {
        let handle = try openSocket(type.rawValue, "zmq_socket \(type)")
        do throws(ZMQError) {
            try options.apply(to: handle)
        } catch {
            zmq_close(handle)
            throw error
        }
        let core = core
        let buffer = InboundBuffer<ZMQMessage>(capacity: core.receiveBufferCapacity) { core.wake() }
        let entry = register(handle, canReceive: type.canReceive, sink: .messages(buffer))
        entry.readsUserId = options.zapDomain != nil
        return (entry.id, buffer)
    }

    func bind(_ id: Int, _ endpoint: String) throws(ZMQError) -> String {
        let operation = "zmq_bind \(endpoint)"
        let entry = try entry(id, operation)
        try retryingEINTR(operation) { zmq_bind(entry.handle, endpoint) }
        var buffer = [CChar](repeating: 0, count: 512)
        var size = buffer.count
        if zmq_getsockopt(entry.handle, ZMQ_LAST_ENDPOINT, &buffer, &size) != 0 { return endpoint }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func connect(_ id: Int, _ endpoint: String) throws(ZMQError) {
        let operation = "zmq_connect \(endpoint)"
        let entry = try entry(id, operation)
        try retryingEINTR(operation) { zmq_connect(entry.handle, endpoint) }
    }

    func unbind(_ id: Int, _ endpoint: String) throws(ZMQError) {
        let operation = "zmq_unbind \(endpoint)"
        let entry = try entry(id, operation)
        try retryingEINTR(operation) { zmq_unbind(entry.handle, endpoint) }
    }

    func disconnect(_ id: Int, _ endpoint: String) throws(ZMQError) {
        let operation = "zmq_disconnect \(endpoint)"
        let entry = try entry(id, operation)
        try retryingEINTR(operation) { zmq_disconnect(entry.handle, endpoint) }
    }

    func setOption(_ id: Int, _ option: Int32, _ value: [UInt8], _ name: String) throws(ZMQError) {
        let entry = try entry(id, name)
        try setBytes(entry.handle, option, value, name)
    }

    /// Sends now if nothing is queued ahead and the socket has room, else queues the message until
    /// POLLOUT; `continuation` is resumed when it is queued in libzmq or fails.
    func send(
        _ id: Int,
        ticket: UInt64,
        frames: [[UInt8]],
        continuation: CheckedContinuation<Void, any Error>
    ) {
        guard let entry = sockets[id] else {
            continuation.resume(throwing: ZMQError.socketClosed("zmq_send"))
            return
        }
        var pending = PendingSend(ticket: ticket, frames: frames, continuation: continuation)
        if entry.pendingSends.isEmpty {
            switch sendFrames(entry, &pending) {
            case .sent:
                continuation.resume()
                return
            case .failed(let error):
                continuation.resume(throwing: error)
                return
            case .wouldBlock: break
            }
        }
        entry.pendingSends.append(pending)
    }

    /// Sends only if the socket takes the message now; `false` when it would block.
    func trySend(_ id: Int, frames: [[UInt8]]) throws(ZMQError) -> Bool {
        let entry = try entry(id, "zmq_send")
        guard entry.pendingSends.isEmpty else { return false }
        var pending = PendingSend(ticket: 0, frames: frames, continuation: nil)
        switch sendFrames(entry, &pending) {
        case .sent: return true
        case .failed(let error): throw error
        case .wouldBlock:
            guard pending.nextFrame > 0 else { return false }
            // Part of it is already in libzmq: the rest must follow before anything else.
            entry.pendingSends.append(pending)
            return true
        }
    }

    /// Withdraws a queued send whose task was cancelled, if none of it went out yet.
    func cancelSend(_ id: Int, ticket: UInt64) {
        guard let entry = sockets[id],
            let index = entry.pendingSends.firstIndex(where: { $0.ticket == ticket }),
            entry.pendingSends[index].nextFrame == 0
        else { return }
        let pending = entry.pendingSends.remove(at: index)
        pending.continuation?.resume(
            throwing: ZMQError(errno: ECANCELED, message: "the sending task was cancelled", operation: "zmq_send")
        )
    }

    /// Starts `zmq_socket_monitor` into an inproc PAIR owned by this loop; returns its event buffer.
    func monitor(_ id: Int) throws(ZMQError) -> InboundBuffer<ZMQSocketEvent> {
        let entry = try entry(id, "zmq_socket_monitor")
        if let monitor = entry.monitor { return monitor.events }
        let serial = Self.monitorCounter.withLock { counter in
            counter += 1
            return counter
        }
        let endpoint = "inproc://zeromq-swift.monitor.\(serial)"
        try retryingEINTR("zmq_socket_monitor \(endpoint)") {
            zmq_socket_monitor(entry.handle, endpoint, ZMQ_EVENT_ALL)
        }
        let pair: UnsafeMutableRawPointer
        do throws(ZMQError) {
            pair = try openSocket(ZMQ_PAIR, "zmq_socket ZMQ_PAIR (monitor)")
            do throws(ZMQError) {
                try setInt(pair, ZMQ_LINGER, 0, "ZMQ_LINGER")
                try retryingEINTR("zmq_connect \(endpoint)") { zmq_connect(pair, endpoint) }
            } catch {
                zmq_close(pair)
                throw error
            }
        } catch {
            _ = zmq_socket_monitor(entry.handle, nil, 0)
            throw error
        }
        let core = core
        let events = InboundBuffer<ZMQSocketEvent>(capacity: core.receiveBufferCapacity) { core.wake() }
        let monitorEntry = register(pair, canReceive: true, sink: .monitor(events))
        monitorEntry.monitoredSocketID = id
        entry.monitor = (monitorEntry.id, events)
        return events
    }

    /// Closes a socket (its linger bounds what libzmq still sends), its monitor, fails its queued
    /// sends and ends its streams (buffered messages stay readable). Unknown ids are ignored.
    func closeSocket(_ id: Int, failure: ZMQError? = nil) {
        guard let entry = sockets.removeValue(forKey: id) else { return }
        if let monitor = entry.monitor {
            _ = zmq_socket_monitor(entry.handle, nil, 0)
            closeSocket(monitor.entryID)
        }
        if let owner = entry.monitoredSocketID { sockets[owner]?.monitor = nil }
        zmq_close(entry.handle)
        let pending = entry.pendingSends
        entry.pendingSends = []
        for send in pending { send.continuation?.resume(throwing: ZMQError.socketClosed("zmq_send")) }
        entry.sink.finish(throwing: failure)
    }

    // MARK: Helpers

    private func openSocket(_ type: Int32, _ operation: String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle = zmq_socket(core.context.handle, type) else {
            let error = ZMQError.last(operation)
            if error.errno == ZMQError.terminated { terminated = true }
            throw error
        }
        return handle
    }

    private func register(_ handle: UnsafeMutableRawPointer, canReceive: Bool, sink: InboundSink) -> SocketEntry {
        nextSocketID += 1
        let entry = SocketEntry(id: nextSocketID, handle: handle, canReceive: canReceive, sink: sink)
        sockets[entry.id] = entry
        return entry
    }

    private func retryingEINTR(_ operation: String, _ call: () -> Int32) throws(ZMQError) {
        while call() != 0 {
            let error = ZMQError.last(operation)
            if error.errno == EINTR { continue }
            if error.errno == ZMQError.terminated { terminated = true }
            throw error
        }
    }

    private func shutDown(failure: ZMQError?) {
        let rejected = core.closeIntake()
        // User sockets first (each closes its monitor), then anything left.
        for id in sockets.keys.sorted() where sockets[id]?.monitoredSocketID == nil {
            closeSocket(id, failure: failure)
        }
        for id in sockets.keys.sorted() { closeSocket(id, failure: failure) }
        for command in rejected { command.reject(.loopStopped("loop \(core.name)")) }
        core.markExited()
    }
}
