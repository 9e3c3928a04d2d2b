import Foundation

/// A CURVE key pair (or a public key alone) kept in a file, in ZeroMQ's certificate layout
/// (`zcert`): a `curve` section with `public-key = "…"` and, in the secret file, `secret-key = "…"`.
///
/// A value type: any thread may use it.
public struct CurveCertificate: Sendable, Hashable {
    /// Z85 text, 40 characters.
    public var publicKey: String
    /// Z85 text, 40 characters; `nil` for a public certificate.
    public var secretKey: String?

    public init(publicKey: String, secretKey: String? = nil) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A new key pair (`zmq_curve_keypair`).
    public static func generate() throws -> CurveCertificate {
        let pair = try Curve.keyPair()
        return CurveCertificate(publicKey: pair.publicKey, secretKey: pair.secretKey)
    }

    /// Errors reading a certificate.
    public struct FormatError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Reads a certificate file; also accepts a file holding just the 40-character public key.
    public static func load(path: String) throws -> CurveCertificate {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw FormatError(description: "\(path): cannot read the certificate (\(error.localizedDescription))")
        }
        return try parse(text, source: path)
    }

    /// Parses certificate text (see ``load(path:)``).
    public static func parse(_ text: String, source: String = "certificate") throws -> CurveCertificate {
        var publicKey: String?
        var secretKey: String?
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        if lines.count == 1, lines[0].utf8.count == 40 {
            publicKey = lines[0]  // a bare public key
        } else {
            for line in lines {
                // `=` is also a Z85 digit: split at the first one only.
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                let value = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                switch parts[0] {
                case "public-key": publicKey = value
                case "secret-key": secretKey = value
                default: continue
                }
            }
        }
        guard let publicKey else { throw FormatError(description: "\(source): no public-key") }
        for (name, key) in [("public-key", publicKey), ("secret-key", secretKey)] {
            guard let key else { continue }
            guard key.utf8.count == 40, Z85.decode(key)?.count == 32 else {
                throw FormatError(description: "\(source): \(name) is not 40 characters of Z85")
            }
        }
        return CurveCertificate(publicKey: publicKey, secretKey: secretKey)
    }

    /// The certificate text; with `includingSecret` the secret key too (keep that file private).
    public func text(includingSecret: Bool) -> String {
        var s = "#   ZeroMQ CURVE certificate (MarketScan)\n"
        if includingSecret { s += "#   THIS FILE HOLDS A SECRET KEY: keep it private\n" }
        s += "metadata\ncurve\n    public-key = \"\(publicKey)\"\n"
        if includingSecret, let secretKey { s += "    secret-key = \"\(secretKey)\"\n" }
        return s
    }
}

/// Who may connect to a socket of a CURVE server: each role has its own ZAP domain and allow-list.
public enum CurveRole: String, Sendable, Hashable, CaseIterable {
    /// Clients and dashboards (the service's api and events sockets).
    case client
    /// Engine nodes (the jobs, results and control sockets).
    case node

    /// The ZAP domain of the role's sockets.
    public var domain: String { "marketscan.\(rawValue)" }
}

/// CURVE settings of a server whose peers must be on an allow-list, one per ``CurveRole``: every
/// socket it binds is a CURVE server in its role's ZAP domain, and a ``ZAPAuthenticator`` on its
/// context accepts on each socket only the keys allowed for that socket's role — a client key
/// cannot connect to a node socket, nor a node key to a client socket.
public struct CurveServerSecurity: Sendable, Hashable {
    public var certificate: CurveCertificate
    /// Keys allowed on the client sockets (api, events).
    public var allowedClientKeys: Set<String>
    /// Keys allowed on the node sockets (jobs, results, control).
    public var allowedNodeKeys: Set<String>

    public init(certificate: CurveCertificate, allowedClientKeys: Set<String>, allowedNodeKeys: Set<String>) {
        self.certificate = certificate
        self.allowedClientKeys = allowedClientKeys
        self.allowedNodeKeys = allowedNodeKeys
    }

    /// The allow-list of each ZAP domain (what the ``ZAPAuthenticator`` is given).
    public var allowedKeysByDomain: [String: Set<String>] {
        [CurveRole.client.domain: allowedClientKeys, CurveRole.node.domain: allowedNodeKeys]
    }

    /// Makes `options` those of a CURVE server socket for `role`.
    public func apply(to options: inout SocketOptions, role: CurveRole) {
        options.curve = CurveOptions(
            isServer: true,
            publicKey: certificate.publicKey,
            secretKey: certificate.secretKey ?? ""
        )
        options.zapDomain = role.domain
    }
}

/// CURVE settings of a client: its own key pair and the server's public key.
public struct CurveClientSecurity: Sendable, Hashable {
    public var certificate: CurveCertificate
    public var serverKey: String

    public init(certificate: CurveCertificate, serverKey: String) {
        self.certificate = certificate
        self.serverKey = serverKey
    }

    /// Makes `options` those of a CURVE client socket.
    public func apply(to options: inout SocketOptions) {
        options.curve = CurveOptions(
            isServer: false,
            publicKey: certificate.publicKey,
            secretKey: certificate.secretKey ?? "",
            serverKey: serverKey
        )
    }
}
