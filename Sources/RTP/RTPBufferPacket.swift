import NIOCore

/// An RTP data packet (RFC 3550 §5.1) whose payload is a slice of the `ByteBuffer` it was read
/// from: parsing copies no payload octet, and a forwarder that changes the header writes a new
/// header in front of the same payload. `RTPPacket` is the same packet with a `[UInt8]` payload.
public struct RTPBufferPacket: Sendable, Hashable {
    public var header: RTPHeader
    /// The payload, padding excluded.
    public var payload: ByteBuffer

    public init(header: RTPHeader, payload: ByteBuffer) {
        self.header = header
        self.payload = payload
    }

    /// Reads one whole datagram: all of `buffer`'s readable octets are the packet, and all are
    /// consumed. The payload shares `buffer`'s storage.
    public init(parsing buffer: inout ByteBuffer) throws(RTPParseError) {
        var view = buffer
        header = try RTPHeader(parsing: &view)
        payload = view
        buffer.moveReaderIndex(to: buffer.writerIndex)
    }

    /// Header, payload, then padding.
    public func write(to out: inout ByteBuffer) {
        header.write(to: &out)
        var p = payload
        out.writeBuffer(&p)
        header.writePadding(to: &out)
    }

    /// Octets `write` produces.
    public var encodedLength: Int { header.encodedLength + payload.readableBytes + Int(header.paddingLength) }

    /// The same packet with its payload copied into an array (for the `[UInt8]` API).
    public var packet: RTPPacket { RTPPacket(header: header, payload: Array(payload.readableBytesView)) }
}
