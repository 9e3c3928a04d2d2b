import ArgumentParser
import Foundation
import ScanClient
import ScanCore

/// The options every command that talks to a scan-service shares.
struct ClientOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The scan-service's request endpoint (default: $MARKETSCAN_ENDPOINT, else tcp://127.0.0.1:5555)."
    )
    var endpoint: String?

    @Option(name: .long, help: "Seconds to wait for each reply.")
    var timeout: Double = 10

    @Option(
        name: .long,
        help: "CURVE: this client's secret certificate (from `scan keygen`; default $MARKETSCAN_CURVE_CERTIFICATE)."
    )
    var curveCertificate: String?

    @Option(name: .long, help: "CURVE: the service's public certificate or key (default $MARKETSCAN_CURVE_SERVER).")
    var curveServer: String?

    func validate() throws {
        if let endpoint, !endpoint.hasPrefix("tcp://") {
            throw ValidationError("--endpoint '\(endpoint)': expected tcp://HOST:PORT")
        }
        guard timeout > 0, timeout <= 86_400 else {
            throw ValidationError("--timeout must be a positive number of seconds, at most 86400")
        }
    }

    /// `$MARKETSCAN_ENDPOINT`, when set and not empty.
    var environmentEndpoint: String? {
        ProcessInfo.processInfo.environment["MARKETSCAN_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var resolvedEndpoint: String { endpoint ?? environmentEndpoint ?? "tcp://127.0.0.1:5555" }

    /// The client's configuration; reads the CURVE certificates (off the cooperative pool).
    func configuration(events: String? = nil) async throws -> ScanClient.Configuration {
        let (certificate, server) = (curveCertificate, curveServer)
        return ScanClient.Configuration(
            endpoint: resolvedEndpoint,
            eventsEndpoint: events,
            requestTimeout: .milliseconds(Int(timeout * 1000)),
            curve: try await Blocking.run { try ClientCurve.options(certificate: certificate, server: server) }
        )
    }
}
