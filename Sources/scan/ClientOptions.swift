import ArgumentParser
import Foundation
import ScanClient

/// The options every command that talks to a scan-service shares.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The scan-service's request endpoint (default: $MARKETSCAN_ENDPOINT, else tcp://127.0.0.1:5555).")
    var endpoint: String?

    @Option(name: .long, help: "Seconds to wait for each reply.")
    var timeout: Double = 10

    func validate() throws {
        if let endpoint, !endpoint.hasPrefix("tcp://") {
            throw ValidationError("--endpoint '\(endpoint)': expected tcp://HOST:PORT")
        }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    var resolvedEndpoint: String {
        if let endpoint { return endpoint }
        if let env = ProcessInfo.processInfo.environment["MARKETSCAN_ENDPOINT"], !env.isEmpty { return env }
        return "tcp://127.0.0.1:5555"
    }

    func configuration(events: String? = nil) -> ScanClient.Configuration {
        ScanClient.Configuration(
            endpoint: resolvedEndpoint, eventsEndpoint: events, requestTimeout: .milliseconds(Int(timeout * 1000)))
    }
}
