import ArgumentParser
import Foundation
import ZeroMQ

/// CURVE settings of a client command: this client's secret certificate (from `scan keygen`) and
/// the service's public certificate or key. From options, else `$MARKETSCAN_CURVE_CERTIFICATE` and
/// `$MARKETSCAN_CURVE_SERVER`. Both or neither.
enum ClientCurve {
    static func options(certificate: String?, server: String?) throws -> CurveOptions? {
        let env = ProcessInfo.processInfo.environment
        let certificate = certificate ?? env["MARKETSCAN_CURVE_CERTIFICATE"].flatMap { $0.isEmpty ? nil : $0 }
        let server = server ?? env["MARKETSCAN_CURVE_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
        guard let certificate, let server else {
            if certificate != nil || server != nil {
                throw ValidationError("--curve-certificate and --curve-server go together")
            }
            return nil
        }
        let mine = try CurveCertificate.load(path: certificate)
        guard let secret = mine.secretKey else {
            throw ValidationError(
                "--curve-certificate \(certificate) has no secret-key (give the NAME.key_secret file)"
            )
        }
        let serverKey = try CurveCertificate.load(path: server).publicKey
        return CurveOptions(isServer: false, publicKey: mine.publicKey, secretKey: secret, serverKey: serverKey)
    }
}
