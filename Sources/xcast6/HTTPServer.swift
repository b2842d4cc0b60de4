import FoundationEssentials
import SystemSupport
import Glibc
import Xcast

/// A very small HTTP/1.1 server on its own threads, for `/metrics` and the MJPEG gateway.
/// Each connection gets a thread; a handler writes the whole answer (or streams until the client goes).
final class HTTPServer: Sendable {
    typealias Handler = @Sendable (_ path: String, _ connection: HTTPConnection) -> Void
    let fd: Int32
    let handler: Handler

    init(bind endpoint: Endpoint, handler: @escaping Handler) throws {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket", code: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = sockaddr_in6(endpoint)
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        guard rc == 0, listen(fd, 64) == 0 else {
            let e = errno
            close(fd)
            throw SocketError(call: "listen \(endpoint)", code: e)
        }
        self.fd = fd
        self.handler = handler
        let trc = BlockingThread.start(name: "http \(endpoint)") { [self] in acceptLoop() }
        guard trc == 0 else {
            close(fd)
            throw SocketError(call: "start the thread serving \(endpoint)", code: trc)
        }
    }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { if errno == EINTR { continue }; return }
            let handler = self.handler
            let rc = BlockingThread.start(name: "http client") {
                let conn = HTTPConnection(fd: c)
                defer { close(c) }
                guard let path = conn.readRequestPath() else { return }
                handler(path, conn)
            }
            if rc != 0 { close(c) }  // out of threads: this client is turned away, the listener goes on
        }
    }
}

/// One accepted connection.
final class HTTPConnection: Sendable {
    let fd: Int32
    init(fd: Int32) {
        self.fd = fd
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads the request head; returns the path of a GET (nil for anything else, after answering 405/400).
    func readRequestPath() -> String? {
        var head: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 2048)
        while head.count < 16384 {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { return nil }
            head += buf[0..<n]
            if head.count >= 4, (0...(head.count - 4)).contains(where: { head[$0] == 13 && head[$0 + 1] == 10 && head[$0 + 2] == 13 && head[$0 + 3] == 10 }) { break }
        }
        let line = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        guard line.count >= 2 else { respond(status: "400 Bad Request", type: "text/plain", body: Array("bad request\n".utf8)); return nil }
        guard line[0] == "GET" else { respond(status: "405 Method Not Allowed", type: "text/plain", body: Array("only GET\n".utf8)); return nil }
        return String(line[1])
    }

    /// Writes all of `bytes`; false when the client has gone.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    func respond(status: String, type: String, body: [UInt8], extraHeaders: String = "") {
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nCache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\n\(extraHeaders)Connection: close\r\n\r\n"
        if write(Array(head.utf8)) { write(body) }
    }
}
