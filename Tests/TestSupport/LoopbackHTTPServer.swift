import Dispatch
import Foundation
import Glibc
import Synchronization

/// A tiny HTTP/1.1 server on 127.0.0.1 for tests that need a real service to talk to: each
/// request (head, then a Content-Length body) goes to `handler`, whose reply is sent with
/// `Connection: close`. Connections are served one at a time on a background thread until `stop()`.
public final class LoopbackHTTPServer: Sendable {
    public struct Request: Sendable {
        public var method: String
        public var target: String
        /// Field names lowercased.
        public var fields: [String: String]
        public var body: [UInt8]
    }

    public struct Reply: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var contentType: String
        public init(status: Int, body: [UInt8] = [], contentType: String = "application/json") {
            self.status = status; self.body = body; self.contentType = contentType
        }
        public init(status: Int, json: String) { self.init(status: status, body: Array(json.utf8)) }
    }

    public let port: UInt16
    private let fd: Int32
    private let handler: @Sendable (Request) -> Reply
    private let served = Mutex<[Request]>([])
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// `http://127.0.0.1:PORT`.
    public var url: String { "http://127.0.0.1:\(port)" }
    /// Every request handled so far, in order.
    public var requests: [Request] { served.withLock { $0 } }

    /// nil when no loopback socket could be bound.
    public init?(handler: @escaping @Sendable (Request) -> Reply) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        guard bound else { close(fd); return nil }
        self.fd = fd
        self.port = UInt16(bigEndian: a.sin_port)
        self.handler = handler
        // A thread of its own: a blocked Dispatch worker would starve other servers on a 2-core machine.
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// Stops accepting and closes the socket (idempotent).
    public func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        finished.wait()
        close(fd)
    }

    private func serve() {
        defer { finished.signal() }
        while !stopping.load(ordering: .relaxed) {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) > 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var request: Request?
        while request == nil {
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            bytes += chunk[0..<n]
            request = Self.parse(bytes)
        }
        guard let request else { return }
        served.withLock { $0.append(request) }
        let reply = handler(request)
        let head = "HTTP/1.1 \(reply.status) Reply\r\nContent-Type: \(reply.contentType)\r\n"
            + "Content-Length: \(reply.body.count)\r\nConnection: close\r\n\r\n"
        let out = Array(head.utf8) + reply.body
        var offset = 0
        while offset < out.count {
            let n = out.withUnsafeBytes { send(client, $0.baseAddress.map { $0 + offset }, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// The request once its head and whole body have arrived; nil while more is needed.
    static func parse(_ bytes: [UInt8]) -> Request? {
        let crlf2: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.indices.dropLast(3).first(where: { Array(bytes[$0..<$0 + 4]) == crlf2 }) else { return nil }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let start = lines.first?.split(separator: " ") ?? []
        guard start.count >= 2 else { return nil }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingPrefix(" ").description
        }
        let length = fields["content-length"].flatMap { Int($0) } ?? 0
        let bodyStart = end + 4
        guard length >= 0, bytes.count - bodyStart >= length else { return nil }
        return Request(method: String(start[0]), target: String(start[1]), fields: fields,
                       body: Array(bytes[bodyStart..<bodyStart + length]))
    }
}
