import NIOCore

/// The RTP header (RFC 3550 §5.1): the fixed twelve octets, the CSRC list, the header extension
/// (§5.3.1) and the padding count (the padding itself follows the payload). This is the one
/// reader and writer of those octets: `RTPPacket` (payload as `[UInt8]`, the softphone) and
/// `RTPBufferPacket` (payload as a slice of the datagram's `ByteBuffer`, video and the relays)
/// both go through it.
public struct RTPHeader: Sendable, Hashable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    /// At most 15 are written (the CC field has four bits).
    public var csrcs: [UInt32]
    /// Header extension: profile id, and data written padded to whole 32-bit words.
    public var extensionProfile: UInt16?
    public var extensionData: [UInt8]
    /// Padding octets after the payload when writing (the last one holds the count); 0 for none.
    public var paddingLength: UInt8

    /// Octets of the fixed header.
    public static let fixedLength = 12
    /// Most extension data a 16-bit word count can describe.
    public static let maxExtensionLength = 4 * Int(UInt16.max)

    public init(marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
                csrcs: [UInt32] = [], extensionProfile: UInt16? = nil, extensionData: [UInt8] = [], paddingLength: UInt8 = 0) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = csrcs
        self.extensionProfile = extensionProfile
        self.extensionData = extensionData
        self.paddingLength = paddingLength
    }

    /// Octets `write` puts before the payload.
    public var encodedLength: Int {
        var n = Self.fixedLength + 4 * Swift.min(csrcs.count, 15)
        if extensionProfile != nil { n += 4 + 4 * ((Swift.min(extensionData.count, Self.maxExtensionLength) + 3) / 4) }
        return n
    }

    // MARK: reading

    /// Reads the header of the RTP packet `buffer` holds (its readable octets are the whole
    /// datagram) and leaves `buffer` holding exactly the payload, padding cut off: a view of the
    /// same storage, nothing copied.
    public init(parsing buffer: inout ByteBuffer) throws(RTPParseError) {
        let parsed = buffer.withUnsafeReadableBytes { Self.parse($0) }
        switch parsed {
        case .failure(let e): throw e
        case .success(let (header, payload)):
            self = header
            buffer.moveWriterIndex(to: buffer.readerIndex + payload.upperBound)
            buffer.moveReaderIndex(forwardBy: payload.lowerBound)
        }
    }

    /// The header of the RTP packet `bytes`, and where its payload lies in `bytes` (padding excluded).
    public static func parse(_ bytes: [UInt8]) throws(RTPParseError) -> (header: RTPHeader, payload: Range<Int>) {
        try bytes.withUnsafeBytes { Self.parse($0) }.get()
    }

    /// The one parser: a whole datagram in, the header and the payload's range out.
    static func parse(_ b: UnsafeRawBufferPointer) -> Result<(RTPHeader, Range<Int>), RTPParseError> {
        guard b.count >= 12 else { return .failure(RTPParseError(.tooShort, "\(b.count) octets, an RTP header needs 12")) }
        guard b[0] >> 6 == 2 else { return .failure(RTPParseError(.badVersion, "version \(b[0] >> 6), not 2")) }
        let hasPadding = b[0] & 0x20 != 0
        let hasExtension = b[0] & 0x10 != 0
        let cc = Int(b[0] & 0x0F)
        var h = RTPHeader(marker: b[1] & 0x80 != 0, payloadType: b[1] & 0x7F, sequenceNumber: Self.be16(b, 2),
                          timestamp: Self.be32(b, 4), ssrc: Self.be32(b, 8))
        var i = 12
        guard b.count >= i + 4 * cc else { return .failure(RTPParseError(.tooShort, "\(cc) CSRCs do not fit in \(b.count) octets")) }
        if cc > 0 { h.csrcs = (0..<cc).map { Self.be32(b, 12 + 4 * $0) } }
        i += 4 * cc
        if hasExtension {
            guard b.count >= i + 4 else { return .failure(RTPParseError(.badExtension, "extension header cut short")) }
            h.extensionProfile = Self.be16(b, i)
            let words = Int(Self.be16(b, i + 2))
            guard b.count >= i + 4 + 4 * words else { return .failure(RTPParseError(.badExtension, "extension of \(words) words does not fit")) }
            h.extensionData = Array(b[(i + 4)..<(i + 4 + 4 * words)])
            i += 4 + 4 * words
        }
        var end = b.count
        if hasPadding {
            let pad = Int(b[b.count - 1])
            guard pad > 0, end - pad >= i else { return .failure(RTPParseError(.badPadding, "padding count \(pad) is impossible")) }
            end -= pad
            h.paddingLength = UInt8(pad)
        }
        return .success((h, i..<end))
    }

    @inline(__always) static func be16(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
    @inline(__always) static func be32(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    // MARK: writing

    /// Writes the header (everything before the payload). The padding, if any, goes after the
    /// payload: `writePadding(to:)`.
    public func write(to out: inout ByteBuffer) { write(into: &out) }
    public func write(to out: inout [UInt8]) { write(into: &out) }
    /// Writes `paddingLength` octets: zeros, then the count.
    public func writePadding(to out: inout ByteBuffer) { writePadding(into: &out) }
    public func writePadding(to out: inout [UInt8]) { writePadding(into: &out) }

    /// The one writer, for both kinds of output.
    func write<S: RTPOctetSink>(into out: inout S) {
        let cc = Swift.min(csrcs.count, 15)
        var first: UInt8 = 0x80 | UInt8(cc)
        if paddingLength > 0 { first |= 0x20 }
        if extensionProfile != nil { first |= 0x10 }
        out.appendOctet(first)
        out.appendOctet((marker ? 0x80 : 0) | (payloadType & 0x7F))
        out.appendBE16(sequenceNumber)
        out.appendBE32(timestamp)
        out.appendBE32(ssrc)
        for c in csrcs.prefix(cc) { out.appendBE32(c) }
        if let p = extensionProfile {
            let data = extensionData.prefix(Self.maxExtensionLength)
            let words = (data.count + 3) / 4
            out.appendBE16(p)
            out.appendBE16(UInt16(truncatingIfNeeded: words))
            out.appendOctets(data)
            out.appendZeros(4 * words - data.count)
        }
    }

    func writePadding<S: RTPOctetSink>(into out: inout S) {
        guard paddingLength > 0 else { return }
        out.appendZeros(Int(paddingLength) - 1)
        out.appendOctet(paddingLength)
    }
}

/// Where `RTPHeader` writes: a `[UInt8]` or a `ByteBuffer`.
protocol RTPOctetSink {
    mutating func appendOctet(_ v: UInt8)
    mutating func appendBE16(_ v: UInt16)
    mutating func appendBE32(_ v: UInt32)
    mutating func appendOctets(_ v: ArraySlice<UInt8>)
    mutating func appendZeros(_ n: Int)
}

extension Array: RTPOctetSink where Element == UInt8 {
    mutating func appendOctet(_ v: UInt8) { append(v) }
    mutating func appendBE16(_ v: UInt16) { append(UInt8(v >> 8)); append(UInt8(v & 0xFF)) }
    mutating func appendBE32(_ v: UInt32) {
        append(UInt8(v >> 24)); append(UInt8((v >> 16) & 0xFF)); append(UInt8((v >> 8) & 0xFF)); append(UInt8(v & 0xFF))
    }
    mutating func appendOctets(_ v: ArraySlice<UInt8>) { append(contentsOf: v) }
    mutating func appendZeros(_ n: Int) { if n > 0 { append(contentsOf: repeatElement(0, count: n)) } }
}

extension ByteBuffer: RTPOctetSink {
    mutating func appendOctet(_ v: UInt8) { writeInteger(v) }
    mutating func appendBE16(_ v: UInt16) { writeInteger(v) }
    mutating func appendBE32(_ v: UInt32) { writeInteger(v) }
    mutating func appendOctets(_ v: ArraySlice<UInt8>) { writeBytes(v) }
    mutating func appendZeros(_ n: Int) { if n > 0 { writeRepeatingByte(0, count: n) } }
}
