@testable import Mobility
import Testing

@Suite struct AccountOwnerIndexTests {
    func account(_ hoa: String, _ prefixes: [String], spi: UInt32) -> MobileRouterAccount {
        MobileRouterAccount(homeAddress: IPv6Address(hoa)!, key: MobilityAuthenticationKey(spi: spi, key: Array(repeating: 1, count: 16)),
                            prefixes: prefixes.map { IPv6Prefix($0)! })
    }

    @Test func findsTheOwnerByHomeAddressOrTheMostSpecificPrefix() {
        let index = AccountOwnerIndex([
            account("2001:db8:ffff::10", ["2001:db8:aaaa::/48"], spi: 256),
            account("2001:db8:ffff::11", ["2001:db8:bbbb:1::/64", "2001:db8:bbbb:2::/64"], spi: 257),
            account("2001:db8:ffff::12", ["2001:db8:aaaa:7::/64"], spi: 258),
        ])
        #expect(index.owner(of: IPv6Address("2001:db8:ffff::11")!) == IPv6Address("2001:db8:ffff::11"))
        #expect(index.owner(of: IPv6Address("2001:db8:aaaa:1::5")!) == IPv6Address("2001:db8:ffff::10"))
        #expect(index.owner(of: IPv6Address("2001:db8:bbbb:2::9")!) == IPv6Address("2001:db8:ffff::11"))
        #expect(index.owner(of: IPv6Address("2001:db8:aaaa:7::1")!) == IPv6Address("2001:db8:ffff::12"))
        #expect(index.owner(of: IPv6Address("2001:db8:bbbb:3::1")!) == nil)
        #expect(index.owner(of: IPv6Address("fe80::1")!) == nil)
        // IPv4 sources: only an account's IPv4 home address.
        var withV4 = account("2001:db8:ffff::13", [], spi: 259)
        withV4.ipv4HomeAddress = IPv4Address("192.0.2.77")
        let v4 = AccountOwnerIndex([withV4])
        #expect(v4.owner(of: IPAddress("192.0.2.77")!) == IPv6Address("2001:db8:ffff::13"))
        #expect(v4.owner(of: IPAddress("192.0.2.78")!) == nil)
        #expect(v4.owner(of: IPAddress("2001:db8:ffff::13")!) == IPv6Address("2001:db8:ffff::13"))
    }

    @Test func aRevokedRoutersTrafficStillFindsItsAccountAfterAReload() {
        let a = account("2001:db8:ffff::10", ["2001:db8:aaaa::/48"], spi: 256)
        var ha = HomeAgent(configuration: HomeAgentConfiguration(address: IPv6Address("2001:db8:ffff::1")!, accounts: [a]))
        _ = ha.replaceAccounts([], now: .epoch)
        let path = TransportAddress(address: .v6(IPv6Address("2001:db8:1::100")!), port: 4191)
        #expect(ha.unknownPathSignal(from: path, source: .v6(IPv6Address("2001:db8:aaaa:1::5")!), now: .epoch) != nil)
        #expect(ha.unknownPathSignal(from: path, source: .v6(IPv6Address("2001:db8:cccc::5")!), now: .seconds(5)) == nil)
    }
}
