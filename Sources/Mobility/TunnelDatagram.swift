import NIOCore

/// What a UDP 4191 datagram carries (RFC 5555 §4.1): signaling (inner IPv6 with next header
/// 135) or a tunnelled data packet, told apart by the first nibble and the next header.
public enum UDPTunnelDatagram: Sendable {
    /// A Mobility Header in an inner IPv6 header; `mobilityHeader` is exactly Payload Length octets.
    case signaling(source: IPv6Address, destination: IPv6Address, mobilityHeader: ByteBuffer)
    /// An IPv6 packet to forward.
    case ipv6Data
    /// An IPv4 packet to forward.
    case ipv4Data

    /// Classifies the payload; nil when it is neither a whole IPv6 nor an IPv4 packet.
    public init?(parsing payload: UnsafeRawBufferPointer) {
        guard payload.count >= 1 else { return nil }
        switch payload[0] >> 4 {
        case 6:
            guard payload.count >= 40 else { return nil }
            let plen = Int(payload[4]) << 8 | Int(payload[5])
            guard 40 + plen <= payload.count else { return nil }
            if payload[6] == mobilityHeaderProtocol {
                let src = IPv6Address(octets: payload[8..<24])!
                let dst = IPv6Address(octets: payload[24..<40])!
                self = .signaling(source: src, destination: dst, mobilityHeader: ByteBuffer(bytes: payload[40..<(40 + plen)]))
            } else {
                self = .ipv6Data
            }
        case 4:
            guard payload.count >= 20 else { return nil }
            self = .ipv4Data
        default:
            return nil
        }
    }

    /// The inner IPv6 header plus MH that goes into the UDP payload for signaling.
    public static func signalingPacket(source: IPv6Address, destination: IPv6Address, mobilityHeader: ByteBuffer) -> [UInt8] {
        var packet: [UInt8] = [0x60, 0, 0, 0]
        let plen = mobilityHeader.readableBytes
        packet += [UInt8(plen >> 8), UInt8(plen & 0xFF), mobilityHeaderProtocol, 64]
        packet += source.octets
        packet += destination.octets
        packet += mobilityHeader.readableBytesView
        return packet
    }
}
