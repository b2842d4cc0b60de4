import NIOCore
import SIP
import SDP
import RTP

// The SIP and SDP cores read and write `[UInt8]` so they build with no dependency (and
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
    /// Parses the readable bytes of `buffer` (one datagram). The `RTP` target reads and writes
    /// ByteBuffers itself (`init(parsing: inout ByteBuffer)`, `write(to:)`, `RTPBufferPacket`).
    public init(parsing buffer: ByteBuffer) throws(RTPParseError) {
        var b = buffer
        try self.init(parsing: &b)
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
