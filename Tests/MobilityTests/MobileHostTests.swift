import Testing
import Timekeeping
@testable import Mobility

/// A mobile host (RFC 6275): the same node signs up with no prefix, only its home address moves.
/// Its BUs carry no R flag and no prefix; the HA binds the home address alone; a host account
/// refuses the R flag.
@Suite("Mobile hosts: no prefix, no R flag, the home address bound over every uplink")
struct MobileHostTests {
    static func hostHA(routerAllowed: Bool = false) -> HomeAgentConfiguration {
        haConfiguration(prefixes: [], routerAllowed: routerAllowed)
    }

    @Test func aHostRegistersItsHomeAddressOverEachUplinkWithoutTheRFlag() throws {
        var h = Harness(ha: Self.hostHA(), mr: mrConfiguration(prefixes: []))
        #expect(!h.mr.configuration.isMobileRouter)
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        #expect(!h.sent.isEmpty)
        for (_, _, bu) in h.sent {
            #expect(!bu.flags.contains(.mobileRouter))
            #expect(!bu.options.contains { if case .mobileNetworkPrefix = $0 { true } else { false } })
        }
        #expect(h.acks.allSatisfy { $0.status == BindingStatus.accepted && !$0.flags.contains(.mobileRouter) })
        #expect(h.mr.bindingUpdateList.values.allSatisfy { $0.state == .registered })
        let entry = try #require(h.ha.cache[mrHome])
        #expect(!entry.isMobileRouter && entry.prefixes.isEmpty && entry.bindings.count == 2)
        // Traffic to the home address goes to the host; nothing else is routed to it.
        #expect(h.ha.cache.entry(forDestination: mrHome) != nil)
        #expect(h.ha.cache.entry(forDestination: mnp.address) == nil)
        // It moves like a router: one uplink down, the other still carries it.
        h.down("wlan")
        #expect(h.mr.defaultUplink == "cell")
        #expect(h.ha.cache[mrHome]?.bindings.count == 1)
    }

    @Test func aHostAccountRefusesTheRFlagWith140() throws {
        var h = Harness(ha: Self.hostHA(), mr: mrConfiguration())
        h.up("wlan", wlanCoA)
        #expect(h.acks.last?.status == BindingStatus.mobileRouterOperationNotPermitted)
        #expect(h.ha.cache[mrHome]?.bindings.isEmpty ?? true)
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .failed)
    }
}
