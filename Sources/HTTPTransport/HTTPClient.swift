import Dispatch
import Synchronization
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

/// A small HTTP/1.1 client (the agent's uploads, nemo's join) over a POSIX socket to an
/// `HTTPEndpoint`, IPv6 or IPv4 (whatever getaddrinfo answers, in its order). One request at a time; the connection is kept for the next
/// request when the answer allows it (HTTP/1.1, delimited body, no `Connection: close`). A kept
/// connection the server has closed meanwhile is replaced by a new one before any answer is read.
/// The blocking socket work runs on the client's own serial queue, not on the Swift concurrency
/// pool; the answer is read by `HTTPResponseParser`. Cancelling the calling task abandons the
/// exchange within a tenth of a second (`HTTPClientError.cancelled`).
public final class HTTPClient: Sendable {
    public let endpoint: HTTPEndpoint
    public let limits: HTTPResponseParser.Limits
    private let queue = DispatchQueue(label: "http-transport.client")
    /// The connection kept from the last exchange (only touched on `queue`).
    private let kept = Mutex<Int32?>(nil)

    public init(endpoint: HTTPEndpoint, limits: HTTPResponseParser.Limits = .init()) {
        self.endpoint = endpoint
        self.limits = limits
    }

    deinit {
        if let fd = kept.withLock({ $0 }) { close(fd) }
    }

    /// Sends `method target` (target: the path below `endpoint.basePath`, with its query) with
    /// `fields` (Host and Content-Length are added) and `body`; returns the answer.
    public func send(method: String, target: String, fields: [HTTPResponse.Field], body: [UInt8],
                     timeouts: HTTPTimeouts) async throws(HTTPClientError) -> HTTPResponse {
        let request = try requestBytes(method: method, target: target, fields: fields, body: body)
        let head = method == "HEAD"
        let cancelled = CancelFlag()
        let result: Result<HTTPResponse, HTTPClientError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                queue.async {
                    continuation.resume(returning: Result { () throws(HTTPClientError) in
                        try self.exchange(request, head: head, timeouts: timeouts, cancelled: cancelled)
                    })
                }
            }
        } onCancel: {
            cancelled.set()
        }
        return try result.get()
    }

    /// The request head and body as sent.
    func requestBytes(method: String, target: String, fields: [HTTPResponse.Field], body: [UInt8]) throws(HTTPClientError) -> [UInt8] {
        var all = [HTTPResponse.Field(name: "Host", value: endpoint.hostHeader)] + fields
        all.append(HTTPResponse.Field(name: "Content-Length", value: String(body.count)))
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

    private func exchange(_ request: [UInt8], head: Bool, timeouts: HTTPTimeouts, cancelled: CancelFlag) throws(HTTPClientError) -> HTTPResponse {
        let deadline = Deadline(seconds: timeouts.total, cancelled: cancelled)
        if cancelled.isSet { throw .cancelled }
        if let fd = kept.withLock({ fd in defer { fd = nil }; return fd }) {
            if Self.isIdleAndOpen(fd),
               case .response(let response) = try exchange(on: fd, reused: true, request, head: head, timeouts: timeouts, deadline: deadline) {
                return response
            }
            // Closed by the server while idle (or closed under the request): a new connection.
        }
        let fd = try connect(timeout: timeouts.connect, deadline: deadline)
        switch try exchange(on: fd, reused: false, request, head: head, timeouts: timeouts, deadline: deadline) {
        case .response(let response): return response
        case .stale: throw .badResponse(.prematureEnd(part: .statusLine, received: 0, expected: nil))
        }
    }

    enum Outcome {
        case response(HTTPResponse)
        /// A kept connection that was closed before any byte of the answer (only when `reused`).
        case stale
    }

    /// One request and its answer on `fd`; keeps `fd` for the next exchange when the answer allows
    /// it, closes it otherwise.
    private func exchange(on fd: Int32, reused: Bool, _ request: [UInt8], head: Bool, timeouts: HTTPTimeouts,
                          deadline: Deadline) throws(HTTPClientError) -> Outcome {
        var keep = false
        defer {
            if keep { kept.withLock { $0 = fd } } else { close(fd) }
        }
        do {
            try writeAll(fd, request, idle: timeouts.idle, deadline: deadline)
        } catch {
            if reused, case .socket = error { return .stale }
            throw error
        }
        var parser = HTTPResponseParser(limits: limits, headRequest: head)
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var receivedAny = false
        while true {
            try wait(fd, for: Int16(POLLIN), phase: .receive, limit: timeouts.idle, deadline: deadline)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN || code == EWOULDBLOCK { continue }
                if reused && !receivedAny && (code == ECONNRESET || code == EPIPE) { return .stale }
                throw .socket(phase: .receive, errno: code)
            }
            if n == 0 && reused && !receivedAny { return .stale }
            receivedAny = true
            do {
                if n == 0 { return .response(try parser.endOfStream()) }
                if let response = try parser.parse(chunk[0..<n]) {
                    keep = parser.connectionReusable
                    return .response(response)
                }
            } catch {
                throw .badResponse(error)
            }
        }
    }

    /// A kept connection with nothing to read (data or EOF now would mean it is no longer usable).
    static func isIdleAndOpen(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0
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

    /// Waits until `fd` is ready for `events`, at most `limit` seconds and not past `deadline`;
    /// looks at the deadline's cancel flag every tenth of a second.
    private func wait(_ fd: Int32, for events: Int16, phase: HTTPClientError.Phase, limit: Double,
                      deadline: Deadline) throws(HTTPClientError) {
        let idle = Deadline(seconds: limit, cancelled: deadline.cancelled)
        while true {
            if deadline.cancelled.isSet { throw .cancelled }
            let idleLeft = idle.remaining, totalLeft = deadline.remaining
            let left = min(idleLeft, totalLeft)
            guard left > 0 else { throw .timedOut(phase: phase, seconds: idleLeft <= totalLeft ? idle.seconds : deadline.seconds) }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&p, 1, Int32((min(left, 0.1) * 1000).rounded(.up)))
            if ready > 0 { return }
            if ready == 0 { continue }
            let code = errno
            guard code == EINTR else { throw .socket(phase: phase, errno: code) }
        }
    }
}

/// Set when the task that asked for an exchange is cancelled; read by the socket loop.
final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

/// A point on the monotonic clock by which an exchange must be over.
struct Deadline {
    let seconds: Double
    let cancelled: CancelFlag
    private let end: ContinuousClock.Instant

    init(seconds: Double, cancelled: CancelFlag) {
        self.cancelled = cancelled
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
