import Testing
import Timekeeping
@testable import Mobility

/// The home agent's accounts changed while it runs (`nemo ha` reload): revocation, re-keying, new
/// routers, and nobody else disturbed.
@Suite("Live account changes at the home agent")
struct AccountReloadTests {
    let otherHome = v6("2001:db8:ffff::20")
    var otherAccount: MobileRouterAccount {
        MobileRouterAccount(homeAddress: otherHome, identifier: "mr2@example.net", key: MobilityAuthenticationKey(spi: 300, key: Array(40...55)),
                            prefixes: [IPv6Prefix("2001:db8:bbbb::/48")!])
    }

    func registered() -> Harness {
        var h = Harness()
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        return h
    }

    @Test func aRevokedRouterLosesItsBindingsAndRoutesAtOnceAndIsRefusedWith129() throws {
        var h = registered()
        #expect(h.ha.cache[mrHome]?.bindings.count == 2)
        let (out, changes) = h.ha.replaceAccounts([otherAccount], now: h.now)
        #expect(changes.removed == [mrHome] && changes.added == [otherHome] && changes.bindingsDropped == 2)
        #expect(out.events.contains(.prefixUnrouted(IPv6Prefix("2001:db8:aaaa::/48")!)) || out.events.contains(.prefixUnrouted(mnp)))
        #expect(out.events.filter { if case .bindingRemoved(mrHome, _, "account revoked") = $0 { true } else { false } }.count == 2)
        #expect(h.ha.cache[mrHome]?.bindings.isEmpty ?? true)
        #expect(h.ha.downlinkPaths(for: h.udp(to: 53)).isEmpty)
        // Its next BU (a refresh) is answered, authenticated with its old key, with 129: the router believes it.
        h.mrEvents = []
        h.advance(by: .seconds(600))
        #expect(h.acks.last?.status == BindingStatus.administrativelyProhibited)
        #expect(h.mrEvents.contains { if case .rejected(_, _, BindingStatus.administrativelyProhibited, _) = $0 { true } else { false } })
        #expect(h.ha.counters["rejected_revoked", default: 0] > 0)
        // Served again: it registers again.
        let back = h.ha.replaceAccounts(haConfiguration().accounts, now: h.now).changes
        #expect(back.added == [mrHome])
        h.down("wlan"); h.down("cell")
        h.up("wlan", wlanCoA)
        #expect(h.ha.cache[mrHome]?.bindings.count == 1)
    }

    @Test func aNewKeyRefusesTheOldOneAndAcceptsTheNew() throws {
        var h = registered()
        let newKey = MobilityAuthenticationKey(spi: 257, key: Array(100...115))
        let changes = h.ha.replaceAccounts(haConfiguration(key: newKey).accounts, now: h.now).changes
        #expect(changes.changed == [mrHome] && changes.bindingsDropped == 2)
        // The router still signs with the old key: refused (its BA does not verify for it either).
        h.acks = []
        h.down("wlan")
        h.up("wlan", wlanCoA)
        #expect(h.acks.last?.status == BindingStatus.authenticationFailed)
        #expect(h.ha.cache[mrHome]?.bindings.isEmpty ?? true)
        // Reconfigured with the new key (what `nemo mr --join` fetches), it registers.
        h.mr = MobileRouter(configuration: mrConfiguration(key: newKey, initialSequence: 500))
        h.now = h.now + .seconds(2)  // its timestamps must be newer than the last the HA accepted
        h.up("wlan", wlanCoA)
        #expect(h.acks.last?.status == BindingStatus.accepted)
        #expect(h.ha.cache[mrHome]?.bindings.count == 1)
    }

    @Test func otherChangesLeaveEveryBindingAlone() throws {
        var h = registered()
        let before = try #require(h.ha.cache[mrHome])
        var accounts = haConfiguration(maxLifetime: 300).accounts
        accounts.append(otherAccount)
        let (out, changes) = h.ha.replaceAccounts(accounts, now: h.now)
        #expect(changes.adjusted == [mrHome] && changes.added == [otherHome] && changes.removed.isEmpty && changes.bindingsDropped == 0)
        #expect(out.events.isEmpty && out.signals.isEmpty)
        let after = try #require(h.ha.cache[mrHome])
        #expect(after.bindings.keys.sorted() == before.bindings.keys.sorted() && after.prefixes == before.prefixes)
        #expect(after.bindings.values.map(\.path).sorted { "\($0)" < "\($1)" } == before.bindings.values.map(\.path).sorted { "\($0)" < "\($1)" })
        #expect(h.ha.downlinkPaths(for: h.udp(to: 53)) == [h.path("wlan")])
        // The same list again changes nothing at all.
        #expect(h.ha.replaceAccounts(accounts, now: h.now).changes.isEmpty)
    }
}
