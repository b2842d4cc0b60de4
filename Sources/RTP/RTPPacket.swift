import NIOCore

/// Why octets are not an RTP or RTCP packet.
public struct RTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case tooShort, badVersion, badPadding, badLength, badExtension, badPayload }
    public var kind: Kind
    public var detail: String
    public init(_ kind: Kind, _ detail: String) { self.kind = kind; self.detail = detail }
    public var description: String { "\(kind.rawValue): \(detail)" }
}

@inline(__always) func be16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
@inline(__always) func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}
@inline(__always) func put16(_ out: inout [UInt8], _ v: UInt16) { out.append(UInt8(v >> 8)); out.append(UInt8(v & 0xFF)) }
@inline(__always) func put32(_ out: inout [UInt8], _ v: UInt32) {
    out.append(UInt8(v >> 24)); out.append(UInt8((v >> 16) & 0xFF)); out.append(UInt8((v >> 8) & 0xFF)); out.append(UInt8(v & 0xFF))
}

/// An RTP data packet (RFC 3550 §5.1) with its payload in an array (the softphone's API). Its header
/// octets are read and written by `RTPHeader`; `RTPBufferPacket` is the same packet on a `ByteBuffer`.
public struct RTPPacket: Sendable, Hashable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var csrcs: [UInt32]
    /// Header extension (RFC 3550 §5.3.1): profile id and 32-bit words.
    public var extensionProfile: UInt16?
    public var extensionData: [UInt8]
    public var payload: [UInt8]
    /// Padding octets to append when writing (the last one holds the count).
    public var paddingLength: UInt8

    public init(payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
                marker: Bool = false, payload: [UInt8]) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = []
        self.extensionProfile = nil
        self.extensionData = []
        self.payload = payload
        self.paddingLength = 0
    }

    public init(parsing b: [UInt8]) throws(RTPParseError) {
        let (h, payload) = try RTPHeader.parse(b)
        self.init(header: h, payload: Array(b[payload]))
    }

    public func write(to out: inout [UInt8]) {
        let h = header
        h.write(to: &out)
        out.append(contentsOf: payload)
        h.writePadding(to: &out)
    }

    public var bytes: [UInt8] { var o: [UInt8] = []; o.reserveCapacity(12 + payload.count); write(to: &o); return o }

    /// RTP and RTCP share a port with rtcp-mux; RTCP packet types 200–204 land on 72–76 here (RFC 5761 §4).
    public static func looksLikeRTCP(_ b: [UInt8]) -> Bool { b.count >= 2 && (192...223).contains(b[1]) }
}

extension RTPPacket {
    /// A packet from its header and payload.
    public init(header h: RTPHeader, payload: [UInt8]) {
        self.init(payloadType: h.payloadType, sequenceNumber: h.sequenceNumber, timestamp: h.timestamp, ssrc: h.ssrc,
                  marker: h.marker, payload: payload)
        csrcs = h.csrcs
        extensionProfile = h.extensionProfile
        extensionData = h.extensionData
        paddingLength = h.paddingLength
    }

    /// Everything but the payload.
    public var header: RTPHeader {
        get {
            RTPHeader(marker: marker, payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc,
                      csrcs: csrcs, extensionProfile: extensionProfile, extensionData: extensionData, paddingLength: paddingLength)
        }
        set {
            marker = newValue.marker
            payloadType = newValue.payloadType
            sequenceNumber = newValue.sequenceNumber
            timestamp = newValue.timestamp
            ssrc = newValue.ssrc
            csrcs = newValue.csrcs
            extensionProfile = newValue.extensionProfile
            extensionData = newValue.extensionData
            paddingLength = newValue.paddingLength
        }
    }

    /// Reads one whole datagram from a `ByteBuffer` (the payload is copied into the array; use
    /// `RTPBufferPacket` to keep it in place).
    public init(parsing buffer: inout ByteBuffer) throws(RTPParseError) {
        let p = try RTPBufferPacket(parsing: &buffer)
        self = p.packet
    }

    /// Writes the whole packet into a `ByteBuffer`.
    public func write(to out: inout ByteBuffer) {
        let h = header
        h.write(to: &out)
        out.writeBytes(payload)
        h.writePadding(to: &out)
    }
}
