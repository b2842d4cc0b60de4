import CXcastLinux
import Glibc
import Xcast

/// Why a socket call failed: the call, the errno and what it means.
struct SocketError: Error, CustomStringConvertible {
    var call: String
    var code: Int32
    var description: String { "\(call): \(String(cString: strerror(code)))" }
}

/// An IPv6 UDP socket (plain file descriptor; the fast path batches with sendmmsg/recvmmsg).
final class UDPSocket: Sendable {
    let fd: Int32

    /// A socket bound to `endpoint` (port 0: any port), with large kernel buffers.
    init(bind endpoint: Endpoint?, buffers: Int32 = 8 << 20) throws {
        fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError(call: "socket", code: errno) }
        var size = buffers
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        // root may go past net.core.[rw]mem_max
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        if let endpoint {
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var a = sockaddr_in6(endpoint)
            let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            guard rc == 0 else {
                let e = errno
                close(fd)
                throw SocketError(call: "bind \(endpoint)", code: e)
            }
        }
    }

    deinit { close(fd) }

    /// Fixes the destination (the kernel then keeps the route instead of looking it up per datagram).
    func connect(_ endpoint: Endpoint) throws {
        var a = sockaddr_in6(endpoint)
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        guard rc == 0 else { throw SocketError(call: "connect \(endpoint)", code: errno) }
    }

    /// The MTU of the route to `endpoint` (IPV6_MTU on a connected throwaway socket), nil when there is none.
    static func pathMTU(to endpoint: Endpoint) -> Int? {
        guard let s = try? UDPSocket(bind: nil, buffers: 0) else { return nil }
        guard (try? s.connect(endpoint)) != nil else { return nil }
        var mtu: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(s.fd, Int32(IPPROTO_IPV6), IPV6_MTU, &mtu, &len) == 0, mtu > 0 else { return nil }
        return Int(mtu)
    }

    var localPort: UInt16 {
        var a = sockaddr_in6()
        var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: a.sin6_port)
    }

    /// Sends one datagram; returns false (and leaves errno) when the kernel refused it.
    @discardableResult
    func send(_ bytes: UnsafeRawBufferPointer, to endpoint: Endpoint) -> Bool {
        var a = sockaddr_in6(endpoint)
        let n = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        return n == bytes.count
    }

    func send(_ bytes: [UInt8], to endpoint: Endpoint) -> Bool { bytes.withUnsafeBytes { send($0, to: endpoint) } }

    /// Waits up to `timeoutMilliseconds` (−1: forever) for one datagram into `buffer`; nil on timeout.
    func receive(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int32) -> (count: Int, from: Endpoint)? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMilliseconds) > 0 else { return nil }
        var a = sockaddr_in6()
        var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let n = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &len) }
        }
        guard n >= 0 else { return nil }
        return (n, Endpoint(a))
    }
}

extension sockaddr_in6 {
    init(_ e: Endpoint) {
        self.init()
        sin6_family = sa_family_t(AF_INET6)
        sin6_port = e.port.bigEndian
        // no Array on the way: this runs once per datagram sent
        withUnsafeMutableBytes(of: &sin6_addr) { raw in
            raw.storeBytes(of: e.address.high.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: e.address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
    }
}

extension Endpoint {
    init(_ a: sockaddr_in6) {
        var addr = a.sin6_addr
        let (high, low) = withUnsafeBytes(of: &addr) { raw in
            (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)), UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        self.init(address: IPv6Address(high: high, low: low), port: UInt16(bigEndian: a.sin6_port))
    }
}

/// Datagrams queued for one sendmmsg call: each one or two iovecs (a header and a payload that
/// stay where they are) and a destination. Storage is allocated once; `flush` empties it.
final class SendBatch {
    let capacity: Int
    private let messages: UnsafeMutablePointer<xc_msg>
    private let iovecs: UnsafeMutablePointer<iovec>
    private let addresses: UnsafeMutablePointer<sockaddr_in6>
    /// Datagrams each queued message carries: 1, or a UDP GSO message's segment count.
    private let datagrams: UnsafeMutablePointer<Int>
    private(set) var count = 0
    /// Messages the kernel refused (counted, not retried).
    private(set) var failed = 0
    /// Datagrams sent (a UDP GSO message counts as the datagrams the kernel cuts it into).
    private(set) var sent = 0
    /// Messages sent (a UDP GSO message is one).
    private(set) var sentMessages = 0
    private(set) var syscalls = 0

    init(capacity: Int = 1024) {
        self.capacity = capacity
        messages = .allocate(capacity: capacity)
        iovecs = .allocate(capacity: 2 * capacity)
        addresses = .allocate(capacity: capacity)
        datagrams = .allocate(capacity: capacity)
    }

    deinit {
        messages.deallocate()
        iovecs.deallocate()
        addresses.deallocate()
        datagrams.deallocate()
    }

    var isFull: Bool { count == capacity }

    /// Queues `header` (may be empty) + `payload` for `to`. Both must stay valid until `flush`.
    func add(header: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, to: Endpoint?) {
        precondition(count < capacity)
        if let to { addresses[count] = sockaddr_in6(to) }
        var n = 0
        if let header, header.count > 0 {
            iovecs[2 * count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: header.baseAddress), iov_len: header.count)
            n = 1
        }
        iovecs[2 * count + n] = iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count)
        messages[count] = xc_msg(name: to == nil ? nil : UnsafeMutableRawPointer(addresses + count), namelen: to == nil ? 0 : UInt32(MemoryLayout<sockaddr_in6>.size),
                                 iov: iovecs + 2 * count, iovlen: n + 1, len: 0, gso_size: 0)
        datagrams[count] = 1
        count += 1
    }

    /// Queues `segments` datagrams (all `segment` octets but the last, which may be shorter), their octets
    /// in `iovecs` iovecs at `iov` (valid until `flush`), for `to` as one UDP GSO send: the kernel cuts it
    /// into one datagram per segment. One segment goes out as a plain datagram.
    func addSegmented(_ iov: UnsafeMutablePointer<iovec>, iovecs n: Int, segments: Int, segment: Int, to: Endpoint) {
        precondition(count < capacity)
        addresses[count] = sockaddr_in6(to)
        messages[count] = xc_msg(name: UnsafeMutableRawPointer(addresses + count), namelen: UInt32(MemoryLayout<sockaddr_in6>.size),
                                 iov: iov, iovlen: n, len: 0, gso_size: segments > 1 ? UInt16(clamping: segment) : 0)
        datagrams[count] = max(1, segments)
        count += 1
        if segments > 1 { hasSegmented = true }
        segmentsQueued += segments
    }
    private(set) var segmentsQueued = 0
    /// A UDP GSO message is queued (reset by `flush`).
    private(set) var hasSegmented = false

    /// Sends everything queued (several sendmmsg calls if the kernel takes part of it).
    func flush(_ socket: UDPSocket) {
        var done = 0
        while done < count {
            let n = xc_sendmmsg(socket.fd, messages + done, UInt32(count - done))
            syscalls += 1
            if n <= 0 {
                failed += 1      // the first remaining datagram is refused: count it, go on with the rest
                done += 1
            } else {
                for i in done..<(done + Int(n)) { sent += datagrams[i] }
                sentMessages += Int(n)
                done += Int(n)
            }
        }
        count = 0
        hasSegmented = false
    }
}
