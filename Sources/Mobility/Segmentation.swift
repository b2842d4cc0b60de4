/// The packet surgery a userspace tunnel needs to take TSO super-packets from a TUN device
/// (IFF_VNET_HDR) and hand them on as ordinary packets: TCP segmentation and checksum
/// completion. Sums are kept in native byte order (RFC 1071 §2(B): the one's complement sum
/// does not depend on byte order), so no byte is swapped on the hot path.
public enum TunnelSegmentation {
    /// The unfolded one's complement sum of `bytes` added to `initial`, native order.
    @inline(__always)
    public static func sum(_ bytes: UnsafeRawBufferPointer, initial: UInt64 = 0) -> UInt64 {
        guard let base = bytes.baseAddress else { return initial }
        var i = 0
        let n = bytes.count
        // Whole 64-bit words with end-around carry (2^64 ≡ 1 in one's complement), in two
        // independent accumulators, 16 octets a step: this loop is most of the MR's
        // segmentation time under bulk traffic.
        var a0: UInt64 = 0, a1: UInt64 = 0, carries: UInt64 = 0
        while i + 16 <= n {
            let (s0, o0) = a0.addingReportingOverflow(base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let (s1, o1) = a1.addingReportingOverflow(base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
            a0 = s0
            a1 = s1
            carries &+= (o0 ? 1 : 0) &+ (o1 ? 1 : 0)
            i += 16
        }
        if i + 8 <= n {
            let (s0, o0) = a0.addingReportingOverflow(base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            a0 = s0
            carries &+= o0 ? 1 : 0
            i += 8
        }
        let (total, o) = a0.addingReportingOverflow(a1)
        // Down to 34 bits, so callers may keep adding to it without overflow.
        var s = initial &+ (total & 0xFFFF_FFFF) &+ (total >> 32) &+ carries &+ (o ? 1 : 0)
        if i + 4 <= n {
            s &+= UInt64(base.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            i += 4
        }
        if i + 2 <= n {
            s &+= UInt64(base.loadUnaligned(fromByteOffset: i, as: UInt16.self))
            i += 2
        }
        if i < n {
            // An odd last octet is the high half of a big-endian word padded with zero.
            var tail: UInt16 = 0
            withUnsafeMutableBytes(of: &tail) { $0[0] = base.load(fromByteOffset: i, as: UInt8.self) }
            s &+= UInt64(tail)
        }
        return s
    }

    /// Folds a sum to 16 bits (native order).
    @inline(__always)
    public static func fold(_ sum: UInt64) -> UInt16 {
        var s = sum
        while s >> 16 != 0 { s = (s & 0xFFFF) &+ (s >> 16) }
        return UInt16(s)
    }

    /// Finishes a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field at
    /// `start + offset` already holds the pseudo-header sum; the sum runs from `start` to the end.
    /// False when the offsets do not fit the packet.
    @discardableResult
    public static func completeChecksum(_ packet: UnsafeMutableRawBufferPointer, start: Int, offset: Int) -> Bool {
        guard start >= 0, offset >= 0, start + offset + 2 <= packet.count, let base = packet.baseAddress else { return false }
        var c = ~fold(sum(UnsafeRawBufferPointer(rebasing: packet[start...])))
        if c == 0 { c = 0xFFFF }   // UDP: 0 means "no checksum"; 0xFFFF is the same value for TCP
        base.storeBytes(of: c, toByteOffset: start + offset, as: UInt16.self)
        return true
    }

    /// How a super-packet was cut: segment `i` is `headerLength` octets at
    /// `headers + i * headerLength` followed by payload octets
    /// `[payloadStart + i * segmentPayload, min(+segmentPayload, end))` of the super-packet.
    public struct Segments: Sendable, Equatable {
        public var headerLength: Int
        public var segmentPayload: Int
        public var count: Int
        public var payloadStart: Int
        public var payloadLength: Int

        /// Octets of segment `i`'s payload.
        public func payloadCount(of i: Int) -> Int { min(segmentPayload, payloadLength - i * segmentPayload) }
    }

    /// Cuts an IPv6 TCP super-packet (no extension headers) into segments of at most
    /// `segmentPayload` payload octets: writes each segment's IPv6 + TCP header, with its
    /// payload length, sequence number, flags and full checksum, into `headers`; payloads stay
    /// where they are (the caller sends header + payload slices, no copy). Nil when the packet
    /// is not one or `headers` is too small.
    public static func segmentTCPv6(_ packet: UnsafeRawBufferPointer, segmentPayload mss: Int,
                                    headers: UnsafeMutableRawBufferPointer) -> Segments? {
        guard mss > 0, packet.count >= 60, packet[0] >> 4 == 6, packet[6] == 6,
              let base = packet.baseAddress, let out = headers.baseAddress else { return nil }
        let tcpHeader = Int(packet[52] >> 4) * 4
        let hl = 40 + tcpHeader
        guard tcpHeader >= 20, hl <= packet.count else { return nil }
        let payload = packet.count - hl
        let count = max(1, (payload + mss - 1) / mss)
        guard count * hl <= headers.count else { return nil }
        let seq0 = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 44, as: UInt32.self))
        let flags = packet[53]
        let addresses = sum(UnsafeRawBufferPointer(rebasing: packet[8..<40]), initial: UInt64(UInt32(6).bigEndian))
        for i in 0..<count {
            let chunk = min(mss, payload - i * mss)
            let h = out + i * hl
            h.copyMemory(from: base, byteCount: hl)
            h.storeBytes(of: UInt16(tcpHeader + chunk).bigEndian, toByteOffset: 4, as: UInt16.self)
            h.storeBytes(of: (seq0 &+ UInt32(truncatingIfNeeded: i * mss)).bigEndian, toByteOffset: 44, as: UInt32.self)
            var f = flags
            if i != count - 1 { f &= ~0x09 }   // FIN and PSH only on the last segment
            if i != 0 { f &= ~0x80 }           // CWR only on the first
            h.storeBytes(of: f, toByteOffset: 53, as: UInt8.self)
            h.storeBytes(of: UInt16(0), toByteOffset: 56, as: UInt16.self)
            var s = addresses &+ UInt64(UInt32(tcpHeader + chunk).bigEndian)
            s = sum(UnsafeRawBufferPointer(start: h + 40, count: tcpHeader), initial: s)
            s = sum(UnsafeRawBufferPointer(start: base + hl + i * mss, count: chunk), initial: s)
            h.storeBytes(of: ~fold(s), toByteOffset: 56, as: UInt16.self)
        }
        return Segments(headerLength: hl, segmentPayload: mss, count: count, payloadStart: hl, payloadLength: payload)
    }
}
