import Mobility
@testable import MobilityLinux
import Testing

@Suite struct ReceiveBatchMemoTests {
    let path = TransportAddress(address: IPAddress("2001:db8:1::100")!, port: 4191)
    let other = TransportAddress(address: IPAddress("2001:db8:2::100")!, port: 4191)

    func ipv6(from source: String) -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 60)
        p[0] = 0x60
        p.replaceSubrange(8..<24, with: IPv6Address(source)!.octets)
        return p
    }

    func raw(_ bytes: [UInt8]) -> ReceiveBatchMemo.RawAddress? {
        bytes.withUnsafeBytes { ReceiveBatchMemo.RawAddress.source(of: $0) }
    }

    @Test func aDecisionIsReusedOnlyForTheSamePathAndSourceAndForAtMost64Packets() {
        var memo = ReceiveBatchMemo()
        func accepts(_ from: TransportAddress, _ source: ReceiveBatchMemo.RawAddress?, _ bytes: Int) -> Bool {
            memo.accepts(from: from, address: source, bytes: bytes)
        }
        func take() -> (packets: Int, bytes: Int) { memo.take() }
        let a = raw(ipv6(from: "2001:db8:aaaa:1::5"))
        #expect(!accepts(path, a, 100), "nothing decided yet")
        memo.remember(path: path, address: a)
        #expect(accepts(path, a, 100))
        #expect(!accepts(other, a, 100))
        #expect(!accepts(path, raw(ipv6(from: "2001:db8:aaaa:1::6")), 100))
        for _ in 1..<ReceiveBatchMemo.maximumReuse { #expect(accepts(path, a, 10)) }
        #expect(!accepts(path, a, 10), "a full check again after 64 reuses")
        let counted = take()
        #expect(counted.packets == 64 && counted.bytes == 100 + 63 * 10)
        #expect(take().packets == 0)
        memo.remember(path: path, address: a)
        memo.forget()
        #expect(!accepts(path, a, 100), "a refusal forgets")
        #expect(!accepts(path, nil, 100))
    }

    @Test func rawSourcesTellIPv4FromIPv6AndRefuseShortPackets() {
        var v4 = [UInt8](repeating: 0, count: 20)
        v4[0] = 0x45
        v4.replaceSubrange(12..<16, with: [192, 0, 2, 77])
        #expect(raw(v4) != nil && raw(v4) != raw(ipv6(from: "::c000:24d")))
        #expect(raw(Array(v4.prefix(19))) == nil)
        #expect(raw(Array(ipv6(from: "2001:db8::1").prefix(39))) == nil)
        #expect(raw([]) == nil && raw([0x10]) == nil)
        // The destination is read from its own octets.
        var p = ipv6(from: "2001:db8::1")
        p.replaceSubrange(24..<40, with: IPv6Address("2001:db8:aaaa:1::5")!.octets)
        let destination = p.withUnsafeBytes { ReceiveBatchMemo.RawAddress.destination(of: $0) }
        #expect(destination != nil && destination != raw(p) && destination == raw(ipv6(from: "2001:db8:aaaa:1::5")))
    }
}
