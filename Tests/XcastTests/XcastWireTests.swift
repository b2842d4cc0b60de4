import Foundation
import NIOCore
import Testing
@testable import Xcast

@Suite struct XcastWireTests {
    /// docs/xcast.md §3 "Example": these are the octets printed there.
    @Test func documentedExample() throws {
        let h = XcastHeader(channel: ChannelID(name: "car42")!,
                            destinations: [Endpoint("[2001:db8:1::10]:5004")!, Endpoint("[2001:db8:2::20]:5006")!])
        var b = ByteBuffer()
        h.write(to: &b)
        let documented: [UInt8] = [
            0x58, 0x36, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00,
            0x3c, 0x07, 0xfd, 0x00, 0x10, 0x02, 0xfd, 0x9a,
            0x63, 0x61, 0x72, 0x34, 0x32, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
            0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
            0x11, 0x00, 0x5e, 0x04, 0x13, 0x8c, 0x13, 0x8e,
        ]
        #expect(Fixture.bytes(b) == documented)
        // and the page itself still shows them
        let doc = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/XcastTests/XcastWireTests.swift", with: "docs/xcast.md"), encoding: .utf8)
        for row in stride(from: 0, to: documented.count, by: 8) {
            let line = String(format: "%3d  ", row) + documented[row..<(row + 8)].map { String(format: "%02x", $0) }.joined(separator: " ")
            #expect(doc.contains(line), "docs/xcast.md lacks row \(line)")
        }
        var r = b
        #expect(try XcastHeader(parsing: &r) == h)
        #expect(r.readableBytes == 0)
    }

    @Test(arguments: [1, 2, 3, 4, 5, 63, 64, 65, 100, 125])
    func roundTrip(count: Int) throws {
        var bitmap = XcastBitmap(allOf: count)
        if count > 3 { bitmap[1] = false }
        let h = XcastHeader(channel: Fixture.channel, destinations: Fixture.destinations(count, prefixes: 3), hopLimit: 7,
                            stayXcast: count % 2 == 0, bitmap: bitmap)
        let payload: [UInt8] = Array(0..<200).map { UInt8($0) }
        var b = Fixture.datagram(h, payload: payload)
        #expect(b.readableBytes == XcastWire.overhead(destinations: count) + payload.count)
        let d = try XcastDatagram(parsing: b)
        #expect(d.count == count)
        #expect(Array(d.payload.readableBytesView) == payload)
        #expect(try XcastHeader(parsing: &b) == h)
        #expect(b.readBytes(length: b.readableBytes)! == payload)
    }

    @Test func anonymousHeaderHidesDeadAddresses() throws {
        var bitmap = XcastBitmap(allOf: 3)
        bitmap[0] = false
        let h = XcastHeader(channel: Fixture.channel, destinations: Fixture.destinations(3), anonymous: true, bitmap: bitmap)
        var b = Fixture.datagram(h)
        let back = try XcastHeader(parsing: &b)
        #expect(back.anonymous)
        #expect(back.destinations[0].address == .unspecified)
        #expect(back.destinations[1] == h.destinations[1])
    }

    @Test func groupsSplitLargeListsIntoSeveralHeaders() {
        let all = Fixture.destinations(300)
        let groups = XcastHeader.groups(all)
        #expect(groups.map(\.count) == [125, 125, 50])
        #expect(Array(groups.joined()) == all)
        #expect(XcastHeader.groups(all, perPacket: 10).count == 30)
    }

    @Test func controlMessagesRoundTrip() throws {
        let token = SessionToken("s3cret-token")!
        let messages: [ControlMessage] = [
            .request(MembershipRequest(channel: Fixture.channel, token: token, member: Fixture.endpoint("[2001:db8::7]:6000"), lifetime: 30)),
            .request(MembershipRequest(leave: true, channel: Fixture.channel, token: token, member: Endpoint(address: .unspecified, port: 6000), lifetime: 0)),
            .reply(MembershipReply(channel: Fixture.channel, member: Fixture.endpoint("[2001:db8::7]:6000"), verdict: .accepted(lifetime: 30))),
            .reply(MembershipReply(channel: Fixture.channel, member: Fixture.endpoint("[2001:db8::7]:6000"), verdict: .refused(.badToken))),
            .query(MembersQuery(channel: Fixture.channel, token: token)),
            .members(MembersList(channel: Fixture.channel, entries: [.init(member: Fixture.endpoint("[2001:db8::7]:6000"), secondsLeft: 12)])),
        ]
        for m in messages {
            var b = ByteBuffer()
            m.write(to: &b)
            #expect(try ControlMessage(parsing: &b) == m)
        }
    }

    @Test func endpointsAndTablesParse() throws {
        #expect(Endpoint("[::1]:0") == nil)
        #expect(Endpoint("::1:5004") == nil)
        #expect(Endpoint("[2001:db8::1]:5004")?.port == 5004)
        let t = try RouteTable(parsing: """
            # comment
            2001:db8:1::/48   relay [2001:db8:1::1]:4000
            2001:db8::/32     direct   # the rest of the documentation prefix
            local [2001:db8::5]:5004
            """)
        #expect(t.routes.count == 2)
        #expect(t.relays == [Endpoint("[2001:db8:1::1]:4000")!])
        #expect(t.lookup(IPv6Address("2001:db8:1::9")!) == 0)
        #expect(t.routes[t.lookup(IPv6Address("2001:db8:7::9")!)!].nextHop == .direct)
        #expect(t.lookup(IPv6Address("2001:db9::1")!) == nil)
        #expect(t.local.contains(Endpoint("[2001:db8::5]:5004")!))
        #expect(throws: RouteTable.TableError(line: 2, reason: .badNextHop("via x"))) { try RouteTable(parsing: "::/0 direct\n::/0 via x") }
        #expect(throws: RouteTable.TableError(line: 1, reason: .badPrefixLength("::/129"))) { try RouteTable(parsing: "::/129 direct") }
        #expect(throws: RouteTable.TableError(line: 2, reason: .duplicatePrefix("::/0"))) { try RouteTable(parsing: "::/0 direct\n::/0 direct") }
        #expect(throws: RouteTable.TableError(line: 1, reason: .badEndpoint("[::1]"))) { try RouteTable(parsing: "::/0 relay [::1]") }
    }
}
