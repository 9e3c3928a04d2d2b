import ArgumentParser
import Dispatch
import FormulaEngine
import Foundation
import MarketData
import ScanClient
import ScanCore
import ScanOutput
import ScanProtocol

/// `scan run --endpoint`: the scan runs on a scan-service; this process shows its progress and
/// prints its result exactly as `--local` would.
///
/// Subscribes to the session events before sending `RUN_SCAN` (without `wait`), follows the
/// session's events (a `seq` gap, or a second without events, re-reads it with `GET_SESSION`),
/// then reads the whole result with `GET_RESULT`. Ctrl-C sends `CANCEL` and prints the partial
/// result (exit 130); a second Ctrl-C exits at once.
extension RunCommand {
    func runRemote(_ parsed: Parsed, plan: FormulaPlan, endpoint: String) async throws {
        var request = parsed.request
        if parsed.from != nil || parsed.to != nil {
            // Like --local: --to defaults to the newest stored session (no stored bar lies beyond today).
            let to = parsed.to ?? CalendarDay(epochSeconds: Int64(Date().timeIntervalSince1970))
            let from = parsed.from ?? to.adding(days: -365)
            if from > to { throw ValidationError("--from \(from) is after --to \(to)") }
            request.dateRange = DateRange(from: from, to: to)
        }

        let curve = try ClientCurve.options(certificate: curveCertificate, server: curveServer)
        let client = try await ScanClient.connect(ScanClient.Configuration(endpoint: endpoint, curve: curve))
        do {
            let doc = try await RemoteRun(
                client: client,
                showProgress: parsed.format == .table && ProgressBar.isAvailable
            )
            .run(request)
            await client.close()
            let names = await Self.localNames(of: doc)
            try emit(doc, format: parsed.format, names: names, columns: plan.columnNames)
            if doc.status == ScanStatus.cancelled.rawValue { throw ExitCode(130) }
        } catch let failure as RemoteRunFailure {
            await client.close()
            Self.printError(failure.message)
            throw ExitCode.failure
        } catch {
            await client.close()
            throw error
        }
    }

    /// Symbol names for the table and CSV: the service's result carries none, so they come from a
    /// local store when one is at the default path ($MARKETSCAN_DB, else ./marketscan.sqlite);
    /// otherwise the name column stays empty.
    static func localNames(of doc: ResultDocument) async -> [String: String] {
        let path = databasePath(nil)
        guard FileManager.default.fileExists(atPath: path),
            let store = try? await Blocking.run({ try MarketDataStore.open(path: path) })
        else { return [:] }
        let symbols = Array(Set(doc.signals.matches.map(\.symbol)))
        guard let infos = try? await store.symbols(symbols) else { return [:] }
        return Dictionary(infos.map { ($0.symbol, $0.name) }, uniquingKeysWith: { a, _ in a })
    }
}

/// One remote scan: RUN_SCAN, follow, GET_RESULT.
struct RemoteRun {
    let client: ScanClient
    let showProgress: Bool
    /// Without events for this long, the session is re-read with GET_SESSION.
    var pollInterval: Duration = .seconds(1)

    enum Update: Sendable {
        case event(EventDocument)
        case tick
        case interrupt
        case cancelled(Result<SessionDocument, any Error>)
    }

    /// Runs `request` and returns its result document (`status` `completed` or `cancelled`).
    /// Throws for a failed session, a service error or a timeout.
    func run(_ request: BatchScanRequest) async throws -> ResultDocument {
        let subscription = try await client.subscribe()
        defer { Task { await subscription.close() } }
        let started = try await client.runScan(request, wait: false)
        let id = started.session.sessionId

        let (updates, sink) = AsyncStream.makeStream(of: Update.self, bufferingPolicy: .unbounded)
        let events = subscription.events
        let reader = Task {
            do {
                for try await event in events where event.sessionId == id { sink.yield(.event(event)) }
            } catch {}
        }
        let poll = pollInterval
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: poll)
                sink.yield(.tick)
            }
        }
        let interrupts = InterruptWatcher { sink.yield(.interrupt) }
        defer {
            interrupts.stop()
            reader.cancel()
            ticker.cancel()
            sink.finish()
        }

        let bar = showProgress ? ProgressBar() : nil
        var session = started.session
        var lastSeq = 0
        var quietSince = ContinuousClock.now
        var cancelling = false
        let client = self.client

        func show(_ p: ProgressDocument) {
            bar?.update(ScanProgress(completed: p.completed, total: p.total, matchesSoFar: p.matchesSoFar))
        }

        loop: for await update in updates {
            switch update {
            case .event(let e):
                quietSince = .now
                if e.seq != lastSeq + 1 {
                    session = try await client.session(id)  // missed events (or a restarted service)
                } else {
                    session.status = e.status
                    session.progress = ProgressDocument(
                        completed: e.completed,
                        total: e.total,
                        matchesSoFar: e.matchesSoFar
                    )
                    session.error = e.error
                }
                lastSeq = e.seq
                show(session.progress)
            case .tick:
                if ContinuousClock.now - quietSince >= pollInterval {
                    session = try await client.session(id)
                    show(session.progress)
                }
            case .interrupt:
                if cancelling { InterruptWatcher.exitNow() }
                cancelling = true
                Task {
                    do {
                        sink.yield(.cancelled(.success(try await client.cancel(id))))
                    } catch {
                        sink.yield(.cancelled(.failure(error)))
                    }
                }
            case .cancelled(let outcome):
                session = try outcome.get()
            }
            if session.scanStatus?.isFinal == true { break loop }
        }
        bar?.finish()

        guard session.scanStatus != .failed else {
            throw RemoteRunFailure(message: "scan failed: \(session.error ?? "unknown error")")
        }
        return try await client.result(id)
    }
}

/// A session that ended `failed` (printed as is, exit status 1).
struct RemoteRunFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Calls `handler` on each SIGINT until stopped (SIGINT is ignored meanwhile, so Ctrl-C does not kill
/// the process; ``exitNow()`` restores the default and re-raises it).
final class InterruptWatcher {
    private let source: any DispatchSourceSignal

    init(_ handler: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
    }

    func stop() { source.cancel() }

    /// Ends the process as an uncaught SIGINT would.
    static func exitNow() -> Never {
        signal(SIGINT, SIG_DFL)
        raise(SIGINT)
        exit(130)
    }
}
