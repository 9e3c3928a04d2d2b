import TestSupport
import Testing
import ZeroMQ

@Suite("ZeroMQ loop lifecycle, cancellation and back-pressure")
struct ZeroMQLifecycleTests {
    @Test func cancellingAPendingReceiveReturnsNilAndLosesNothing() async throws {
        try await withLoop { _, loop in
            let endpoint = inprocEndpoint("cancel")
            let receiver = try await loop.makeSocket(.pair, binding: [endpoint]).socket
            let sender = try await loop.makeSocket(.pair, connectingTo: [endpoint])

            let pending = Task { try await receiver.receive() }
            pending.cancel()
            #expect(try await within(10, "the cancelled receive") { try await pending.value } == nil)

            // Races between a message arriving and the receive being cancelled: every message is
            // either returned by the cancelled receive or still there for the next one.
            var received: [String] = []
            for index in 0..<50 {
                let racing = Task { try await receiver.receive() }
                try await sender.send(.text("\(index)"))
                racing.cancel()
                if let message = try await within(10, "a racing receive", { try await racing.value }) {
                    received.append(message.strings[0])
                } else {
                    received.append(try await receive(receiver).strings[0])
                }
            }
            #expect(received == (0..<50).map(String.init))
        }
    }

    @Test func shuttingDownTheLoopEndsAPendingReceive() async throws {
        let context = try ZMQContext()
        let loop = try ZMQLoop(context: context, name: "closing")
        let socket = try await loop.makeSocket(.pull)
        try await socket.bind("tcp://127.0.0.1:*")
        let pending = Task { try await socket.receive() }
        try await within(10, "loop shutdown") { await loop.shutdown() }
        #expect(try await within(10, "the pending receive") { try await pending.value } == nil)
        #expect(loop.isStopped)
        let error = await #expect(throws: ZMQError.self) { try await socket.send(.text("late")) }
        #expect(error?.errno == ZMQError.notSocket)
        await loop.shutdown()  // idempotent
        try await within(10, "context termination") { await context.terminate() }
    }

    @Test func terminatingTheContextWithAPendingReceiveDoesNotHang() async throws {
        let context = try ZMQContext()
        let loop = try ZMQLoop(context: context, name: "terminating")
        var options = SocketOptions()
        options.lingerMs = 100
        let socket = try await loop.makeSocket(.dealer, options: options)
        try await socket.connect("tcp://127.0.0.1:1")  // nobody there: messages stay queued
        try await socket.send(.text("queued"))
        let pending = Task { try await socket.receive() }
        try await within(10, "context termination") { await context.terminate() }
        #expect(try await within(10, "the pending receive") { try await pending.value } == nil)
        try await within(10, "the loop's exit") { await loop.shutdown() }
        #expect(loop.isStopped)
        let error = await #expect(throws: ZMQError.self) { _ = try await loop.makeSocket(.pull) }
        #expect(error != nil)
    }

    @Test func terminatingTheContextWakesLoopsWhoseSocketsWantNothing() async throws {
        let context = try ZMQContext()
        let loop = try ZMQLoop(context: context, name: "idle", receiveBufferCapacity: 1)
        let endpoint = inprocEndpoint("idle")
        // A PUB is never read and has nothing to send; a PULL whose one-message buffer is full is
        // not read either. Nothing else will wake this loop: only the termination can.
        _ = try await loop.makeSocket(.pub, binding: ["tcp://127.0.0.1:*"])
        let pull = try await loop.makeSocket(.pull, binding: [endpoint]).socket
        let push = try await loop.makeSocket(.push, connectingTo: [endpoint])
        try await push.send(.text("fills the buffer"))
        try await push.send(.text("waits in libzmq"))
        try await within(10, "context termination") { await context.terminate() }
        try await within(10, "the loop's exit") { await loop.shutdown() }
        #expect(loop.isStopped)
        #expect(try await receive(pull) == .text("fills the buffer"))  // buffered messages survive
        #expect(try await within(10, "the end of the stream") { try await pull.receive() } == nil)
    }

    @Test func closedSocketEndsItsStreamAndRejectsCalls() async throws {
        try await withLoop { _, loop in
            let endpoint = inprocEndpoint("close")
            let receiver = try await loop.makeSocket(.pull, binding: [endpoint]).socket
            let sender = try await loop.makeSocket(.push, connectingTo: [endpoint])
            try await sender.send(.text("before close"))
            _ = try await receive(receiver)  // delivered before the close
            let consumer = Task { () async throws -> [ZMQMessage] in
                var all: [ZMQMessage] = []
                for try await message in receiver.messages { all.append(message) }
                return all
            }
            await receiver.close()
            #expect(try await within(10, "the stream's end") { try await consumer.value }.isEmpty)
            await receiver.close()  // idempotent
            let error = await #expect(throws: ZMQError.self) { try await receiver.connect(endpoint) }
            #expect(error?.errno == ZMQError.notSocket)
        }
    }

    @Test func trySendReportsAFullSocketWithoutWaiting() async throws {
        try await withLoop { _, loop in
            let push = try await loop.makeSocket(.push)
            // No peer: a PUSH cannot take anything.
            #expect(try await push.trySend(.text("nobody listens")) == false)
            let error = await #expect(throws: ZMQError.self) { try await push.send(ZMQMessage([])) }
            #expect(error?.errno == ZMQError.invalidArgument)
        }
    }

    @Test func backPressureBoundsBufferingAndKeepsOrder() async throws {
        let context = try ZMQContext()
        let sendingLoop = try ZMQLoop(context: context, name: "producer")
        let receivingLoop = try ZMQLoop(context: context, name: "consumer", receiveBufferCapacity: 8)
        let endpoint = inprocEndpoint("backpressure")
        var pullOptions = SocketOptions()
        pullOptions.receiveHighWaterMark = 4
        let pull = try await receivingLoop.makeSocket(.pull, options: pullOptions, binding: [endpoint]).socket
        var pushOptions = SocketOptions()
        pushOptions.sendHighWaterMark = 4
        let push = try await sendingLoop.makeSocket(.push, options: pushOptions, connectingTo: [endpoint])

        // Nobody reads: the receive buffer, then libzmq's queues fill, and the sender is refused.
        var accepted = 0
        while try await push.trySend(.text("\(accepted)")) {
            accepted += 1
            try #require(accepted < 10_000, "back-pressure never reached the sender")
        }
        #expect(accepted > 0)

        // `send` waits for room instead; a consumer drains everything in order.
        let total = accepted + 200
        let producer = Task {
            for index in accepted..<total { try await push.send(.text("\(index)")) }
        }
        for index in 0..<total {
            #expect(try await receive(pull).strings == ["\(index)"])
        }
        try await within(10, "the producer") { try await producer.value }

        await sendingLoop.shutdown()
        await receivingLoop.shutdown()
        await context.terminate()
    }

    @Test func cancellingAWaitingSendWithdrawsIt() async throws {
        try await withLoop { _, loop in
            let push = try await loop.makeSocket(.push)  // no peer: every send waits
            let waiting = Task { try await push.send(.text("never")) }
            waiting.cancel()
            let result = try await within(10, "the cancelled send") { await waiting.result }
            #expect(throws: (any Error).self) { try result.get() }
        }
    }
}
