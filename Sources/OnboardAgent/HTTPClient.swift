import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// How long an exchange may wait. Every wait is bounded by `idle` (by `connect` while connecting)
/// and by what is left of `total`.
public struct HTTPTimeouts: Sendable, Hashable {
    public var connect: Double
    public var idle: Double
    public var total: Double
    public init(connect: Double = 15, idle: Double = 15, total: Double = 60) {
        self.connect = connect; self.idle = idle; self.total = total
    }
}

/// The agent's HTTP/1.1 client: one request per connection (`Connection: close`) over a POSIX
/// socket to an `HTTPEndpoint`, IPv6 or IPv4 (whatever getaddrinfo answers, in its order).
/// The blocking socket work runs on the client's own serial queue, not on the Swift concurrency
/// pool; the answer is read by `HTTPResponseParser`.
public final class HTTPClient: Sendable {
    public let endpoint: HTTPEndpoint
    public let limits: HTTPResponseParser.Limits
    private let queue = DispatchQueue(label: "monnemo-agent.http")

    public init(endpoint: HTTPEndpoint, limits: HTTPResponseParser.Limits = .init()) {
        self.endpoint = endpoint
        self.limits = limits
    }

    /// Sends `method target` (target: the path below `endpoint.basePath`, with its query) with
    /// `fields` (Host, Content-Length and Connection are added) and `body`; returns the answer.
    public func send(method: String, target: String, fields: [HTTPResponse.Field], body: [UInt8],
                     timeouts: HTTPTimeouts) async throws(HTTPClientError) -> HTTPResponse {
        let request = try requestBytes(method: method, target: target, fields: fields, body: body)
        let head = method == "HEAD"
        let result: Result<HTTPResponse, HTTPClientError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Result { () throws(HTTPClientError) in
                    try self.exchange(request, head: head, timeouts: timeouts)
                })
            }
        }
        return try result.get()
    }

    /// The request head and body as sent.
    func requestBytes(method: String, target: String, fields: [HTTPResponse.Field], body: [UInt8]) throws(HTTPClientError) -> [UInt8] {
        var all = [HTTPResponse.Field(name: "Host", value: endpoint.hostHeader)] + fields
        all.append(HTTPResponse.Field(name: "Content-Length", value: String(body.count)))
        all.append(HTTPResponse.Field(name: "Connection", value: "close"))
        var head = "\(method) \(endpoint.basePath)\(target) HTTP/1.1\r\n"
        for field in all {
            guard !field.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw .invalidFieldValue(name: field.name)
            }
            head += "\(field.name): \(field.value)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    // MARK: - Blocking socket work (on `queue`)

    private func exchange(_ request: [UInt8], head: Bool, timeouts: HTTPTimeouts) throws(HTTPClientError) -> HTTPResponse {
        let deadline = Deadline(seconds: timeouts.total)
        let fd = try connect(timeout: timeouts.connect, deadline: deadline)
        defer { close(fd) }
        try writeAll(fd, request, idle: timeouts.idle, deadline: deadline)
        var parser = HTTPResponseParser(limits: limits, headRequest: head)
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            try wait(fd, for: Int16(POLLIN), phase: .receive, limit: timeouts.idle, deadline: deadline)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN || code == EWOULDBLOCK { continue }
                throw .socket(phase: .receive, errno: code)
            }
            do {
                if n == 0 { return try parser.endOfStream() }
                if let response = try parser.parse(chunk[0..<n]) { return response }
            } catch {
                throw .badResponse(error)
            }
        }
    }

    /// A connected non-blocking socket to the first address that accepts.
    private func connect(timeout: Double, deadline: Deadline) throws(HTTPClientError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard rc == 0 else {
            let message = gai_strerror(rc).map { String(cString: $0) } ?? "error \(rc)"
            throw .resolution(host: endpoint.host, code: rc, message: message)
        }
        defer { freeaddrinfo(list) }
        var failure = HTTPClientError.connectFailed(host: endpoint.host, port: endpoint.port, errno: EADDRNOTAVAIL)
        var next = list
        while let info = next {
            next = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                            info.pointee.ai_protocol)
            guard fd >= 0 else {
                failure = .connectFailed(host: endpoint.host, port: endpoint.port, errno: errno)
                continue
            }
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
            var code = errno
            if code == EINPROGRESS || code == EINTR {
                do {
                    try wait(fd, for: Int16(POLLOUT), phase: .connect, limit: timeout, deadline: deadline)
                    var soError: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    code = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) == 0 ? soError : errno
                    if code == 0 { return fd }
                } catch {
                    close(fd)
                    failure = error
                    // The whole exchange is out of time: no other address would get any.
                    if deadline.remaining <= 0 { throw failure }
                    continue
                }
            }
            close(fd)
            failure = .connectFailed(host: endpoint.host, port: endpoint.port, errno: code)
        }
        throw failure
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8], idle: Double, deadline: Deadline) throws(HTTPClientError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n >= 0 {
                offset += n
                continue
            }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw .socket(phase: .send, errno: code) }
            try wait(fd, for: Int16(POLLOUT), phase: .send, limit: idle, deadline: deadline)
        }
    }

    /// Waits until `fd` is ready for `events`, at most `limit` seconds and not past `deadline`.
    private func wait(_ fd: Int32, for events: Int16, phase: HTTPClientError.Phase, limit: Double,
                      deadline: Deadline) throws(HTTPClientError) {
        while true {
            let left = deadline.remaining
            let idleBound = Deadline.sane(limit) <= left
            let span = min(Deadline.sane(limit), left)
            guard span > 0 else { throw .timedOut(phase: phase, seconds: idleBound ? limit : deadline.seconds) }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&p, 1, Int32((span * 1000).rounded(.up)))
            if ready > 0 { return }
            if ready == 0 { throw .timedOut(phase: phase, seconds: idleBound ? limit : deadline.seconds) }
            let code = errno
            guard code == EINTR else { throw .socket(phase: phase, errno: code) }
        }
    }
}

/// A point on the monotonic clock by which an exchange must be over.
struct Deadline {
    let seconds: Double
    private let end: ContinuousClock.Instant

    init(seconds: Double) {
        self.seconds = Self.sane(seconds)
        end = ContinuousClock.now + .milliseconds(Int64((self.seconds * 1000).rounded(.up)))
    }

    /// Seconds left (negative once passed).
    var remaining: Double {
        let d = end - ContinuousClock.now
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// A limit poll and Duration can take: finite, 0…one week (NaN counts as 0).
    static func sane(_ seconds: Double) -> Double {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return min(seconds, 7 * 86_400)
    }
}
