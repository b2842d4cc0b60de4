import Hummingbird
import NIOCore

/// The request context of the map server's routers: Hummingbird's core context plus the peer's
/// address, for the per-address cap on live subscribers and the loopback check of `/metrics`.
public struct ServerRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text, nil when unknown (in-process tests).
    public var peerAddress: String? { remoteAddress?.ipAddress }

    /// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104.
    public var isLoopbackPeer: Bool {
        guard let ip = peerAddress?.lowercased() else { return false }
        return ip == "::1" || ip.hasPrefix("127.") || ip.hasPrefix("::ffff:127.")
    }
}
