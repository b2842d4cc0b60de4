import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The local address the kernel would use to reach a host: a UDP socket "connected" to it sends
/// nothing, but getsockname() then tells the source address routing picked.
enum LocalAddress {
    static func toward(_ host: String) -> String? {
        let trimmed = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v6 = sockaddr_in6()
        var v4 = sockaddr_in()
        if inet_pton(AF_INET6, trimmed, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = UInt16(5060).bigEndian
            return withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { source(family: AF_INET6, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        if inet_pton(AF_INET, trimmed, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = UInt16(5060).bigEndian
            return withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { source(family: AF_INET, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        return nil  // a name: leave the choice to the default
    }

    private static func source(family: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> String? {
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard connect(fd, address, length) == 0 else { return nil }
        var local = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        return withUnsafePointer(to: &local) { p -> String? in
            if family == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    var addr = a.pointee.sin6_addr
                    return inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count)).map { String(cString: $0) }
                }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                var addr = a.pointee.sin_addr
                return inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count)).map { String(cString: $0) }
            }
        }
    }
}
