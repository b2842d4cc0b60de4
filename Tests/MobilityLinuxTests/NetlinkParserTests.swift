import Mobility
import Testing
@testable import MobilityLinux

@Suite("rtnetlink parsing")
struct NetlinkParserTests {
    func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    func le32(_ v: UInt32) -> [UInt8] { le16(UInt16(v & 0xFFFF)) + le16(UInt16(v >> 16)) }
    func attr(_ type: UInt16, _ data: [UInt8]) -> [UInt8] {
        var a = le16(UInt16(4 + data.count)) + le16(type) + data
        while a.count % 4 != 0 { a.append(0) }
        return a
    }
    func message(_ type: UInt16, _ body: [UInt8]) -> [UInt8] {
        le32(UInt32(16 + body.count)) + le16(type) + le16(0) + le32(1) + le32(0) + body
    }

    @Test("Link up/down and global addresses become events; tentative and link-local ones do not count")
    func parse() {
        let linkUp = message(16, [0, 0] + le16(1) + le32(7) + le32(0x1 | 0x40) + le32(0) + attr(3, Array("wa\0".utf8)))
        let linkDown = message(16, [0, 0] + le16(1) + le32(7) + le32(0x1) + le32(0) + attr(3, Array("wa\0".utf8)))
        let global = message(20, [10, 64, 0, 0] + le32(7) + attr(1, IPv6Address("2001:db8:1::100")!.octets))
        let tentative = message(20, [10, 64, 0x40, 0] + le32(7) + attr(1, IPv6Address("2001:db8:1::101")!.octets))
        let linkLocal = message(20, [10, 64, 0, 253] + le32(7) + attr(1, IPv6Address("fe80::1")!.octets))
        let v4 = message(20, [2, 24, 0, 0] + le32(8) + attr(2, [203, 0, 113, 100]) + attr(1, [203, 0, 113, 100]))
        let removed = message(21, [10, 64, 0, 0] + le32(7) + attr(1, IPv6Address("2001:db8:1::100")!.octets))
        let all = linkUp + linkDown + global + tentative + linkLocal + v4 + removed
        let events = all.withUnsafeBytes { parseRouteNetlink($0) }
        #expect(events == [
            .link(index: 7, name: "wa", up: true),
            .link(index: 7, name: "wa", up: false),
            .address(index: 7, address: IPAddress("2001:db8:1::100")!, prefixLength: 64),
            .addressRemoved(index: 7, address: IPAddress("2001:db8:1::101")!),
            .address(index: 8, address: IPAddress("203.0.113.100")!, prefixLength: 24),
            .addressRemoved(index: 7, address: IPAddress("2001:db8:1::100")!),
        ])
        // Truncated and garbage input: no crash, no events past the damage.
        for n in 0..<all.count {
            _ = Array(all.prefix(n)).withUnsafeBytes { parseRouteNetlink($0) }
        }
    }
}
