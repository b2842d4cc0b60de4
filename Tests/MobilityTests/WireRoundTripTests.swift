import NIOCore
import Testing
@testable import Mobility

/// One of every option this stack knows, with values that exercise each field.
let everyOption: [MobilityOption] = [
    .bindingRefreshAdvice(interval: 75),
    .alternateCareOfAddress(v6("2001:db8:2::7")),
    .nonceIndices(home: 3, careOf: 4),
    .bindingAuthorizationData([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    .mobileNetworkPrefix(IPv6Prefix("2001:db8:aaaa::/48")!),
    .linkLayerAddress(code: 2, address: [0x02, 0, 0, 0, 0, 1]),
    .nai("mr7@example.org"),
    .replayProtection(0xE875_4701_0000_0001),
    .ipv4HomeAddress(prefixLength: 32, requestPrefix: true, address: IPv4Address("192.0.2.33")!),
    .ipv4AddressAcknowledgement(status: 130, prefixLength: 24, address: IPv4Address("192.0.2.0")!),
    .natDetection(udpRequired: true, refreshTime: 0xFFFF_FFFF),
    .ipv4CareOfAddress(IPv4Address("198.51.100.9")!),
    .bindingIdentifier(BindingIdentifier(bid: 2, status: 167, homeFlag: true, priority: 127)),
    .bindingIdentifier(BindingIdentifier(bid: 3, priority: 9, careOfAddress: .v4(IPv4Address("203.0.113.5")!))),
    .bindingIdentifier(BindingIdentifier(bid: 65535, careOfAddress: .v6(v6("2001:db8:3::1")))),
    .flowSummary([1, 2, 300]),
    .flowIdentification(FlowIdentification(fid: 1, priority: 1, status: 131,
        trafficSelector: .ipv4(IPv4TrafficSelector(sourceAddress: SelectorRange(IPv4Address("10.0.0.1")!, IPv4Address("10.0.0.9")!),
            destinationAddress: SelectorRange(IPv4Address("192.0.2.1")!), spi: SelectorRange(7, 9), sourcePort: SelectorRange(5060),
            destinationPort: SelectorRange(16384, 32767), differentiatedServices: SelectorRange(0xB8), protocol: SelectorRange(17))),
        bindingReferences: [4])),
    .flowIdentification(FlowIdentification(fid: 2, priority: 9,
        trafficSelector: .ipv6(IPv6TrafficSelector(sourceAddress: SelectorRange(v6("2001:db8::1"), v6("2001:db8::ff")),
            spi: SelectorRange(1), flowLabel: SelectorRange(0x12345, 0xFFFFF), sourcePort: SelectorRange(80, 443),
            trafficClass: SelectorRange(0x20, 0x40), nextHeader: SelectorRange(6, 17))))),
    .flowIdentification(FlowIdentification(fid: 3, priority: 2, trafficSelector: .unsupported(format: 9, data: [1, 2]))),
    .flowIdentification(FlowIdentification(fid: 4, priority: 3)),
    .unknown(type: 200, data: [9, 9, 9]),
    .authentication(MobilityAuthentication(spi: 0x1234_5678, authenticator: Array(repeating: 0xAB, count: 12))),
]

@Suite("Round trips")
struct WireRoundTripTests {
    @Test("Every option survives write then parse, alone and all together", arguments: everyOption.indices)
    func optionRoundTrip(index: Int) throws {
        let option = everyOption[index]
        let message = MobilityMessage.bindingUpdate(BindingUpdate(sequence: 1, flags: .acknowledge, lifetime: 1, options: [option]))
        var encoded = message.encode(source: hoa, destination: haInner)
        #expect(encoded.readableBytes % 8 == 0)
        #expect(try MobilityMessage(parsing: &encoded, source: hoa, destination: haInner) == message)
    }

    @Test("All options in one message, in each message type")
    func everyMessageRoundTrip() throws {
        let messages: [MobilityMessage] = [
            .bindingUpdate(BindingUpdate(sequence: 65535, flags: BindingUpdateFlags(rawValue: 0xFFC0), lifetime: 65535, options: everyOption)),
            .bindingAcknowledgement(BindingAcknowledgement(status: 4, flags: [.keyManagement, .mobileRouter, .proxyRegistration, .tlvHeader], sequence: 1, lifetime: 2, options: everyOption)),
            .bindingError(BindingError(status: 2, homeAddress: hoa, options: everyOption)),
            .bindingRefreshRequest(BindingRefreshRequest(options: everyOption)),
            .bindingUpdate(BindingUpdate(sequence: 0, flags: [], lifetime: 0)),
            .bindingAcknowledgement(BindingAcknowledgement(status: 135, sequence: 3, lifetime: 0)),
            .bindingError(BindingError(status: 1, homeAddress: hoa)),
            .bindingRefreshRequest(BindingRefreshRequest()),
        ]
        for message in messages {
            var encoded = message.encode(source: hoa, destination: haInner, authentication: testKey, careOfAddress: coa1, homeAddress: hoa)
            let copy = encoded
            let parsed = try MobilityMessage(parsing: &encoded, source: hoa, destination: haInner)
            // The signed copy differs from `message` only in the authenticator bytes.
            let stripped = parsed.options.map { o -> MobilityOption in
                if case .authentication(var a) = o { a.authenticator = Array(repeating: 0xAB, count: 12); a.spi = 0x1234_5678; return .authentication(a) }
                return o
            }
            #expect(stripped == message.options)
            if message.options.contains(where: { if case .authentication = $0 { return true }; return false }) {
                #expect(MobilityAuthenticator.verify(copy, keys: { $0 == 256 ? testKey.key : nil }, careOfAddress: coa1, homeAddress: hoa) == .valid(spi: 256))
            }
        }
    }

    @Test("Each message type's own init(parsing:) accepts its bytes and refuses the others")
    func perTypeParsers() throws {
        var a = ByteBuffer(bytes: exampleA)
        #expect(try BindingUpdate(parsing: &a).sequence == 7)
        var b = ByteBuffer(bytes: exampleB)
        #expect(try BindingAcknowledgement(parsing: &b).lifetime == 150)
        var be = MobilityMessage.bindingError(BindingError(status: 1, homeAddress: hoa)).encode(source: haInner, destination: hoa)
        #expect(try BindingError(parsing: &be).homeAddress == hoa)
        var brr = MobilityMessage.bindingRefreshRequest(BindingRefreshRequest(options: [.bindingIdentifier(BindingIdentifier(bid: 4))])).encode(source: haInner, destination: hoa)
        #expect(try BindingRefreshRequest(parsing: &brr).options.count == 1)
        var wrong = ByteBuffer(bytes: exampleB)
        #expect(throws: MobilityParseError.unknownType(6)) { try BindingUpdate(parsing: &wrong) }
    }

    @Test("Sequence wrap and NTP conversion")
    func ntp() {
        #expect(NTPTimestamp.seconds(NTPTimestamp.from(unixNanoseconds: 0)) == 2_208_988_800)
        let t = NTPTimestamp.from(unixNanoseconds: 1_500_000_000)
        #expect(t & 0xFFFF_FFFF == 0x8000_0000)
    }

    @Test("Traffic selectors match the header fields they name")
    func selectorMatching() throws {
        let udp = FlowKey(source: .v6(v6("2001:db8::5")), destination: .v6(v6("2001:db8:aaaa:1::5")), nextHeader: 17, sourcePort: 9, destinationPort: 5004, trafficClass: 0xB9)
        let sel = IPv6TrafficSelector(destinationAddress: SelectorRange(v6("2001:db8:aaaa:1::5")), destinationPort: SelectorRange(5004, 5005), trafficClass: SelectorRange(0xB8), nextHeader: SelectorRange(17))
        #expect(sel.matches(udp))
        var other = udp
        other.destinationPort = 5006
        #expect(!sel.matches(other))
        other = udp
        other.nextHeader = 6
        #expect(!sel.matches(other))
    }
}
