import NIOCore
import Testing
@testable import Mobility

@Suite("Malformed input")
struct MalformedInputTests {
    func parse(_ bytes: [UInt8]) -> MobilityParseError? {
        var buffer = ByteBuffer(bytes: bytes)
        do {
            _ = try MobilityMessage(parsing: &buffer, source: hoa, destination: haInner)
            return nil
        } catch {
            return error
        }
    }

    @Test("Short input: every truncation of a valid BU is refused without a crash")
    func truncated() {
        for n in 0..<exampleA.count {
            let error = parse(Array(exampleA.prefix(n)))
            #expect(error != nil, "prefix of \(n) octets was accepted")
        }
        #expect(parse([0x3b, 0]) == .truncated(needed: 8, available: 2))
    }

    @Test("Header Len disagreeing with the datagram")
    func badLength() {
        var bytes = exampleA
        bytes[1] = 7
        #expect(parse(bytes) == .lengthMismatch(headerLength: 64, available: 56))
        #expect(parse(exampleA + Array(repeating: 0, count: 8)) == .lengthMismatch(headerLength: 56, available: 64))
    }

    @Test("Length not a multiple of 8")
    func badAlignment() {
        #expect(parse(exampleA + [0, 0, 0]) == .badAlignment(length: 59))
    }

    @Test("Bad checksum")
    func badChecksum() {
        var bytes = exampleA
        bytes[4] ^= 0xFF
        guard case .badChecksum = parse(bytes) else { Issue.record("checksum error not reported"); return }
        // The right checksum for the real addresses is the wrong one for another home address.
        var other = ByteBuffer(bytes: exampleA)
        #expect(throws: MobilityParseError.self) { try MobilityMessage(parsing: &other, source: v6("2001:db8:ffff::11"), destination: haInner) }
    }

    @Test("Unknown MH type (HoTI, experimental, anything unhandled)", arguments: [1, 2, 3, 4, 8, 11, 13, 255] as [UInt8])
    func unknownType(type: UInt8) {
        var bytes = exampleA
        bytes[2] = type
        bytes[4] = 0; bytes[5] = 0
        let sum = InternetChecksum.mobilityHeader(ByteBuffer(bytes: bytes).readableBytesView, source: hoa, destination: haInner)
        bytes[4] = UInt8(sum >> 8); bytes[5] = UInt8(sum & 0xFF)
        #expect(parse(bytes) == .unknownType(type))
    }

    @Test("Payload Proto other than 59")
    func badPayloadProto() {
        var bytes = exampleA
        bytes[0] = 6
        #expect(parse(bytes) == .badPayloadProto(6))
    }

    @Test("Header too short for the message type")
    func tooShortForType() {
        // A BE needs 24 octets; Header Len 0 gives 8.
        let bytes: [UInt8] = [0x3b, 0, 7, 0, 0, 0, 1, 0]
        var buffer = ByteBuffer(bytes: bytes)
        #expect(throws: MobilityParseError.headerTooShortForType(type: 7, headerLength: 0)) { try MobilityMessage(parsing: &buffer) }
    }

    @Test("Option problems: overrun, wrong fixed length, BID length, selector range without start")
    func badOptions() {
        func body(_ options: [UInt8]) -> [UInt8] {
            var m: [UInt8] = [0x3b, 0, 5, 0, 0, 0, 0, 1, 0xc4, 0, 0, 1] + options
            while m.count % 8 != 0 { m.append(0) }
            m[1] = UInt8(m.count / 8 - 1)
            return m
        }
        func structural(_ bytes: [UInt8]) -> MobilityParseError? {
            var b = ByteBuffer(bytes: bytes)
            do { _ = try MobilityMessage(parsing: &b); return nil } catch { return error }
        }
        #expect(structural(body([6, 40, 0, 0])) == .optionOverrun(type: 6, offset: 12))
        #expect(structural(body([6, 2, 0, 64])) == .badOptionLength(type: 6, length: 2))
        #expect(structural(body([35, 6, 0, 1, 0, 0, 0, 0])) == .badOptionLength(type: 35, length: 6))
        #expect(structural(body([2, 1, 0])) == .badOptionLength(type: 2, length: 1))
        #expect(structural(body([6, 18, 0, 200] + Array(repeating: 0, count: 16))) == .badFieldValue("prefix length 200 > 128"))
        // Flow Identification with a TS whose flags name B (source end) without A.
        let fi: [UInt8] = [45, 14, 0, 1, 0, 1, 0, 0, 3, 6, 2, 0, 0x40, 0, 0, 0]
        guard case .badSubOption(type: 3, _) = structural(body(fi)) else { Issue.record("TS without start accepted"); return }
        let fiShort: [UInt8] = [45, 3, 0, 1, 0]
        #expect(structural(body(fiShort)) == .badOptionLength(type: 45, length: 3))
    }

    @Test("Random bytes never crash the parser")
    func randomBytes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...96, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if n >= 2 { bytes[0] = 59; bytes[1] = UInt8(max(0, n / 8 - 1)) }
            if n >= 3 { bytes[2] = [0, 5, 6, 7][Int.random(in: 0...3)] }
            var buffer = ByteBuffer(bytes: bytes)
            _ = try? MobilityMessage(parsing: &buffer)
            _ = MobilityAuthenticator.verify(ByteBuffer(bytes: bytes), keys: { _ in [1] }, careOfAddress: hoa, homeAddress: hoa)
            bytes.withUnsafeBytes { _ = FlowKey(packet: $0) }
        }
    }
}
