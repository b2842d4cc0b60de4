import FoundationEssentials
import SystemSupport
import Glibc
import Mobility
import NIOCore

/// An ICMPv6 Router Advertisement (RFC 4861 §4.2) announcing the mobile network prefixes with
/// a Prefix Information option each (on-link, autonomous) and an MTU option (the tunnel MTU).
public struct RouterAdvertisement: Hashable, Sendable {
    public var prefixes: [IPv6Prefix]
    public var mtu: UInt32
    /// Seconds the MR is a default router for hosts on the link.
    public var routerLifetime: UInt16

    public init(prefixes: [IPv6Prefix], mtu: UInt32, routerLifetime: UInt16 = 1800) {
        self.prefixes = prefixes
        self.mtu = mtu
        self.routerLifetime = routerLifetime
    }

    /// The ICMPv6 message; the checksum is left zero for the kernel to fill (raw ICMPv6 sockets).
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(134))     // type
        buffer.writeInteger(UInt8(0))       // code
        buffer.writeInteger(UInt16(0))      // checksum
        buffer.writeInteger(UInt8(64))      // current hop limit
        buffer.writeInteger(UInt8(0))       // M, O flags
        buffer.writeInteger(routerLifetime)
        buffer.writeInteger(UInt32(0))      // reachable time
        buffer.writeInteger(UInt32(0))      // retransmit timer
        for p in prefixes {
            buffer.writeInteger(UInt8(3))   // Prefix Information
            buffer.writeInteger(UInt8(4))   // length in units of 8 octets
            buffer.writeInteger(p.length)
            buffer.writeInteger(UInt8(0xC0)) // L, A
            buffer.writeInteger(UInt32(86400))
            buffer.writeInteger(UInt32(14400))
            buffer.writeInteger(UInt32(0))
            buffer.writeInteger(p.address.high)
            buffer.writeInteger(p.address.low)
        }
        buffer.writeInteger(UInt8(5))       // MTU
        buffer.writeInteger(UInt8(1))
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(mtu)
    }
}

/// Sends router advertisements of the mobile network on the ingress link: three at one-second
/// intervals at start, then every `interval` seconds.
final class RouterAdvertiser: Sendable {
    private let fd: Int32
    private let index: Int32
    private let message: [UInt8]

    init(interface index: Int32, advertisement: RouterAdvertisement) throws {
        fd = socket(AF_INET6, SocketType.raw | SocketType.closeOnExec, Int32(IPPROTO_ICMPV6))
        guard fd >= 0 else { throw SystemError("raw ICMPv6 socket") }
        self.index = index
        var hops: Int32 = 255
        var ifindex = UInt32(bitPattern: index)
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, &hops, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS, &hops, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &ifindex, socklen_t(MemoryLayout<UInt32>.size))
        var buffer = ByteBuffer()
        advertisement.write(to: &buffer)
        message = Array(buffer.readableBytesView)
    }

    deinit { close(fd) }

    func start(interval: Double = 30) {
        BlockingThread.start(name: "nemo ra") { [self] in
            var sent = 0
            while true {
                send()
                sent += 1
                usleep(UInt32((sent < 3 ? 1.0 : interval) * 1_000_000))
            }
        }
    }

    private func send() {
        var dst = sockaddr_in6()
        dst.sin6_family = sa_family_t(AF_INET6)
        dst.sin6_scope_id = UInt32(bitPattern: index)
        withUnsafeMutableBytes(of: &dst.sin6_addr) { raw in
            for (i, b) in IPv6Address("ff02::1")!.octets.enumerated() { raw[i] = b }
        }
        _ = message.withUnsafeBytes { m in
            withUnsafePointer(to: &dst) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, m.baseAddress, m.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            } }
        }
    }
}
