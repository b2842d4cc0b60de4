/// Why octets are not an RTP or RTCP packet.
public struct RTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
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

/// An RTP data packet (RFC 3550 §5.1).
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
        guard b.count >= 12 else { throw RTPParseError(.tooShort, "\(b.count) octets, an RTP header needs 12") }
        guard b[0] >> 6 == 2 else { throw RTPParseError(.badVersion, "version \(b[0] >> 6), not 2") }
        let hasPadding = b[0] & 0x20 != 0
        let hasExtension = b[0] & 0x10 != 0
        let cc = Int(b[0] & 0x0F)
        marker = b[1] & 0x80 != 0
        payloadType = b[1] & 0x7F
        sequenceNumber = be16(b, 2)
        timestamp = be32(b, 4)
        ssrc = be32(b, 8)
        var i = 12
        guard b.count >= i + 4 * cc else { throw RTPParseError(.tooShort, "\(cc) CSRCs do not fit in \(b.count) octets") }
        csrcs = (0..<cc).map { be32(b, 12 + 4 * $0) }
        i += 4 * cc
        extensionProfile = nil
        extensionData = []
        if hasExtension {
            guard b.count >= i + 4 else { throw RTPParseError(.badExtension, "extension header cut short") }
            extensionProfile = be16(b, i)
            let words = Int(be16(b, i + 2))
            guard b.count >= i + 4 + 4 * words else { throw RTPParseError(.badExtension, "extension of \(words) words does not fit") }
            extensionData = Array(b[(i + 4)..<(i + 4 + 4 * words)])
            i += 4 + 4 * words
        }
        var end = b.count
        paddingLength = 0
        if hasPadding {
            let pad = Int(b[b.count - 1])
            guard pad > 0, end - pad >= i else { throw RTPParseError(.badPadding, "padding count \(pad) is impossible") }
            end -= pad
            paddingLength = UInt8(pad)
        }
        payload = Array(b[i..<end])
    }

    public func write(to out: inout [UInt8]) {
        var first: UInt8 = 0x80 | UInt8(csrcs.count & 0x0F)
        if paddingLength > 0 { first |= 0x20 }
        if extensionProfile != nil { first |= 0x10 }
        out.append(first)
        out.append((marker ? 0x80 : 0) | (payloadType & 0x7F))
        put16(&out, sequenceNumber)
        put32(&out, timestamp)
        put32(&out, ssrc)
        for c in csrcs.prefix(15) { put32(&out, c) }
        if let p = extensionProfile {
            put16(&out, p)
            let padded = extensionData + [UInt8](repeating: 0, count: (4 - extensionData.count % 4) % 4)
            put16(&out, UInt16(padded.count / 4))
            out.append(contentsOf: padded)
        }
        out.append(contentsOf: payload)
        if paddingLength > 0 {
            out.append(contentsOf: [UInt8](repeating: 0, count: Int(paddingLength) - 1))
            out.append(paddingLength)
        }
    }

    public var bytes: [UInt8] { var o: [UInt8] = []; o.reserveCapacity(12 + payload.count); write(to: &o); return o }

    /// RTP and RTCP share a port with rtcp-mux; RTCP packet types 200–204 land on 72–76 here (RFC 5761 §4).
    public static func looksLikeRTCP(_ b: [UInt8]) -> Bool { b.count >= 2 && (192...223).contains(b[1]) }
}
