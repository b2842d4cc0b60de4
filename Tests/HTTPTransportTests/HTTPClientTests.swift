import Foundation
import Glibc
import Synchronization
import Testing
@testable import HTTPTransport

/// A TCP server on a loopback address. Each connection: reads a request, answers with the next of
/// `replies` (or, after `silence` seconds, with nothing more), and goes on reading on the same
/// connection unless `closeAfterEach`; connections are served one after the other.
final class OneShotServer: Sendable {
    let port: UInt16
    private let fd: Int32
    private let received = Mutex<[[UInt8]]>([])
    private let accepted = Mutex<Int>(0)

    convenience init?(family: Int32, reply: [UInt8], silence: Double = 0) {
        self.init(family: family, replies: [reply], closeAfterEach: true, silence: silence)
    }

    init?(family: Int32, replies: [[UInt8]], closeAfterEach: Bool, silence: Double = 0) {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var port: UInt16 = 0
        if family == AF_INET6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_addr = in6addr_loopback
            let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            guard ok == 0, listen(fd, 4) == 0 else { close(fd); return nil }
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            port = UInt16(bigEndian: a.sin6_port)
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard ok == 0, listen(fd, 4) == 0 else { close(fd); return nil }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            port = UInt16(bigEndian: a.sin_port)
        }
        self.fd = fd
        self.port = port
        let thread = Thread { [self] in
            var replies = replies
            while !replies.isEmpty {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                accepted.withLock { $0 += 1 }
                var pending: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 4096)
                serving: while !replies.isEmpty {
                    while Self.requestLength(pending) == nil {
                        let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                        if n <= 0 { break serving }
                        pending += chunk[0..<n]
                    }
                    let length = Self.requestLength(pending) ?? pending.count
                    received.withLock { $0.append(Array(pending.prefix(length))) }
                    pending.removeFirst(length)
                    if silence > 0 { usleep(UInt32(silence * 1_000_000)) }
                    let reply = replies.removeFirst()
                    _ = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if closeAfterEach { break }
                }
                close(client)
            }
        }
        thread.start()
    }

    deinit { close(fd) }

    var request: String { String(decoding: received.withLock { $0.first ?? [] }, as: UTF8.self) }
    var requests: Int { received.withLock { $0.count } }
    var connections: Int { accepted.withLock { $0 } }

    /// The length of the first complete request (head and Content-Length body), nil before it is all there.
    static func requestLength(_ bytes: [UInt8]) -> Int? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let headLength = text[..<end.upperBound].utf8.count
        let head = text[..<end.lowerBound].lowercased()
        let length = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") })
            .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
        return bytes.count >= headLength + length ? headLength + length : nil
    }
}

struct HTTPClientTests {
    static let answer = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n".utf8)

    @Test("a POST over IPv4 and IPv6: request line, Host, length, close; a chunked answer", arguments: [AF_INET, AF_INET6])
    func roundTrip(_ family: Int32) async throws {
        let server = try #require(OneShotServer(family: family, reply: Self.answer))
        let host = family == AF_INET6 ? "[::1]" : "127.0.0.1"
        let client = HTTPClient(endpoint: try HTTPEndpoint(url: "http://\(host):\(server.port)/base/"))
        let response = try await client.send(method: "POST", target: "/api/v1/telemetry?x=1",
                                             fields: [.init(name: "Content-Type", value: "application/json")],
                                             body: Array("{}".utf8), timeouts: HTTPTimeouts(connect: 5, idle: 5, total: 10))
        #expect(response.status == 200 && String(decoding: response.body, as: UTF8.self) == "{\"a\":1}")
        let request = server.request
        #expect(request.hasPrefix("POST /base/api/v1/telemetry?x=1 HTTP/1.1\r\nHost: \(host):\(server.port)\r\n"))
        #expect(request.contains("\r\nContent-Type: application/json\r\n"))
        #expect(request.hasSuffix("\r\nContent-Length: 2\r\n\r\n{}"))
    }

    @Test("a kept connection carries the next request; one the server closed is replaced")
    func keepAlive() async throws {
        let ok = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        let timeouts = HTTPTimeouts(connect: 5, idle: 5, total: 10)
        let keeping = try #require(OneShotServer(family: AF_INET, replies: [ok, ok, ok], closeAfterEach: false))
        let client = HTTPClient(endpoint: HTTPEndpoint(host: "127.0.0.1", port: keeping.port))
        for _ in 0..<3 {
            #expect(try await client.send(method: "POST", target: "/", fields: [], body: [1, 2, 3], timeouts: timeouts).body == Array("ok".utf8))
        }
        #expect(keeping.requests == 3 && keeping.connections == 1)

        let closing = try #require(OneShotServer(family: AF_INET, replies: [ok, ok], closeAfterEach: true))
        let again = HTTPClient(endpoint: HTTPEndpoint(host: "127.0.0.1", port: closing.port))
        for _ in 0..<2 {
            #expect(try await again.send(method: "POST", target: "/", fields: [], body: [], timeouts: timeouts).status == 200)
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(closing.requests == 2 && closing.connections == 2)
    }

    @Test("a server that never answers is a receive timeout; a closed port is refused")
    func failures() async throws {
        let server = try #require(OneShotServer(family: AF_INET, reply: Self.answer, silence: 3))
        let client = HTTPClient(endpoint: HTTPEndpoint(host: "127.0.0.1", port: server.port))
        await #expect(throws: HTTPClientError.timedOut(phase: .receive, seconds: 1)) {
            try await client.send(method: "GET", target: "/", fields: [], body: [], timeouts: HTTPTimeouts(connect: 1, idle: 1, total: 5))
        }
        // Port 9 (discard) on loopback: nothing listens in the test environment.
        let refused = HTTPClient(endpoint: HTTPEndpoint(host: "127.0.0.1", port: 9))
        await #expect(throws: HTTPClientError.connectFailed(host: "127.0.0.1", port: 9, errno: ECONNREFUSED)) {
            try await refused.send(method: "GET", target: "/", fields: [], body: [], timeouts: HTTPTimeouts(connect: 1, idle: 1, total: 5))
        }
        // A token with a line break would split the request.
        await #expect(throws: HTTPClientError.invalidFieldValue(name: "Authorization")) {
            try await refused.send(method: "GET", target: "/", fields: [.init(name: "Authorization", value: "Bearer a\r\nX: y")], body: [],
                                   timeouts: HTTPTimeouts())
        }
    }

    /// The server answers after 3 s, within every timeout: a client that ignored the cancellation
    /// would return that answer. (How fast it gives up is not timed here: a loaded 2-core machine
    /// running every suite at once can delay any thread by seconds; the 0.1 s poll is in the code.)
    @Test("cancelling the asking task abandons the exchange: the answer is not waited for")
    func cancellation() async throws {
        let server = try #require(OneShotServer(family: AF_INET, reply: Self.answer, silence: 3))
        let client = HTTPClient(endpoint: HTTPEndpoint(host: "127.0.0.1", port: server.port))
        let task = Task {
            try await client.send(method: "GET", target: "/", fields: [], body: [], timeouts: HTTPTimeouts(connect: 10, idle: 10, total: 10))
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        await #expect(throws: HTTPClientError.cancelled) { try await task.value }
    }

    @Test("server URLs: https is refused with what to do instead; hosts, ports and paths")
    func endpoints() throws {
        #expect(throws: HTTPClientError.tlsNotSupported(url: "https://map.example.org")) { try HTTPEndpoint(url: "https://map.example.org") }
        let tls = HTTPClientError.tlsNotSupported(url: "https://map.example.org").description
        #expect(tls.contains("not supported") && tls.contains("TLS-terminating proxy") && tls.contains("http://"))
        #expect(try HTTPEndpoint(url: "http://map.example:8080") == HTTPEndpoint(host: "map.example", port: 8080))
        #expect(try HTTPEndpoint(url: "HTTP://[::1]:81/x/") == HTTPEndpoint(host: "::1", port: 81, basePath: "/x"))
        #expect(try HTTPEndpoint(url: "http://[::1]:81/x/").hostHeader == "[::1]:81")
        #expect(try HTTPEndpoint(url: "http://a.example/").hostHeader == "a.example")
        for bad in ["ftp://a", "http://", "http://a:0", "http://a:65536", "http://a:99999999999999999999", "http://u@a", "http://a/?q", "map.example", "http://[::1"] {
            #expect(throws: HTTPClientError.self, "\(bad)") { try HTTPEndpoint(url: bad) }
        }
    }
}
