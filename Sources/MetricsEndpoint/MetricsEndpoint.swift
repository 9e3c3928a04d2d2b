import Foundation
import Prometheus
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Serves a Prometheus registry over HTTP (`GET /metrics`, text format 0.0.4) on its own thread.
///
/// A minimal HTTP/1.1 responder, not a web server: one connection at a time, a bounded request read
/// (8 KB, 2 s), `Connection: close` on every answer, `404` for other paths and `405` for other methods.
/// That is all a Prometheus scraper needs, and it keeps an HTTP stack out of the service. The thread
/// blocks in `poll`/`accept`, never on Swift's cooperative pool. ``stop()`` closes the listening socket
/// and waits for the thread; call it before dropping the endpoint (the thread keeps it alive).
public final class MetricsEndpoint: Sendable {
    /// The address actually bound (the port resolved when asked for port 0).
    public let host: String
    public let port: Int

    private let listener: Int32
    private let registry: PrometheusCollectorRegistry
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    /// Binds `host:port` (IPv4 or IPv6 literal, or a name that resolves; port 0 picks a free one)
    /// and starts serving `registry`. Throws ``MetricsEndpointError`` when it cannot bind.
    public init(host: String, port: Int, registry: PrometheusCollectorRegistry) throws {
        guard (0...65_535).contains(port) else {
            throw MetricsEndpointError("metrics port \(port) is out of range (0–65535)")
        }
        let (fd, boundPort) = try Self.listen(host: host, port: port)
        self.host = host
        self.port = boundPort
        self.listener = fd
        self.registry = registry
        let thread = Thread { [self] in
            self.serve()
            self.done.signal()
        }
        thread.name = "metrics-http"
        thread.start()
    }

    /// `HOST:PORT` → host and port; IPv6 literals in brackets (`[::1]:9464`).
    public static func parse(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw MetricsEndpointError("'\(text)' is not HOST:PORT (e.g. 127.0.0.1:9464)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw MetricsEndpointError("'\(text)' is not HOST:PORT with a port from 0 to 65535")
        }
        return (host, port)
    }

    /// Stops serving and waits for the thread. Idempotent.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        done.wait()
        close(listener)
    }

    // MARK: Serving (the endpoint's own thread)

    private func serve() {
        var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        while !stopped.load(ordering: .acquiring) {
            let ready = poll(&pfd, 1, 200)
            guard ready > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        // Read until the end of the headers (a scrape has no body), at most 8 KB.
        while request.count < 8192, !request.containsHeaderEnd {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            request.append(contentsOf: buffer[0..<n])
        }
        let line = request.prefix { $0 != 0x0D && $0 != 0x0A }
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: true).map {
            String(decoding: $0, as: UTF8.self)
        }
        let response: [UInt8]
        if parts.count < 2 || !request.containsHeaderEnd {
            response = Self.response(400, "Bad Request", "a request line and headers were expected\n")
        } else if parts[0] != "GET" && parts[0] != "HEAD" {
            response = Self.response(405, "Method Not Allowed", "only GET /metrics\n", extra: "Allow: GET, HEAD\r\n")
        } else if parts[1].split(separator: "?").first != "/metrics" {
            response = Self.response(404, "Not Found", "metrics are at /metrics\n")
        } else {
            let body = registry.emitToBuffer()
            response = Self.response(
                200,
                "OK",
                parts[0] == "HEAD" ? [] : body,
                contentType: "text/plain; version=0.0.4; charset=utf-8",
                length: body.count
            )
        }
        var sent = 0
        while sent < response.count {
            let n = response.withUnsafeBytes {
                send(client, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { return }
            sent += n
        }
    }

    private static func response(
        _ code: Int,
        _ reason: String,
        _ body: String,
        extra: String = ""
    ) -> [UInt8] {
        let bytes = Array(body.utf8)
        return response(
            code,
            reason,
            bytes,
            contentType: "text/plain; charset=utf-8",
            length: bytes.count,
            extra: extra
        )
    }

    private static func response(
        _ code: Int,
        _ reason: String,
        _ body: [UInt8],
        contentType: String,
        length: Int,
        extra: String = ""
    ) -> [UInt8] {
        let head =
            "HTTP/1.1 \(code) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(length)\r\n\(extra)Connection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    // MARK: Binding

    private static func listen(host: String, port: Int) throws -> (Int32, Int) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw MetricsEndpointError(
                "cannot resolve metrics host '\(host)': \(String(cString: gai_strerror(status)))"
            )
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let a = entry {
            entry = a.pointee.ai_next
            let fd = socket(
                a.pointee.ai_family,
                a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                a.pointee.ai_protocol
            )
            guard fd >= 0 else { continue }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard bind(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0, Glibc.listen(fd, 16) == 0 else {
                lastError = String(cString: strerror(errno))
                close(fd)
                continue
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let bound = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard bound == 0 else {
                close(fd)
                continue
            }
            let family = Int32(storage.ss_family)
            let boundPort: Int = withUnsafePointer(to: &storage) { p in
                if family == AF_INET6 {
                    return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        Int(UInt16(bigEndian: $0.pointee.sin6_port))
                    }
                }
                return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin_port))
                }
            }
            return (fd, boundPort)
        }
        throw MetricsEndpointError("cannot listen for metrics on \(host):\(port): \(lastError)")
    }
}

/// The metrics endpoint could not be set up (a bad address, a port in use).
public struct MetricsEndpointError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Array where Element == UInt8 {
    fileprivate var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4)
        where self[i] == 0x0D && self[i + 1] == 0x0A && self[i + 2] == 0x0D && self[i + 3] == 0x0A {
            return true
        }
        return false
    }
}
