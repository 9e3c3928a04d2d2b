import ArgumentParser
import Foundation
import ZeroMQ

/// `scan keygen NAME`: a CURVE key pair for a service, a node or a client.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a CURVE key pair: NAME.key (public, to share) and NAME.key_secret (keep private)."
    )

    @Argument(help: "Path prefix of the two certificate files.")
    var name: String

    func run() throws {
        let certificate = try CurveCertificate.generate()
        let publicPath = name + ".key"
        let secretPath = name + ".key_secret"
        for path in [publicPath, secretPath] where FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(path) exists; not overwriting a key")
        }
        try certificate.text(includingSecret: false).write(toFile: publicPath, atomically: true, encoding: .utf8)
        guard
            FileManager.default.createFile(
                atPath: secretPath,
                contents: Data(certificate.text(includingSecret: true).utf8),
                attributes: [.posixPermissions: 0o600]
            )
        else { throw ValidationError("cannot write \(secretPath)") }
        print("public key \(certificate.publicKey)\nwrote \(publicPath) and \(secretPath)")
    }
}
