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
        #expect(h.mrEvents.contains { if case .rejected(_, _, BindingStatus.administrativelyProhibited, _, _) = $0 { true } else { false } })
        #expect(h.ha.counters["rejected_revoked", default: 0] > 0)
        // Served again: it registers again.
        let back = h.ha.replaceAccounts(haConfiguration().accounts, now: h.now).changes
        #expect(back.added == [mrHome])
        h.down("wlan"); h.down("cell")
        h.up("wlan", wlanCoA)
        #expect(h.ha.cache[mrHome]?.bindings.count == 1)
    }

    @Test func aRefusedRouterTriesAgainSlowlyAndComesBackByItselfWhenServedAgain() throws {
        var h = registered()
        _ = h.ha.replaceAccounts([otherAccount], now: h.now)
        h.mrEvents = []
        // Its next refresh is refused on both uplinks.
        for _ in 0..<600 where !h.mrEvents.contains(where: { if case .rejected = $0 { true } else { false } }) { h.advance(by: .seconds(1)) }
        #expect(h.mr.bindingUpdateList.values.allSatisfy { $0.state == .failed && $0.refusals == 1 })
        let firstWaits = h.mrEvents.compactMap { if case .rejected(_, _, _, _, let wait) = $0 { wait } else { nil } }
        #expect(!firstWaits.isEmpty && firstWaits.allSatisfy { $0 == MobilityTimers.initialRefusalRetry })
        // Still refused: each try waits twice as long as the one before, up to the maximum.
        let sentBefore = h.sent.count
        h.advance(by: .seconds(30 + 60 + 1))
        #expect(h.mr.bindingUpdateList.values.allSatisfy { $0.state == .failed && $0.refusals == 3 })
        #expect(h.sent.count - sentBefore == 2 * 2)  // two tries on each of the two uplinks
        let waits = h.mrEvents.compactMap { if case .rejected(_, _, _, _, let wait) = $0 { wait } else { nil } }
        #expect(Set(waits) == [.seconds(30), .seconds(60), .seconds(120)])
        h.advance(by: .seconds(3600))
        #expect(h.mr.bindingUpdateList.values.allSatisfy { $0.refusals >= 6 })
        let last = h.mrEvents.compactMap { if case .rejected(_, _, _, _, let wait) = $0 { wait } else { nil } }.last
        #expect(last == MobilityTimers.maximumRefusalRetry)
        // Served again: the next try registers both uplinks, no link change and no restart needed.
        _ = h.ha.replaceAccounts(haConfiguration().accounts + [otherAccount], now: h.now)
        h.advance(by: MobilityTimers.maximumRefusalRetry)
        #expect(h.mr.bindingUpdateList.values.allSatisfy { $0.state == .registered && $0.refusals == 0 && $0.retryAt == nil })
        #expect(h.ha.cache[mrHome]?.bindings.count == 2)
        #expect(h.mr.counters["refusal_retries", default: 0] >= 2)
    }

    @Test func aRefusedUplinkThatLosesItsLinkForgetsItsRetryAndTriesAtOnceWhenItReturns() throws {
        var h = registered()
        _ = h.ha.replaceAccounts([otherAccount], now: h.now)
        h.advance(by: .seconds(600))
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .failed)
        _ = h.ha.replaceAccounts(haConfiguration().accounts, now: h.now)
        h.down("wlan")
        #expect(h.mr.bindingUpdateList["wlan"]?.retryAt == nil)
        h.up("wlan", wlanCoA)
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
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
