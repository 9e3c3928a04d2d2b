import FormulaEngine
import Foundation
import Logging
import ScanCore
import ScanProtocol

/// Answers client requests. `handle` returns quickly: anything that waits for a session to end
/// (`RUN_SCAN` with `wait: true`, `CANCEL`) replies from its own task through `reply`.
struct RequestHandler: Sendable {
    let manager: SessionManager
    let nodes: NodeRegistry
    /// Answers `LIST_SYMBOLS`; `nil` when the service's symbol repository cannot list.
    let catalog: (any SymbolCatalog)?
    /// The bar feed and the live watches; `nil` when the service runs without live scans.
    let feed: BarFeed?
    let watches: WatchManager?
    let maxRequestBytes: Int
    let startedAt: ContinuousClock.Instant
    let logger: Logger
    /// Requests by verb and code.
    var metrics: ServiceMetrics = .discarded
    /// Sends reply frames on the ROUTER.
    let reply: @Sendable ([[UInt8]]) async -> Void

    func handle(_ frames: [[UInt8]]) async {
        let decoded = RequestCodec.decode(routerFrames: frames, maxBodyBytes: maxRequestBytes)
        let envelope = decoded.envelope
        let requestId = decoded.requestId
        switch decoded.result {
        case .failure(let e):
            metrics.request(verb: Self.verbLabel(frames), code: e.code.rawValue)
            logger.debug("bad request", metadata: ["code": "\(e.code.rawValue)", "message": "\(e.message)"])
            await reply(ReplyCodec.error(e, envelope: envelope, requestId: requestId))
        case .success(let request):
            do {
                try await answer(request, envelope: envelope, requestId: requestId)
                metrics.request(verb: request.verb.rawValue, code: "ok")
            } catch let e as ProtocolError {
                metrics.request(verb: request.verb.rawValue, code: e.code.rawValue)
                await reply(ReplyCodec.error(e, envelope: envelope, requestId: requestId))
            } catch {
                metrics.request(verb: request.verb.rawValue, code: ProtocolErrorCode.busy.rawValue)
                logger.error("request failed", metadata: ["verb": "\(request.verb.rawValue)", "error": "\(error)"])
                await reply(
                    ReplyCodec.error(
                        ProtocolError(.busy, "the service could not answer: \(error)"),
                        envelope: envelope,
                        requestId: requestId
                    )
                )
            }
        }
    }

    private func ok<T: Encodable>(_ body: T, _ envelope: [[UInt8]], _ requestId: JSONScalar?) async throws {
        await reply(try ReplyCodec.ok(body, envelope: envelope, requestId: requestId))
    }

    private func answer(_ request: ClientRequest, envelope: [[UInt8]], requestId: JSONScalar?) async throws {
        switch request {
        case .runScan(let scan, let wait):
            // The job's one compiled plan: checked here, then run by the session and its engine.
            let plan: FormulaPlan
            do {
                plan = try BatchScanUseCase.checkFormula(scan)
            } catch let e as FormulaError {
                throw ProtocolError(.invalidFormula, e.description)
            } catch {
                throw ProtocolError(.invalidFormula, "\(error)")
            }
            let session = try await manager.start(scan, plan: plan)
            if !wait {
                try await ok(SessionReply(session: SessionDocument(session)), envelope, requestId)
                return
            }
            Task { await replyWhenEnded(session.id, envelope: envelope, requestId: requestId) }

        case .getSession(let id):
            guard let s = try await manager.snapshot(id) else { throw notFound(id) }
            try await ok(SessionReply(session: SessionDocument(s)), envelope, requestId)

        case .getResult(let id, let offset, let limit):
            guard let s = try await manager.snapshot(id) else { throw notFound(id) }
            guard let reply = SessionResultReply(s, withSession: false, offset: offset, limit: limit) else {
                let why =
                    s.status == .failed ? "it failed: \(s.error ?? "unknown error")" : "it is \(s.status.rawValue)"
                throw ProtocolError.notFound("session '\(id)' has no result: \(why)")
            }
            try await ok(reply, envelope, requestId)

        case .cancel(let id):
            guard let s = try await manager.snapshot(id) else { throw notFound(id) }
            if s.status.isFinal {
                try await ok(SessionReply(session: SessionDocument(s)), envelope, requestId)
                return
            }
            manager.cancel(id)
            Task { await replyWhenEnded(id, envelope: envelope, requestId: requestId, withResult: false) }

        case .listSessions(let status, let limit):
            let list = try await manager.list(status: status, limit: limit)
            try await ok(SessionListReply(sessions: list.map(SessionDocument.init)), envelope, requestId)

        case .listSymbols(let query):
            guard let catalog else {
                throw ProtocolError(.busy, "this service's market-data store cannot list its symbols")
            }
            try await ok(SymbolListReply(catalog.listSymbols(query)), envelope, requestId)
        case .watchStart, .watchStop, .listWatches, .getWatch:
            try await answerWatch(request, envelope: envelope, requestId: requestId)

        case .ping:
            let now = ContinuousClock.now
            let nodeDocs = nodes.live(at: now).map { n in
                NodeDocument(
                    name: n.displayName,
                    threads: n.threads,
                    lastSeenMsAgo: Int((now - n.lastSeen) / .milliseconds(1)),
                    chunksDone: n.chunksDone,
                    store: n.store,
                    dataVersion: n.dataVersion?.description
                )
            }
            let uptime = now - startedAt
            try await ok(
                PingReply(
                    uptimeS: Double(uptime.components.seconds) + Double(uptime.components.attoseconds) / 1e18,
                    nodes: nodeDocs,
                    sessionsRunning: manager.runningCount,
                    watchesRunning: watches?.runningCount,
                    feed: feed?.status
                ),
                envelope,
                requestId
            )
        }
    }

    private func answerWatch(_ request: ClientRequest, envelope: [[UInt8]], requestId: JSONScalar?) async throws {
        guard let watches else {
            throw ProtocolError(.busy, "this service runs without live scans (no market-data store for a bar feed)")
        }
        switch request {
        case .watchStart(let w):
            // Answered from its own task: the watches' task may be busy with an evaluation round.
            replyLater(envelope, requestId) { WatchReply(watch: try await watches.start(w)) }
        case .watchStop(let id):
            replyLater(envelope, requestId) { WatchReply(watch: try await watches.stop(id)) }
        case .listWatches:
            try await ok(WatchListReply(watches: watches.list()), envelope, requestId)
        case .getWatch(let id, let after, let limit):
            try await ok(try await watches.get(id, eventsAfter: after, limit: limit), envelope, requestId)
        default:
            throw ProtocolError.badRequest("not a watch verb: \(request.verb.rawValue)")
        }
    }

    /// Answers from a new task, so the api socket's reader goes on with the next request.
    private func replyLater<T: Encodable & Sendable>(
        _ envelope: [[UInt8]],
        _ requestId: JSONScalar?,
        _ body: @escaping @Sendable () async throws -> T
    ) {
        Task {
            do {
                try await ok(try await body(), envelope, requestId)
            } catch let e as ProtocolError {
                await reply(ReplyCodec.error(e, envelope: envelope, requestId: requestId))
            } catch {
                await reply(
                    ReplyCodec.error(
                        ProtocolError(.busy, "the service could not answer: \(error)"),
                        envelope: envelope,
                        requestId: requestId
                    )
                )
            }
        }
    }

    /// The verb frame of an unreadable request as a metrics label: a known verb, else `invalid` (never
    /// the peer's bytes, which would make a label per garbage frame).
    static func verbLabel(_ frames: [[UInt8]]) -> String {
        guard let d = frames.firstIndex(where: \.isEmpty), d + 2 < frames.count,
            let text = String(validating: frames[d + 2], as: UTF8.self), let verb = Verb(rawValue: text)
        else { return "invalid" }
        return verb.rawValue
    }

    private func notFound(_ id: String) -> ProtocolError { .notFound("no session '\(id)'") }

    private func replyWhenEnded(
        _ id: String,
        envelope: [[UInt8]],
        requestId: JSONScalar?,
        withResult: Bool = true
    ) async {
        do {
            // A result's reply is encoded while the store writes the final state, and sent once it is
            // stored (and only if what was stored is what was encoded).
            let early: Task<(ScanSession, [[UInt8]])?, Never>? =
                withResult
                ? Task {
                    guard let s = try? await manager.waitForFinalState(id), s.status.isFinal,
                        let body = SessionResultReply(s, withSession: true),
                        let bytes = try? ReplyCodec.ok(body, envelope: envelope, requestId: requestId)
                    else { return nil }
                    return (s, bytes)
                } : nil
            guard let s = try await manager.waitForEnd(id) else {
                early?.cancel()
                await reply(
                    ReplyCodec.error(
                        ProtocolError(.busy, "the service is shutting down; session '\(id)' resumes when it restarts"),
                        envelope: envelope,
                        requestId: requestId
                    )
                )
                return
            }
            if let (encoded, bytes) = await early?.value, encoded.id == s.id, encoded.status == s.status,
                encoded.finishedAt == s.finishedAt, encoded.progress == s.progress
            {
                await reply(bytes)
            } else if withResult, let body = SessionResultReply(s, withSession: true) {
                try await ok(body, envelope, requestId)
            } else {
                try await ok(SessionReply(session: SessionDocument(s)), envelope, requestId)
            }
        } catch {
            await reply(
                ReplyCodec.error(
                    ProtocolError(.busy, "could not read session '\(id)': \(error)"),
                    envelope: envelope,
                    requestId: requestId
                )
            )
        }
    }
}
