import NIOCore
import SIP
import SDP
import RTP

// The protocol cores read and write `[UInt8]` so they build with no dependency (and
// straight into the fuzzers with swiftc); these let NIO code use ByteBuffer directly.

extension SIPMessage {
    /// Parses the readable bytes of `buffer` (one datagram or one framed message).
    public init(parsing buffer: ByteBuffer, datagram: Bool = true) throws(SIPParseError) {
        try self.init(parsing: buffer.readableBytesView, datagram: datagram)
    }

    public func write(to buffer: inout ByteBuffer) {
        var bytes: [UInt8] = []
        write(to: &bytes)
        buffer.writeBytes(bytes)
    }
}

extension RTPPacket {
    public init(parsing buffer: ByteBuffer) throws(RTPParseError) {
        try self.init(parsing: Array(buffer.readableBytesView))
    }

    public func write(to buffer: inout ByteBuffer) {
        var bytes: [UInt8] = []
        write(to: &bytes)
        buffer.writeBytes(bytes)
    }
}

extension SessionDescription {
    public init(parsing buffer: ByteBuffer) throws(SDPParseError) {
        try self.init(parsing: buffer.readableBytesView)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeString(text)
    }
}
