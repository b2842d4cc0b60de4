import CNemoLinux
import Glibc
import Logging
import Mobility

/// `virtio_net_hdr` (linux/virtio_net.h), the 10 octets before every packet on a TUN device
/// opened with IFF_VNET_HDR. Fields are in the host's byte order (legacy virtio on a
/// little-endian host, which TUN uses unless TUNSETVNETBE/LE say otherwise).
enum VirtioNetHeader {
    static let size = 10
    static let needsChecksum: UInt8 = 1
    static let gsoNone: UInt8 = 0
    static let gsoTCPv6: UInt8 = 4
}

/// What one read from the TUN device produced: one packet, or the segments of a TSO
/// super-packet, as header/payload slices ready for one UDP send (no payload copied).
struct TunRead {
    /// The packet as read (a super-packet's headers describe every segment's flow).
    var packet: UnsafeRawBufferPointer
    /// Packets it became.
    var count: Int
    /// Octets of all those packets.
    var bytes: Int
    /// `count * slicesPerPacket` slices.
    var slices: UnsafeBufferPointer<iovec>
    var slicesPerPacket: Int
    /// Length of every packet but the last (UDP_SEGMENT size); 0 for one packet.
    var segmentLength: Int
}

/// The daemons' TUN loop: reads `tun` until it fails for good (EINTR and EAGAIN are retried),
/// handing every read to `body`; logs the failure.
func readTun(_ tun: TunDevice, logger: Logger, _ body: (TunRead) -> Void) {
    let reader = TunReader(tun)
    while true {
        if reader.next(body) == nil {
            if errno == EINTR || errno == EAGAIN { continue }
            logger.error("TUN read failed: \(SystemError("read \(tun.name)"))")
            return
        }
    }
}

/// Reads the TUN device a frame at a time: with offloads a frame is up to 64 KiB of one TCP
/// flow that the kernel did not segment, cut here into tunnel-MTU packets (one system call
/// for what was ~45).
final class TunReader {
    let tun: TunDevice
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNetHeader.size + 65536 + 512, alignment: 16)
    private static let maximumSegments = 256
    private let headers = UnsafeMutableRawBufferPointer.allocate(byteCount: TunReader.maximumSegments * 100, alignment: 16)
    private let slices = UnsafeMutableBufferPointer<iovec>.allocate(capacity: 2 * TunReader.maximumSegments)
    /// Frames the reader could not use (unknown GSO type, bad offsets).
    private(set) var dropped = 0

    init(_ tun: TunDevice) { self.tun = tun }

    deinit {
        buffer.deallocate()
        headers.deallocate()
        slices.deallocate()
    }

    /// Blocks for the next frame and hands what it became to `body`; nil when the device failed
    /// (errno set), false when the frame was dropped.
    func next(_ body: (TunRead) -> Void) -> Bool? {
        let n = Glibc.read(tun.fd, buffer.baseAddress, buffer.count)
        guard n > 0 else { return nil }
        let offset = tun.hasVirtioHeader ? VirtioNetHeader.size : 0
        guard n > offset else { dropped += 1; return false }
        let packet = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<n])
        var gso = VirtioNetHeader.gsoNone
        var segmentPayload = 0
        if tun.hasVirtioHeader {
            let flags = buffer[0]
            gso = buffer[1] & 0x7F
            segmentPayload = Int(buffer.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
            if gso == VirtioNetHeader.gsoNone, flags & VirtioNetHeader.needsChecksum != 0 {
                let start = Int(buffer.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
                let field = Int(buffer.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
                guard TunnelSegmentation.completeChecksum(packet, start: start, offset: field) else { dropped += 1; return false }
            }
        }
        let whole = UnsafeRawBufferPointer(packet)
        switch gso {
        case VirtioNetHeader.gsoNone:
            slices[0] = iovec(iov_base: packet.baseAddress, iov_len: packet.count)
            body(TunRead(packet: whole, count: 1, bytes: packet.count, slices: UnsafeBufferPointer(rebasing: slices[0..<1]),
                         slicesPerPacket: 1, segmentLength: 0))
            return true
        case VirtioNetHeader.gsoTCPv6:
            guard let s = TunnelSegmentation.segmentTCPv6(whole, segmentPayload: segmentPayload, headers: headers),
                  s.count <= TunReader.maximumSegments else { dropped += 1; return false }
            let base = UnsafeMutableRawPointer(mutating: whole.baseAddress!)
            for i in 0..<s.count {
                slices[2 * i] = iovec(iov_base: headers.baseAddress! + i * s.headerLength, iov_len: s.headerLength)
                slices[2 * i + 1] = iovec(iov_base: base + s.payloadStart + i * s.segmentPayload, iov_len: s.payloadCount(of: i))
            }
            body(TunRead(packet: whole, count: s.count, bytes: s.count * s.headerLength + s.payloadLength,
                         slices: UnsafeBufferPointer(rebasing: slices[0..<(2 * s.count)]), slicesPerPacket: 2,
                         segmentLength: s.count > 1 ? s.headerLength + s.segmentPayload : 0))
            return true
        default:
            dropped += 1
            return false
        }
    }
}

extension UDPSocket {
    /// Sends what one TUN read produced: equal-sized packets go to the kernel in one UDP GSO
    /// send per 64 segments (or ~60 KB), the kernel cutting them into datagrams; without GSO
    /// support, one send per packet. False when the kernel refused some.
    @discardableResult
    func send(_ read: TunRead, to destination: TransportAddress) -> Bool {
        var (storage, len) = socketAddress(destination, ipv6Socket: isIPv6)
        return withUnsafePointer(to: &storage) { address in
            let k = read.slicesPerPacket
            var ok = true
            if read.count > 1, read.segmentLength > 0, segmentationOffload {
                let perSend = max(1, min(64, 60_000 / read.segmentLength))
                var i = 0
                while i < read.count {
                    let n = min(perSend, read.count - i)
                    let r = nemo_udp_send_segments(fd, address, len, read.slices.baseAddress! + i * k, Int32(n * k),
                                                   n > 1 ? UInt16(read.segmentLength) : 0)
                    if r < 0, errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP, i == 0 {
                        // No GSO on this path (e.g. no checksum offload): fall back for good.
                        segmentationOffload = false
                        break
                    }
                    if r < 0 { ok = false }
                    i += n
                }
                if segmentationOffload { return ok }
            }
            for i in 0..<read.count where nemo_udp_send_segments(fd, address, len, read.slices.baseAddress! + i * k, Int32(k), 0) < 0 {
                ok = false
            }
            return ok
        }
    }

    /// Receives everything queued (`receiveDatagrams` until nothing is left), handing each datagram
    /// to `body`. `writer` gathers from `buffer`, so it is flushed after every receive, before the
    /// buffer is reused. Returns the TCP segments that went into the TUN device merged.
    func drain(into buffer: inout [UInt8], flushing writer: TunWriter, _ body: (UnsafeRawBufferPointer, TransportAddress) -> Void) -> Int {
        var merged = 0
        while buffer.withUnsafeMutableBytes({ raw in
            defer { merged += writer.flush() }
            return receiveDatagrams(into: raw, body)
        }) != nil {}
        return merged
    }

    /// Receives what is queued without blocking: one datagram, or with UDP GRO several of one
    /// flow in one buffer; `body` gets each datagram in turn. Nil on EAGAIN or error.
    func receiveDatagrams(into buffer: UnsafeMutableRawBufferPointer, _ body: (UnsafeRawBufferPointer, TransportAddress) -> Void) -> Int? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var segment: Int32 = 0
        let n = withUnsafeMutablePointer(to: &storage) {
            nemo_udp_receive_coalesced(fd, buffer.baseAddress, buffer.count, $0, &len, &segment, Int32(MSG_DONTWAIT))
        }
        guard n >= 0, let from = transportAddress(storage) else { return nil }
        let step = segment > 0 ? Int(segment) : max(n, 1)
        var offset = 0
        var count = 0
        repeat {
            let end = min(n, offset + step)
            body(UnsafeRawBufferPointer(rebasing: buffer[offset..<end]), from)
            offset = end
            count += 1
        } while offset < n
        return count
    }
}

/// Writes packets received from the tunnel into the TUN device, merging consecutive TCP
/// segments of one IPv6 flow (what one UDP GRO receive usually holds) into one GSO
/// super-packet: one write and one trip through the kernel's stack for up to 64 KiB. The
/// packets stay in the receive buffer (the write gathers them), so `flush()` must run
/// before that buffer is reused.
final class TunWriter {
    let tun: TunDevice
    private static let maximumSlices = 1024
    private let slices = UnsafeMutableBufferPointer<iovec>.allocate(capacity: TunWriter.maximumSlices)
    /// virtio_net_hdr followed by the first segment's IPv6 + TCP header (rewritten at flush).
    private let head = UnsafeMutableRawBufferPointer.allocate(byteCount: VirtioNetHeader.size + 40 + 60, alignment: 16)
    private var first: UnsafeRawBufferPointer?
    private var headerLength = 0
    private var segmentPayload = 0
    private var payloadTotal = 0
    private var segments = 0
    private var closed = false

    init(_ tun: TunDevice) { self.tun = tun }

    deinit {
        slices.deallocate()
        head.deallocate()
    }

    /// Queues one complete packet; it is written at the latest by the next `flush()`.
    func append(_ packet: UnsafeRawBufferPointer) {
        guard tun.hasVirtioHeader else {
            tun.write(packet)
            return
        }
        if first != nil, !extend(with: packet) { flush() }
        if first == nil { start(packet) }
    }

    private func tcpHeaderLength(_ p: UnsafeRawBufferPointer) -> Int? {
        guard p.count >= 60, p[0] >> 4 == 6, p[6] == 6 else { return nil }
        let hl = 40 + Int(p[52] >> 4) * 4
        guard hl >= 60, hl <= p.count, 40 + (Int(p[4]) << 8 | Int(p[5])) == p.count else { return nil }
        return hl
    }

    private func start(_ packet: UnsafeRawBufferPointer) {
        first = packet
        segments = 1
        closed = true
        guard let hl = tcpHeaderLength(packet) else { return }
        headerLength = hl
        segmentPayload = packet.count - hl
        payloadTotal = segmentPayload
        // Only a pure ACK segment with data can be followed by more.
        closed = segmentPayload == 0 || packet[53] != 0x10
        slices[0] = iovec(iov_base: head.baseAddress, iov_len: VirtioNetHeader.size + hl)
        slices[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: packet.baseAddress! + hl), iov_len: segmentPayload)
    }

    private func extend(with p: UnsafeRawBufferPointer) -> Bool {
        guard !closed, let f = first, let hl = tcpHeaderLength(p), hl == headerLength,
              segments + 1 < TunWriter.maximumSlices, payloadTotal + p.count - hl + hl <= 65_000 else { return false }
        let payload = p.count - hl
        guard payload > 0, payload <= segmentPayload, p[53] == 0x10 || p[53] == 0x18 else { return false }
        let fb = f.baseAddress!, pb = p.baseAddress!
        // Same addresses and ports; same ack, window, urgent pointer and options; next sequence.
        guard memcmp(fb + 8, pb + 8, 36) == 0, memcmp(fb + 48, pb + 48, 4) == 0, memcmp(fb + 54, pb + 54, 2) == 0,
              memcmp(fb + 58, pb + 58, hl - 58) == 0, f[0] == p[0], f[1] == p[1], f[7] == p[7] else { return false }
        let seq0 = UInt32(bigEndian: fb.loadUnaligned(fromByteOffset: 44, as: UInt32.self))
        let seq = UInt32(bigEndian: pb.loadUnaligned(fromByteOffset: 44, as: UInt32.self))
        guard seq == seq0 &+ UInt32(payloadTotal) else { return false }
        slices[segments + 1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: pb + hl), iov_len: payload)
        segments += 1
        payloadTotal += payload
        if payload < segmentPayload || p[53] == 0x18 { closed = true }
        return true
    }

    /// Writes what is queued; returns how many segments went out merged (0: one plain packet).
    @discardableResult
    func flush() -> Int {
        guard let f = first else { return 0 }
        first = nil
        guard segments > 1 else {
            tun.write(f)
            return 0
        }
        let hl = headerLength
        let h = head.baseAddress!
        let ip = h + VirtioNetHeader.size
        ip.copyMemory(from: f.baseAddress!, byteCount: hl)
        let upper = hl - 40 + payloadTotal
        ip.storeBytes(of: UInt16(upper).bigEndian, toByteOffset: 4, as: UInt16.self)
        // Flags of the last segment (it may carry PSH).
        let last = slices[segments].iov_base!.assumingMemoryBound(to: UInt8.self) - hl + 53
        ip.storeBytes(of: last.pointee, toByteOffset: 53, as: UInt8.self)
        // CHECKSUM_PARTIAL: the field holds the pseudo-header sum, the kernel does the rest.
        let pseudo = TunnelSegmentation.sum(UnsafeRawBufferPointer(start: ip + 8, count: 32),
                                            initial: UInt64(UInt32(6).bigEndian) &+ UInt64(UInt32(upper).bigEndian))
        ip.storeBytes(of: TunnelSegmentation.fold(pseudo), toByteOffset: 56, as: UInt16.self)
        h.storeBytes(of: VirtioNetHeader.needsChecksum, toByteOffset: 0, as: UInt8.self)
        h.storeBytes(of: VirtioNetHeader.gsoTCPv6, toByteOffset: 1, as: UInt8.self)
        h.storeBytes(of: UInt16(hl), toByteOffset: 2, as: UInt16.self)
        h.storeBytes(of: UInt16(segmentPayload), toByteOffset: 4, as: UInt16.self)
        h.storeBytes(of: UInt16(40), toByteOffset: 6, as: UInt16.self)
        h.storeBytes(of: UInt16(16), toByteOffset: 8, as: UInt16.self)
        slices[0] = iovec(iov_base: head.baseAddress, iov_len: VirtioNetHeader.size + hl)
        return writev(tun.fd, slices.baseAddress, Int32(segments + 1)) > 0 ? segments : 0
    }
}
