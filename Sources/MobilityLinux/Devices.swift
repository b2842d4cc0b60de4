import CNemoLinux
import Glibc
import Mobility
import Synchronization
import Timekeeping

/// Linux socket type values (<bits/socket_type.h>); Glibc's import of them differs between
/// build configurations when Foundation is also imported, so they are spelt out once here.
enum SocketType {
    static let stream: Int32 = 1
    static let datagram: Int32 = 2
    static let raw: Int32 = 3
    static let closeOnExec: Int32 = 0o2000000
}

/// Fills a sockaddr_storage for a transport address; IPv4 goes in mapped form on an IPv6 socket.
func socketAddress(_ t: TransportAddress, ipv6Socket: Bool) -> (sockaddr_storage, socklen_t) {
    var storage = sockaddr_storage()
    switch (t.address, ipv6Socket) {
    case (.v4(let a), false):
        withUnsafeMutableBytes(of: &storage) { raw in
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = t.port.bigEndian
            sin.sin_addr.s_addr = a.value.bigEndian
            raw.storeBytes(of: sin, as: sockaddr_in.self)
        }
        return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
    default:
        let a = t.address.asIPv6
        withUnsafeMutableBytes(of: &storage) { raw in
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = t.port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { dst in
                for (i, b) in a.octets.enumerated() { dst[i] = b }
            }
            raw.storeBytes(of: sin6, as: sockaddr_in6.self)
        }
        return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
    }
}

func transportAddress(_ storage: sockaddr_storage) -> TransportAddress? {
    withUnsafeBytes(of: storage) { raw in
        switch Int32(raw.load(as: sa_family_t.self)) {
        case AF_INET6:
            let sin6 = raw.load(as: sockaddr_in6.self)
            let octets = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
            return TransportAddress(address: .v6(IPv6Address(octets: octets)!), port: UInt16(bigEndian: sin6.sin6_port))
        case AF_INET:
            let sin = raw.load(as: sockaddr_in.self)
            return TransportAddress(address: .v4(IPv4Address(value: UInt32(bigEndian: sin.sin_addr.s_addr))), port: UInt16(bigEndian: sin.sin_port))
        default:
            return nil
        }
    }
}

/// A UDP socket, optionally tied to one interface (SO_BINDTODEVICE) so its packets leave by
/// that uplink whatever the routing table says.
public final class UDPSocket: Sendable {
    public let fd: Int32
    public let isIPv6: Bool
    private let segmentationOffloadWorks = Atomic(true)

    /// Whether UDP_SEGMENT sends still work here (cleared at the first refusal). Atomic: the receive
    /// loop and the TUN loop send on the same socket.
    var segmentationOffload: Bool {
        get { segmentationOffloadWorks.load(ordering: .relaxed) }
        set { segmentationOffloadWorks.store(newValue, ordering: .relaxed) }
    }

    /// Binds to `address` (nil = any, dual-stack) and `port` (0 = ephemeral).
    /// `coalescedReceive` turns on UDP GRO: read such a socket with `receiveDatagrams`, never `receive`.
    public init(address: IPAddress?, port: UInt16, device: String? = nil, coalescedReceive: Bool = false) throws {
        if case .v4 = address { isIPv6 = false } else { isIPv6 = true }
        fd = socket(isIPv6 ? AF_INET6 : AF_INET, SocketType.datagram | SocketType.closeOnExec, 0)
        guard fd >= 0 else { throw SystemError("udp socket") }
        var one: Int32 = 1
        var zero: Int32 = 0
        if isIPv6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size)) }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        if let device {
            let rc = device.withCString { setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(strlen($0) + 1)) }
            guard rc == 0 else {
                close(fd)
                throw SystemError("bind udp socket to device \(device)")
            }
        }
        // Several datagrams of one flow per receive; harmless where the kernel lacks it.
        if coalescedReceive { _ = nemo_udp_enable_gro(fd) }
        let bindAddress = TransportAddress(address: address ?? .v6(.unspecified), port: port)
        var (storage, len) = socketAddress(bindAddress, ipv6Socket: isIPv6)
        let rc = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard rc == 0 else {
            let e = SystemError("bind udp \(bindAddress)")
            close(fd)
            throw e
        }
    }

    deinit { close(fd) }

    /// The bound port.
    public var localPort: UInt16 {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return transportAddress(storage)?.port ?? 0
    }

    /// Sends one datagram; false when the kernel refused it.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, to destination: TransportAddress) -> Bool {
        var (storage, len) = socketAddress(destination, ipv6Socket: isIPv6)
        let n = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(fd, bytes.baseAddress, bytes.count, 0, $0, len)
        } }
        return n == bytes.count
    }

    @discardableResult
    public func send(_ bytes: [UInt8], to destination: TransportAddress) -> Bool {
        bytes.withUnsafeBytes { send($0, to: destination) }
    }

    /// Receives one datagram (blocking unless `dontWait`); nil on EAGAIN or error.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, dontWait: Bool = false) -> (Int, TransportAddress)? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let n = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            recvfrom(fd, buffer.baseAddress, buffer.count, dontWait ? Int32(MSG_DONTWAIT) : 0, $0, &len)
        } }
        guard n >= 0, let from = transportAddress(storage) else { return nil }
        return (n, from)
    }
}

/// A TUN interface (layer 3, no packet information header). With `offloads` it is opened with
/// IFF_VNET_HDR and TSO6 + checksum offload, so the kernel hands its reader unsegmented TCP
/// super-packets (see `TunReader`) and every frame carries a `virtio_net_hdr`.
public final class TunDevice: Sendable {
    public let fd: Int32
    public let name: String
    /// Frames start with a `virtio_net_hdr`.
    public let hasVirtioHeader: Bool
    private static let noOffloadHeader = [UInt8](repeating: 0, count: VirtioNetHeader.size)

    public init(name: String, offloads: Bool = true) throws {
        var actual = [CChar](repeating: 0, count: 32)
        var fd = offloads ? nemo_tun_open(name, &actual, 1) : -1
        if fd >= 0, nemo_tun_set_offload(fd, UInt32(NEMO_TUN_F_CSUM | NEMO_TUN_F_TSO6)) != 0 {
            close(fd)
            fd = -1
        }
        hasVirtioHeader = fd >= 0
        if fd < 0 { fd = nemo_tun_open(name, &actual, 0) }
        guard fd >= 0 else { throw SystemError("open TUN \(name) (is /dev/net/tun there and are we root?)") }
        self.fd = fd
        self.name = String(decoding: actual.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { close(fd) }

    /// Writes one complete packet (checksums done), behind an all-zero `virtio_net_hdr` if the
    /// device has them.
    @discardableResult
    public func write(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard hasVirtioHeader else { return Glibc.write(fd, packet.baseAddress, packet.count) == packet.count }
        return TunDevice.noOffloadHeader.withUnsafeBytes { header in
            withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2) { parts in
                parts[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: header.baseAddress), iov_len: header.count)
                parts[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: packet.baseAddress), iov_len: packet.count)
                return writev(fd, parts.baseAddress, 2) == header.count + packet.count
            }
        }
    }
}

/// How long a daemon's `poll` may wait when its core's next timer falls at `deadline`: until
/// just after it, one second at most (also when there is none).
func pollTimeout(until deadline: Instant?, now: Instant) -> Int32 {
    deadline.map { ($0 - now).milliseconds(clampedTo: 0...999) + 1 } ?? 1000
}

/// Waits until one of `fds` is readable or `timeout` passes; returns the readable ones.
func waitReadable(_ fds: [Int32], timeoutMilliseconds: Int32) -> [Int32] {
    var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let rc = poll(&polls, nfds_t(polls.count), timeoutMilliseconds)
    guard rc > 0 else { return [] }
    return polls.filter { $0.revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 }.map(\.fd)
}
