import NIOCore
import NIOPosix
import SIP

/// SIP over UDP and TCP on one address and port (RFC 3261 §18), IPv6 or IPv4.
///
/// Inbound datagrams and framed TCP messages go to `onMessage` with the endpoint they
/// came from; `send` uses the UDP socket, or the TCP connection to that endpoint (the
/// one the request came in on, else a new one).
final class SIPTransport {
    let group: EventLoopGroup
    let loop: EventLoop
    let host: String
    private(set) var port: Int
    var udp: Channel?
    var tcpServer: Channel?
    var connections: [SIPEndpoint: Channel] = [:]
    var connecting: [SIPEndpoint: EventLoopFuture<Channel>] = [:]
    let onMessage: ([UInt8], SIPEndpoint) -> Void
    let onError: (String) -> Void
    /// Most TCP connections peers may hold open to us; further ones are closed at once.
    let maximumInbound: Int
    /// An inbound TCP connection that sends nothing for this long is closed.
    let idleTimeout: TimeAmount
    /// Inbound TCP connections open now (touched on `loop` only).
    private(set) var inboundCount = 0
    private(set) var refusedConnections = 0

    init(group: EventLoopGroup, loop: EventLoop, host: String, port: Int, maximumInbound: Int = 64, idleTimeout: TimeAmount = .seconds(120),
         onMessage: @escaping ([UInt8], SIPEndpoint) -> Void, onError: @escaping (String) -> Void) {
        self.maximumInbound = maximumInbound
        self.idleTimeout = idleTimeout
        self.group = group
        self.loop = loop
        self.host = host
        self.port = port
        self.onMessage = onMessage
        self.onError = onError
    }

    static func endpoint(_ transport: SIPTransportKind, _ a: SocketAddress?) -> SIPEndpoint {
        SIPEndpoint(transport, a?.ipAddress ?? "", a?.port ?? 0)
    }

    /// Binds UDP (and TCP at the same port when `tcp`). Port 0 picks a free UDP port and uses it for TCP too.
    /// That port may be taken for TCP (a connection elsewhere on the machine got it as its local
    /// port): then another free UDP port is tried, up to 16 times.
    func start(udp wantUDP: Bool = true, tcp wantTCP: Bool = true) throws {
        let anyPort = port == 0 && wantUDP && wantTCP
        var attempts = 0
        while true {
            do {
                try bindBoth(udp: wantUDP, tcp: wantTCP)
                return
            } catch let error as IOError where anyPort && error.errnoCode == EADDRINUSE && attempts < 15 {
                attempts += 1
                try? udp?.close().wait()
                udp = nil
                port = 0
            }
        }
    }

    private func bindBoth(udp wantUDP: Bool, tcp wantTCP: Bool) throws {
        if wantUDP {
            let handler = DatagramInbound { [weak self] bytes, from in
                self?.onMessage(bytes, SIPTransport.endpoint(.udp, from))
            }
            let ch = try DatagramBootstrap(group: loop)
                .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { $0.pipeline.addHandler(handler) }
                .bind(host: host, port: port).wait()
            udp = ch
            port = ch.localAddress?.port ?? port
        }
        if wantTCP {
            tcpServer = try ServerBootstrap(group: loop)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [weak self] ch in
                    guard let self else { return ch.eventLoop.makeSucceededVoidFuture() }
                    // children run on `loop` (the server's group is that one loop)
                    guard self.inboundCount < self.maximumInbound else {
                        self.refusedConnections += 1
                        if self.refusedConnections == 1 || self.refusedConnections % 100 == 0 {
                            self.onError("TCP: \(self.maximumInbound) connections open; refused \(self.refusedConnections) so far")
                        }
                        return ch.close()
                    }
                    self.inboundCount += 1
                    ch.closeFuture.whenComplete { [weak self] _ in self?.inboundCount -= 1 }
                    let idle = self.idleTimeout, stream = self.streamHandler(for: ch)
                    return ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandlers(IdleStateHandler(readTimeout: idle), stream)
                    }
                }
                .bind(host: host, port: port).wait()
            port = tcpServer?.localAddress?.port ?? port
        }
    }

    func streamHandler(for ch: Channel) -> SIPStreamInbound {
        let remote = SIPTransport.endpoint(.tcp, ch.remoteAddress)
        loop.execute { self.connections[remote] = ch }
        return SIPStreamInbound(
            onMessage: { [weak self] bytes in self?.onMessage(bytes, remote) },
            onClose: { [weak self] in self?.loop.execute { if self?.connections[remote] === ch { self?.connections[remote] = nil } } },
            onError: { [weak self] why in self?.onError("TCP \(remote): \(why)") })
    }

    func send(_ bytes: [UInt8], to dest: SIPEndpoint) {
        switch dest.transport {
        case .udp:
            guard let udp else { onError("no UDP socket for \(dest)"); return }
            // a name in a Via or Contact is looked up off the event loop (AddressResolver)
            AddressResolver.resolve(dest.address, port: dest.port, on: loop).whenComplete { [weak self] r in
                switch r {
                case .success(let addr):
                    udp.writeAndFlush(AddressedEnvelope(remoteAddress: addr, data: udp.allocator.buffer(bytes: bytes)), promise: nil)
                case .failure(let error):
                    self?.onError("\(error)")
                }
            }
        case .tcp:
            if let ch = connections[dest], ch.isActive {
                ch.writeAndFlush(ch.allocator.buffer(bytes: bytes), promise: nil)
                return
            }
            let future: EventLoopFuture<Channel>
            if let pending = connecting[dest] {
                future = pending
            } else {
                future = ClientBootstrap(group: loop)
                    .channelInitializer { [weak self] ch in
                        guard let self else { return ch.eventLoop.makeSucceededVoidFuture() }
                        let h = SIPStreamInbound(
                            onMessage: { [weak self] b in self?.onMessage(b, dest) },
                            onClose: { [weak self] in self?.loop.execute { self?.connections[dest] = nil } },
                            onError: { [weak self] why in self?.onError("TCP \(dest): \(why)") })
                        return ch.pipeline.addHandler(h)
                    }
                    .connect(host: dest.address, port: dest.port)
                connecting[dest] = future
                future.whenComplete { [weak self] r in
                    self?.connecting[dest] = nil
                    if case .success(let ch) = r { self?.connections[dest] = ch }
                }
            }
            future.whenComplete { [weak self] r in
                switch r {
                case .success(let ch): ch.writeAndFlush(ch.allocator.buffer(bytes: bytes), promise: nil)
                case .failure(let e): self?.onError("TCP connect to \(dest) failed: \(e)")
                }
            }
        }
    }

    func close() {
        for ch in connections.values { ch.close(promise: nil) }
        connections.removeAll()
        udp?.close(promise: nil)
        tcpServer?.close(promise: nil)
    }
}

final class DatagramInbound: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let onDatagram: ([UInt8], SocketAddress) -> Void
    init(_ onDatagram: @escaping ([UInt8], SocketAddress) -> Void) { self.onDatagram = onDatagram }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let env = unwrapInboundIn(data)
        var buf = env.data
        onDatagram(buf.readBytes(length: buf.readableBytes) ?? [], env.remoteAddress)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable and the like: the datagram socket stays usable
    }
}

final class SIPStreamInbound: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var framer = SIPStreamFramer()
    let onMessage: ([UInt8]) -> Void
    let onClose: () -> Void
    let onError: (String) -> Void

    init(onMessage: @escaping ([UInt8]) -> Void, onClose: @escaping () -> Void, onError: @escaping (String) -> Void) {
        self.onMessage = onMessage
        self.onClose = onClose
        self.onError = onError
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buf = unwrapInboundIn(data)
        framer.append(buf.readBytes(length: buf.readableBytes) ?? [])
        do {
            while let m = try framer.nextMessage() { onMessage(m) }
        } catch {
            // framing is lost (RFC 4475 ncl): the connection cannot be trusted any more
            onError("\(error); closing the connection")
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // IdleStateHandler: nothing read for the idle timeout
        if let e = event as? IdleStateHandler.IdleStateEvent, e == .read { context.close(promise: nil); return }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        onClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
