import NIOCore

/// The RTP fixed header (RFC 3550 §5.1) read from and written to a ByteBuffer, so a packet's payload
/// stays a slice of the datagram it came in (no copy). CSRCs and an extension are skipped on read
/// and never written; padding is removed from the payload.
public struct RTPHeader: Hashable, Sendable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32

    public static let length = 12

    public init(marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
    }

    /// Reads the header; `buffer` is left holding exactly the payload (padding cut off).
    public init(parsing buffer: inout ByteBuffer) throws(RTPJPEGError) {
        guard buffer.readableBytes >= 12 else { throw .truncated(needed: 12, available: buffer.readableBytes) }
        let b0 = buffer.readInteger(as: UInt8.self)!
        guard b0 >> 6 == 2 else { throw .badRTPVersion(b0 >> 6) }
        let b1 = buffer.readInteger(as: UInt8.self)!
        marker = b1 & 0x80 != 0
        payloadType = b1 & 0x7F
        sequenceNumber = buffer.readInteger(as: UInt16.self)!
        timestamp = buffer.readInteger(as: UInt32.self)!
        ssrc = buffer.readInteger(as: UInt32.self)!
        let cc = Int(b0 & 0x0F)
        guard buffer.readableBytes >= 4 * cc else { throw .truncated(needed: 4 * cc, available: buffer.readableBytes) }
        buffer.moveReaderIndex(forwardBy: 4 * cc)
        if b0 & 0x10 != 0 {
            guard buffer.readableBytes >= 4 else { throw .badRTPExtension }
            buffer.moveReaderIndex(forwardBy: 2)
            let words = Int(buffer.readInteger(as: UInt16.self)!)
            guard buffer.readableBytes >= 4 * words else { throw .badRTPExtension }
            buffer.moveReaderIndex(forwardBy: 4 * words)
        }
        if b0 & 0x20 != 0 {
            guard let pad = buffer.getInteger(at: buffer.writerIndex - 1, as: UInt8.self), pad > 0, Int(pad) <= buffer.readableBytes else {
                throw .badRTPPadding(buffer.readableBytes)
            }
            buffer.moveWriterIndex(to: buffer.writerIndex - Int(pad))
        }
    }

    public func write(to out: inout ByteBuffer) {
        out.writeInteger(UInt8(0x80))
        out.writeInteger((marker ? 0x80 : 0) | payloadType & 0x7F)
        out.writeInteger(sequenceNumber)
        out.writeInteger(timestamp)
        out.writeInteger(ssrc)
    }
}
