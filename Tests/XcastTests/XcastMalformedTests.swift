import NIOCore
import Testing
@testable import Xcast

/// One test per way a data datagram can be wrong (docs/xcast.md §3 "Malformed data").
@Suite struct XcastMalformedTests {
    let good = Fixture.datagram(XcastHeader(channel: Fixture.channel, destinations: Fixture.destinations(3)))

    func parse(_ b: ByteBuffer, policy: DestinationPolicy = .standard) -> XcastParseError? {
        do { _ = try XcastDatagram(parsing: b, policy: policy); return nil } catch { return error }
    }

    func edited(_ at: Int, _ value: UInt8, fixChecksum: Bool = true) -> ByteBuffer {
        var b = good
        b.setInteger(value, at: at)
        if fixChecksum { Fixture.fixChecksum(&b) }
        return b
    }

    @Test func goodParses() { #expect(parse(good) == nil) }

    @Test func everyTruncationIsRefused() {
        let overhead = XcastWire.overhead(destinations: 3)
        for n in 0..<overhead {
            let e = parse(good.getSlice(at: 0, length: n)!)
            guard case .truncated = e else { Issue.record("\(n) octets: \(String(describing: e))"); continue }
        }
    }

    @Test func notXcast() { #expect(parse(edited(0, 0x59, fixChecksum: false)) == .notXcast(magic: 0x5936)) }
    @Test func unknownFramingVersion() { #expect(parse(edited(2, 2, fixChecksum: false)) == .unknownFramingVersion(2)) }
    @Test func unknownMessageType() { #expect(parse(edited(3, 9, fixChecksum: false)) == .unknownMessageType(9)) }
    @Test func hopLimitExhausted() { #expect(parse(edited(4, 0, fixChecksum: false)) == .hopLimitExhausted) }
    @Test func missingPortsHeader() { #expect(parse(edited(8, 17)) == .missingPortsHeader(nextHeader: 17)) }
    @Test func unknownRoutingType() { #expect(parse(edited(10, 254)) == .unknownRoutingType(254)) }
    @Test func segmentsLeft() { #expect(parse(edited(11, 1)) == .segmentsLeftNotZero(1)) }
    @Test func unknownVersion() { #expect(parse(edited(12, 0x20)) == .unknownVersion(2)) }
    @Test func dscpList() { #expect(parse(edited(12, 0x12)) == .dscpListUnsupported) }
    @Test func zeroDestinations() { #expect(parse(edited(13, 0)) == .zeroDestinations) }
    @Test func tooManyDestinations() { #expect(parse(edited(13, 126)) == .tooManyDestinations(126)) }
    @Test func lengthMismatch() { #expect(parse(edited(13, 4)) == .lengthMismatch(headerLength: 8 * 10, expected: 24 + 8 + 64)) }

    @Test func bitmapLongerThanList() {
        // Hdr Ext Len one 8-octet unit longer than 3 destinations need: read as a 128-bit bitmap for 3.
        var b = ByteBuffer()
        let h = XcastHeader(channel: Fixture.channel, destinations: Fixture.destinations(3))
        h.write(to: &b)
        var bytes = Fixture.bytes(b)
        bytes.insert(contentsOf: [UInt8](repeating: 0, count: 8), at: 8 + 32)
        bytes[9] += 1
        #expect(parse(ByteBuffer(bytes: bytes)) == .bitmapLongerThanList(bitmapBits: 128, destinations: 3))
    }

    @Test func bitmapBitBeyondList() { #expect(parse(edited(8 + 24, 0xF0)) == .bitmapBitBeyondList(index: 3, destinations: 3)) }
    @Test func noLiveDestinations() { #expect(parse(edited(8 + 24, 0)) == .noLiveDestinations) }

    @Test func badChecksum() {
        let e = parse(edited(8 + 6, good.getInteger(at: 8 + 6, as: UInt8.self)! ^ 0xFF, fixChecksum: false))
        guard case .badChecksum = e else { Issue.record("\(String(describing: e))"); return }
        // a flipped address bit is caught by the checksum too
        guard case .badChecksum = parse(edited(8 + 40, 0x21, fixChecksum: false)) else { Issue.record("address edit not caught"); return }
    }

    @Test(arguments: [("ff0e::114", AddressKind.multicast), ("::1", .loopback), ("fe80::1", .linkLocal), ("::", .unspecified)])
    func forbiddenDestination(address: String, kind: AddressKind) {
        var d = Fixture.destinations(3)
        d[1].address = IPv6Address(address)!
        let b = Fixture.datagram(XcastHeader(channel: Fixture.channel, destinations: d))
        #expect(parse(b) == .forbiddenDestination(index: 1, kind: kind))
        // loopback only with the test policy
        #expect(parse(b, policy: DestinationPolicy(allowLoopback: true)) == (kind == .loopback ? nil : .forbiddenDestination(index: 1, kind: kind)))
        // a dead bit on such an address is fine
        var bm = XcastBitmap(allOf: 3)
        bm[1] = false
        #expect(parse(Fixture.datagram(XcastHeader(channel: Fixture.channel, destinations: d, bitmap: bm))) == nil)
    }

    var portsAt: Int { 8 + 24 + 8 + 48 }
    @Test func unexpectedPayloadHeader() { #expect(parse(edited(portsAt, 6)) == .unexpectedPayloadHeader(6)) }
    @Test func portsLengthMismatch() { #expect(parse(edited(portsAt + 1, 0)) == .portsLengthMismatch(headerLength: 8, expected: 16)) }
    @Test func missingPortsOption() { #expect(parse(edited(portsAt + 2, 0x1E)) == .missingPortsOption(type: 0x1E)) }
    @Test func portsCountMismatch() { #expect(parse(edited(portsAt + 3, 4)) == .portsCountMismatch(ports: 2, destinations: 3)) }
    @Test func badPadding() { #expect(parse(edited(portsAt + 10, 5)) == .badPadding(offset: portsAt + 10)) }
    @Test func zeroPort() {
        var b = good
        b.setInteger(UInt16(0), at: portsAt + 4 + 2)
        Fixture.fixChecksum(&b)
        #expect(parse(b) == .zeroPort(index: 1))
    }

    @Test func controlMessageErrors() {
        func ctl(_ bytes: [UInt8]) -> XcastParseError? {
            var b = ByteBuffer(bytes: [0x58, 0x36, 1, 1, 0, 0, 0, 0] + bytes)
            do { _ = try ControlMessage(parsing: &b); return nil } catch { return error }
        }
        #expect(ctl([0]) == .badSessionName(length: 0))
        #expect(ctl([3, 0x61, 0x20, 0x62]) == .badSessionName(length: 3))
        #expect(ctl([1, 0x61, 0]) == .badToken(length: 0))
        #expect(ctl([1, 0x61, 1, 0x0A]) == .badToken(length: 1))
        #expect(ctl([1, 0x61, 1, 0x41, 0]) == .truncated(needed: 20, available: 1))
        let member = [UInt8](repeating: 0, count: 16) + [0x17, 0x70]
        #expect(ctl([1, 0x61, 1, 0x41] + member + [0, 0]) == .badFieldValue(field: "lifetime", value: 0))
        #expect(ctl([1, 0x61, 1, 0x41] + member + [0, 9, 1]) == .trailingOctets(1))
        #expect(ctl([1, 0x61, 1, 0x41] + [UInt8](repeating: 0, count: 16) + [0, 0, 0, 9]) == .zeroPort(index: 0))
    }
}
