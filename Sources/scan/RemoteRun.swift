import ArgumentParser
import FormulaEngine
import Foundation
import MarketData
import ScanClient
import ScanCore
import ScanOutput
import ScanProtocol

/// `scan run --endpoint`: the scan runs on a scan-service; this process shows its progress and
/// prints its result as `--local` would.
///
/// ``SessionFollow`` does the following (events, `seq` gaps, `GET_SESSION` re-reads); Ctrl-C sends
/// `CANCEL` and the partial result is printed (exit 130); a second Ctrl-C exits at once.
extension RunCommand {
    func runRemote(_ parsed: Parsed, plan: FormulaPlan, client options: ClientOptions) async throws {
        var request = parsed.request
        if parsed.from != nil || parsed.to != nil {
            // The client does not know the service's newest stored session: a missing --to is today,
            // which selects the same bars (none lies beyond today); only the reported range differs.
            request.dateRange = try parsed.dateRange(newest: nil, newestIs: "today")
        }
        let client = try await ScanClient.connect(try await options.configuration())
        do {
            let doc = try await follow(request, on: client)
            let names = await Self.serviceNames(of: doc, from: client)
            await client.close()
            let bars = format == .html ? await Self.localStore() : nil
            try await emit(doc, names: names, columns: plan.columnNames, request: request, bars: bars)
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

    /// Starts `request`, shows its progress until it ends, and returns its result (`completed` or
    /// `cancelled`). Throws ``RemoteRunFailure`` for a failed session.
    private func follow(_ request: BatchScanRequest, on client: ScanClient) async throws -> ResultDocument {
        let session = try await client.start(request)
        let interrupts = await Interrupts.cancelling { session.cancel() }
        let bar = format == .table && ProgressBar.isAvailable ? ProgressBar() : nil
        var last = session.initial
        do {
            for try await state in session.states {
                last = state
                let p = state.progress
                bar?.update(ScanProgress(completed: p.completed, total: p.total, matchesSoFar: p.matchesSoFar))
            }
        } catch {
            interrupts.stop()
            bar?.finish()
            await session.close()
            throw error
        }
        interrupts.stop()
        bar?.finish()
        await session.close()
        guard last.scanStatus != .failed else {
            throw RemoteRunFailure(message: "scan failed: \(last.error ?? "unknown error")")
        }
        return try await client.result(session.id)
    }

    /// Symbol names for the table and CSV, from the service (`LIST_SYMBOLS`): no local copy of the
    /// store is needed. A service that cannot list (an older one) leaves the name column empty.
    static func serviceNames(of doc: ResultDocument, from client: ScanClient) async -> [String: String] {
        (try? await client.symbolNames(doc.signals.matches.map(\.symbol))) ?? [:]
    }
}

extension RunCommand {
    /// The market data at the default path ($MARKETSCAN_DB, else ./marketscan.sqlite), when there is one.
    static func localStore() async -> MarketDataStore? {
        let path = databasePath(nil)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try? await Blocking.run { try MarketDataStore.open(path: path) }
    }
}

/// A session that ended `failed` (printed as is, exit status 1).
struct RemoteRunFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
