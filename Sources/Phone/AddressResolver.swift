import NIOCore
import NIOPosix

/// Turns a host from SIP or SDP (an address literal or a name) into a socket address
/// without blocking the event loop: literals are converted at once, names are looked up
/// with `getaddrinfo` on NIO's blocking thread pool and the result comes back on `loop`.
/// A name in a peer's Via, Contact or c= line therefore never stalls calls in progress.
enum AddressResolver {
    /// The address now when `host` is an IPv4/IPv6 literal (brackets allowed), else nil.
    static func literal(_ host: String, port: Int) -> SocketAddress? {
        guard (0...65535).contains(port) else { return nil }
        var h = host
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        return try? SocketAddress(ipAddress: h, port: port)
    }

    static func resolve(_ host: String, port: Int, on loop: EventLoop) -> EventLoopFuture<SocketAddress> {
        guard (0...65535).contains(port) else {
            return loop.makeFailedFuture(ResolveError(host: host, port: port, detail: "port is not 0…65535"))
        }
        if let a = literal(host, port: port) { return loop.makeSucceededFuture(a) }
        guard !host.isEmpty, host.utf8.count <= 253,
              host.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) || $0 == 45 || $0 == 46 }) else {
            return loop.makeFailedFuture(ResolveError(host: host, port: port, detail: "not an address or host name"))
        }
        return NIOThreadPool.singleton.runIfActive(eventLoop: loop) {
            try SocketAddress.makeAddressResolvingHost(host, port: port)
        }
    }

    struct ResolveError: Error, CustomStringConvertible {
        var host: String
        var port: Int
        var detail: String
        var description: String { "cannot resolve \(host):\(port): \(detail)" }
    }
}
