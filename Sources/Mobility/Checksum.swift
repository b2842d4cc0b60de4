import NIOCore

/// The Internet checksum (RFC 1071) as the Mobility Header uses it (RFC 6275 §6.1.1).
public enum InternetChecksum {
    /// Folds a 32-bit running one's-complement sum of big-endian 16-bit words.
    static func sum<C: Collection>(_ bytes: C, into acc: inout UInt32) where C.Element == UInt8 {
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let hi = UInt32(bytes[i])
            i = bytes.index(after: i)
            var lo: UInt32 = 0
            if i != bytes.endIndex {
                lo = UInt32(bytes[i])
                i = bytes.index(after: i)
            }
            acc &+= hi << 8 | lo
            if acc > 0xFFFF_0000 { acc = (acc & 0xFFFF) + (acc >> 16) }
        }
    }

    static func fold(_ acc: UInt32) -> UInt16 {
        var s = acc
        while s >> 16 != 0 { s = (s & 0xFFFF) + (s >> 16) }
        return UInt16(truncatingIfNeeded: s)
    }

    /// The checksum over the IPv6 pseudo-header (next header 135) and `mobilityHeader`
    /// whose checksum field the caller has set to zero.
    public static func mobilityHeader(_ mobilityHeader: ByteBufferView, source: IPv6Address, destination: IPv6Address) -> UInt16 {
        var acc: UInt32 = 0
        sum(source.octets, into: &acc)
        sum(destination.octets, into: &acc)
        let length = UInt32(mobilityHeader.count)
        sum([UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length), 0, 0, 0, 135], into: &acc)
        sum(mobilityHeader, into: &acc)
        return ~fold(acc)
    }
}
