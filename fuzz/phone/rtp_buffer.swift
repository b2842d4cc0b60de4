import NIOCore

/// The RTP target's ByteBuffer path on the same input: `RTPBufferPacket` must agree with the
/// `[UInt8]` parser octet for octet, refuse exactly what it refuses, consume nothing when it
/// refuses, and write back the octets the array API writes.
func fuzzRTPBuffer(_ bytes: [UInt8]) {
    var buffer = ByteBuffer(bytes: bytes)
    let before = buffer
    let viaArray = try? RTPPacket(parsing: bytes)
    guard let p = try? RTPBufferPacket(parsing: &buffer) else {
        precondition(viaArray == nil, "the array parser took what the ByteBuffer parser refused")
        precondition(buffer == before, "a refused datagram was consumed")
        return
    }
    guard let viaArray else { preconditionFailure("the ByteBuffer parser took what the array parser refused") }
    precondition(buffer.readableBytes == 0, "the datagram was not consumed")
    precondition(p.packet == viaArray, "the two parsers disagree")
    var out = ByteBuffer()
    p.write(to: &out)
    precondition(Array(out.readableBytesView) == viaArray.bytes, "the two writers disagree")
    precondition(out.readableBytes == p.encodedLength, "encodedLength is wrong")
    var again = out
    precondition((try? RTPBufferPacket(parsing: &again)) == p, "ByteBuffer round trip changed the packet")
    var h = before
    precondition((try? RTPHeader(parsing: &h)) == p.header && h == p.payload, "header parse left more than the payload")
}
