import Mobility
import Testing

/// TCP segmentation of a TSO super-packet, checked against an independent byte-wise RFC 1071 sum.
struct SegmentationTests {
    /// Plain big-endian 16-bit one's complement sum, folded: the reference.
    func referenceSum(_ bytes: [UInt8]) -> UInt16 {
        var s: UInt32 = 0
        var i = 0
        while i < bytes.count {
            s += UInt32(bytes[i]) << 8 | (i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0)
            i += 2
        }
        while s >> 16 != 0 { s = (s & 0xFFFF) + (s >> 16) }
        return UInt16(s)
    }

    @Test("The sum equals the byte-wise reference for every length 0-300 at every alignment, all-ones data included, with a carried initial sum")
    func sumMatchesTheReference() {
        var rng = SystemRandomNumberGenerator()
        for pattern in 0..<3 {
            let data: [UInt8] = (0..<400).map { i in pattern == 0 ? 0xFF : pattern == 1 ? UInt8(truncatingIfNeeded: i &* 37 &+ 11) : UInt8.random(in: 0...255, using: &rng) }
            for start in 0..<8 {
                for length in 0...300 {
                    let bytes = Array(data[start..<(start + length)])
                    let ours = data.withUnsafeBytes { TunnelSegmentation.fold(TunnelSegmentation.sum(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)]))) }
                    // Native order: compare on the same bytes read back big-endian.
                    #expect(UInt16(bigEndian: ours) == referenceSum(bytes) || (referenceSum(bytes) == 0xFFFF && ours == 0) || (referenceSum(bytes) == 0 && ours == 0xFFFF),
                            "length \(length) at offset \(start), pattern \(pattern)")
                    if length == 300 {
                        let withInitial = data.withUnsafeBytes { TunnelSegmentation.fold(TunnelSegmentation.sum(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)]), initial: 0xFFFF_FFFF)) }
                        #expect(UInt16(bigEndian: withInitial) == referenceSum(bytes + [0xFF, 0xFF, 0xFF, 0xFF]) || referenceSum(bytes + [0xFF, 0xFF, 0xFF, 0xFF]) == 0xFFFF)
                    }
                }
            }
        }
    }

    func tcpChecksumValid(_ packet: [UInt8]) -> Bool {
        let upper = Array(packet[40...])
        let pseudo = Array(packet[8..<40]) + [0, 0, UInt8(upper.count >> 8), UInt8(upper.count & 0xFF), 0, 0, 0, 6]
        return referenceSum(pseudo + upper) == 0xFFFF
    }

    func superPacket(payload: Int, flags: UInt8) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 40 + 32 + payload)
        p[0] = 0x60
        let plen = 32 + payload
        p[4] = UInt8(plen >> 8); p[5] = UInt8(plen & 0xFF); p[6] = 6; p[7] = 64
        for i in 0..<16 { p[8 + i] = UInt8(0x20 + i); p[24 + i] = UInt8(0x90 + i) }
        p[40] = 0x9C; p[41] = 0x40; p[42] = 0x14; p[43] = 0x51           // ports 40000 -> 5201
        p[44] = 0xFF; p[45] = 0xFF; p[46] = 0xFF; p[47] = 0x00           // sequence near wrap-around
        p[52] = 8 << 4; p[53] = flags
        p[56] = 0xAB; p[57] = 0xCD                                       // partial sum, to be replaced
        for i in 0..<payload { p[72 + i] = UInt8(truncatingIfNeeded: i &* 7 &+ 3) }
        return p
    }

    @Test("A 10,001-octet super-packet becomes 8 segments of 1,340 octets with consecutive sequence numbers, valid checksums, FIN/PSH only on the last")
    func segmentsSuperPacket() {
        let p = superPacket(payload: 10_001, flags: 0x19 | 0x80)   // ACK PSH FIN CWR
        var headers = [UInt8](repeating: 0, count: 64 * 100)
        let s = p.withUnsafeBytes { packet in
            headers.withUnsafeMutableBytes { TunnelSegmentation.segmentTCPv6(packet, segmentPayload: 1340, headers: $0) }
        }
        guard let s else { Issue.record("not segmented"); return }
        #expect(s.count == 8)
        #expect(s.headerLength == 72)
        var joined: [UInt8] = []
        for i in 0..<s.count {
            let start = s.payloadStart + i * s.segmentPayload
            let payload = Array(p[start..<(start + s.payloadCount(of: i))])
            let segment = Array(headers[(i * 72)..<((i + 1) * 72)]) + payload
            joined += payload
            #expect(Int(segment[4]) << 8 | Int(segment[5]) == 32 + payload.count)
            let seq = UInt32(segment[44]) << 24 | UInt32(segment[45]) << 16 | UInt32(segment[46]) << 8 | UInt32(segment[47])
            #expect(seq == 0xFFFF_FF00 &+ UInt32(i * 1340))
            #expect(segment[53] == (i == 0 ? 0x90 : i == 7 ? 0x19 : 0x10))
            #expect(tcpChecksumValid(segment))
        }
        #expect(joined == Array(p[72...]))
        #expect(s.payloadCount(of: 7) == 10_001 - 7 * 1340)
    }

    @Test("A partial checksum is completed over an odd-length packet; non-TCP or truncated input is refused")
    func completesAndRefuses() {
        var p = superPacket(payload: 33, flags: 0x10)
        let upper = p.count - 40
        // What the kernel leaves: the folded pseudo-header sum in the field.
        let pseudo = Array(p[8..<40]) + [0, 0, UInt8(upper >> 8), UInt8(upper & 0xFF), 0, 0, 0, 6]
        let partial = referenceSum(pseudo)
        p[56] = UInt8(partial >> 8); p[57] = UInt8(partial & 0xFF)
        let done = p.withUnsafeMutableBytes { TunnelSegmentation.completeChecksum($0, start: 40, offset: 16) }
        #expect(done)
        #expect(tcpChecksumValid(p))
        let end = p.count
        let beyondEnd = p.withUnsafeMutableBytes { TunnelSegmentation.completeChecksum($0, start: 40, offset: end) }
        #expect(beyondEnd == false)
        var udp = p
        udp[6] = 17
        var headers = [UInt8](repeating: 0, count: 1000)
        #expect(udp.withUnsafeBytes { u in headers.withUnsafeMutableBytes { TunnelSegmentation.segmentTCPv6(u, segmentPayload: 10, headers: $0) } } == nil)
        #expect(Array(p[0..<50]).withUnsafeBytes { u in headers.withUnsafeMutableBytes { TunnelSegmentation.segmentTCPv6(u, segmentPayload: 10, headers: $0) } } == nil)
        // More segments than the header space holds: refused, not overrun.
        #expect(p.withUnsafeBytes { u in headers.withUnsafeMutableBytes { TunnelSegmentation.segmentTCPv6(u, segmentPayload: 1, headers: $0) } } == nil)
    }
}
