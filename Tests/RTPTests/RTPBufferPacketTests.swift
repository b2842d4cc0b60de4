import NIOCore
import Testing
@testable import RTP

/// The RTP header on a ByteBuffer: the same octets as the `[UInt8]` API, payload left in place.
@Suite struct RTPBufferPacketTests {
    static let full: RTPPacket = {
        var p = RTPPacket(payloadType: 96, sequenceNumber: 65535, timestamp: 0xDEAD_BEEF, ssrc: 7, marker: true, payload: [1, 2, 3, 4, 5])
        p.csrcs = [10, 11]
        p.extensionProfile = 0xBEDE
        p.extensionData = [1, 2, 3, 4, 5]  // written padded to two words
        p.paddingLength = 3
        return p
    }()

    @Test func rfc3550ExampleFromAByteBuffer() throws {
        // V=2 P=0 X=0 CC=0 | M=1 PT=0 | seq 0x1234 | ts 0xDEADBEEF | SSRC 0x01020304 | payload
        let octets: [UInt8] = [0x80, 0x80, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, 0xFF, 0x7F]
        var b = ByteBuffer(bytes: octets)
        let p = try RTPBufferPacket(parsing: &b)
        #expect(b.readableBytes == 0)
        #expect(p.header == RTPHeader(marker: true, payloadType: 0, sequenceNumber: 0x1234, timestamp: 0xDEAD_BEEF, ssrc: 0x0102_0304))
        #expect(Array(p.payload.readableBytesView) == [0xFF, 0x7F])
        var out = ByteBuffer()
        p.write(to: &out)
        #expect(Array(out.readableBytesView) == octets)
    }

    @Test func csrcExtensionAndPaddingRoundTripAndMatchTheArrayAPI() throws {
        let arrayBytes = Self.full.bytes
        #expect(arrayBytes.count == 12 + 8 + 4 + 8 + 5 + 3)
        var viaBuffer = ByteBuffer()
        Self.full.write(to: &viaBuffer)
        #expect(Array(viaBuffer.readableBytesView) == arrayBytes)
        #expect(Self.full.header.encodedLength == 12 + 8 + 4 + 8)

        var b = viaBuffer
        let p = try RTPBufferPacket(parsing: &b)
        #expect(p.header.csrcs == [10, 11])
        #expect(p.header.extensionProfile == 0xBEDE)
        #expect(p.header.extensionData == [1, 2, 3, 4, 5, 0, 0, 0])
        #expect(p.header.paddingLength == 3)
        #expect(Array(p.payload.readableBytesView) == [1, 2, 3, 4, 5])
        #expect(p.encodedLength == arrayBytes.count)
        var again = ByteBuffer()
        p.write(to: &again)
        #expect(again == viaBuffer)
        #expect(p.packet == (try RTPPacket(parsing: arrayBytes)))
        var c = viaBuffer
        #expect(try RTPPacket(parsing: &c) == (try RTPPacket(parsing: arrayBytes)))
    }

    @Test func payloadIsASliceOfTheDatagramNotACopy() throws {
        var datagram = ByteBuffer()
        RTPHeader(payloadType: 26, sequenceNumber: 1, timestamp: 2, ssrc: 3).write(to: &datagram)
        datagram.writeBytes([UInt8](repeating: 0xAB, count: 1000))
        let base = datagram.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        var b = datagram
        let p = try RTPBufferPacket(parsing: &b)
        let payloadBase = p.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(payloadBase == base + 12)
        #expect(p.payload.readableBytes == 1000)
    }

    @Test func headerParsingLeavesExactlyThePayload() throws {
        var b = ByteBuffer()
        Self.full.write(to: &b)
        b.writeBytes([9, 9])  // octets before the datagram must not matter: read from an offset
        var shifted = ByteBuffer(bytes: [0xEE, 0xEE])
        shifted.moveReaderIndex(forwardBy: 2)
        var whole = b
        whole.moveWriterIndex(to: whole.writerIndex - 2)
        shifted.writeBuffer(&whole)
        let h = try RTPHeader(parsing: &shifted)
        var expected = Self.full.header
        expected.extensionData += [0, 0, 0]  // read back as the whole words written
        #expect(h == expected)
        #expect(Array(shifted.readableBytesView) == [1, 2, 3, 4, 5])
    }

    /// Rewriting the header in front of the same payload: what a forwarder does.
    @Test func rewritingTheHeaderKeepsThePayload() throws {
        var b = ByteBuffer()
        Self.full.write(to: &b)
        var p = try RTPBufferPacket(parsing: &b)
        p.header.sequenceNumber &+= 1
        p.header.csrcs = []
        p.header.extensionProfile = nil
        p.header.paddingLength = 0
        var out = ByteBuffer()
        p.write(to: &out)
        #expect(out.readableBytes == 12 + 5)
        #expect(out.getInteger(at: 2, as: UInt16.self) == 0)
        #expect(Array(out.readableBytesView.dropFirst(12)) == [1, 2, 3, 4, 5])
    }

    @Test func sixteenCSRCsAreWrittenAsFifteenWithAMatchingCount() throws {
        var h = RTPHeader(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0)
        h.csrcs = Array(1...16)
        var b = ByteBuffer()
        h.write(to: &b)
        #expect(b.readableBytes == 12 + 60)
        #expect(b.getInteger(at: 0, as: UInt8.self) == UInt8(0x8F))
        #expect(try RTPHeader(parsing: &b).csrcs == Array(1...15))
    }

    static let malformed: [([UInt8], RTPParseError.Kind)] = [
        ([UInt8](repeating: 0x80, count: 11), .tooShort),                          // 11 octets
        ([], .tooShort),
        ([0x40] + [UInt8](repeating: 0, count: 11), .badVersion),                  // version 1
        ([0xC0] + [UInt8](repeating: 0, count: 11), .badVersion),                  // version 3
        ([0x8F] + [UInt8](repeating: 0, count: 20), .tooShort),                    // 15 CSRCs in 21 octets
        ([0x90] + [UInt8](repeating: 0, count: 11) + [0xBE, 0xDE], .badExtension), // extension header cut short
        ([0x90] + [UInt8](repeating: 0, count: 11) + [0xBE, 0xDE, 0, 9], .badExtension), // 9 words, none there
        ([0xA0] + [UInt8](repeating: 0, count: 11) + [200], .badPadding),          // more padding than payload
        ([0xA0] + [UInt8](repeating: 0, count: 11) + [0], .badPadding),            // padding count 0
        ([0xA0] + [UInt8](repeating: 0, count: 10) + [1], .badPadding),            // padding would eat the header
    ]

    @Test(arguments: malformed)
    func malformedPacketsAreRefusedWithTheirKind(octets: [UInt8], kind: RTPParseError.Kind) {
        var b = ByteBuffer(bytes: octets)
        let before = b
        let e1 = #expect(throws: RTPParseError.self) { _ = try RTPBufferPacket(parsing: &b) }
        #expect(e1?.kind == kind)
        #expect(b == before)  // nothing consumed from a refused datagram
        var h = ByteBuffer(bytes: octets)
        let e2 = #expect(throws: RTPParseError.self) { _ = try RTPHeader(parsing: &h) }
        #expect(e2?.kind == kind)
        #expect(h == before)
        let e3 = #expect(throws: RTPParseError.self) { _ = try RTPPacket(parsing: octets) }
        #expect(e3?.kind == kind)
    }
}
