import NIOCore

/// The one's-complement checksum (RFC 1071) the Xcast header carries (RFC 5058 §9.2.2), taken here
/// over the Routing header and the Ports header with the checksum field counted as zero.
enum XcastChecksum {
    /// Sums `count` octets at `index` of `buffer` (big-endian 16-bit words) into `acc`.
    static func sum(_ buffer: ByteBuffer, at index: Int, count: Int, into acc: inout UInt64) {
        buffer.withUnsafeReadableBytes { raw in
            let base = index - buffer.readerIndex
            var i = 0
            while i + 1 < count {
                acc &+= UInt64(raw[base + i]) << 8 | UInt64(raw[base + i + 1])
                i += 2
            }
            if i < count { acc &+= UInt64(raw[base + i]) << 8 }
        }
    }

    static func fold(_ acc: UInt64) -> UInt16 {
        var s = acc
        while s >> 16 != 0 { s = (s & 0xFFFF) + (s >> 16) }
        return UInt16(truncatingIfNeeded: s)
    }

    /// The checksum for headers spanning `count` octets at `start`, whose checksum field is at `fieldIndex`
    /// (that field is skipped, i.e. counted as zero).
    static func compute(_ buffer: ByteBuffer, start: Int, count: Int, fieldIndex: Int) -> UInt16 {
        var acc: UInt64 = 0
        sum(buffer, at: start, count: fieldIndex - start, into: &acc)
        sum(buffer, at: fieldIndex + 2, count: start + count - fieldIndex - 2, into: &acc)
        return ~fold(acc)
    }
}
