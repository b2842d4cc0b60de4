import Testing
import Timekeeping
@testable import Mobility

/// Make-before-break with MCoA: the HA duplicates unclaimed downlink over every binding and the
/// MR drops the second copy.
@Suite("Make-before-break")
struct MakeBeforeBreakTests {
    @Test("duplicateDownlink: traffic no flow binding claims goes over both bindings, then over the one left; flow bindings still pick their own")
    func duplicatedDownlink() {
        var config = haConfiguration()
        config.accounts[0].duplicateDownlink = true
        var h = Harness(ha: config)
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        #expect(h.ha.downlinkPaths(for: h.udp(to: 53)) == [h.path("wlan"), h.path("cell")])
        #expect(h.ha.downlinkPaths(for: h.udp(to: 20000)) == [h.path("cell")])   // RTP policy
        h.down("cell")
        #expect(h.ha.downlinkPaths(for: h.udp(to: 53)) == [h.path("wlan")])
        // Off by default: only the preferred binding.
        var plain = Harness()
        plain.up("wlan", wlanCoA)
        plain.up("cell", cellCoA)
        #expect(plain.ha.downlinkPaths(for: plain.udp(to: 53)) == [plain.path("wlan")])
    }

    @Test("A flow policy that duplicates is bound to every registered uplink of its list: the HA sends its packets down each, then down the one left")
    func duplicatedFlow() {
        var mr = mrConfiguration()
        mr.flowPolicies[0].duplicate = true          // the RTP policy: cell, then wlan
        var h = Harness(mr: mr)
        let rtpOut = FlowKey(source: .v6(v6("2001:db8:aaaa:1::5")), destination: .v6(v6("2001:db8:c::5")), nextHeader: 17,
                             sourcePort: 20000, destinationPort: 7000)
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        #expect(h.ha.downlinkPaths(for: h.udp(to: 20000)) == [h.path("cell"), h.path("wlan")])
        #expect(h.ha.downlinkPaths(for: h.udp(to: 9999, from: 5060)) == [h.path("cell")])   // SIP: one uplink
        #expect(h.mr.uplink(for: rtpOut) == "cell")                   // uplink: the first only
        h.down("cell")
        #expect(h.ha.downlinkPaths(for: h.udp(to: 20000)) == [h.path("wlan")])
        #expect(h.mr.uplink(for: rtpOut) == "wlan")
    }

    @Test("The filter drops a second copy within the window, passes it after, and passes distinct packets")
    func duplicateFilter() {
        var f = DuplicatePacketFilter(slots: 64, window: .milliseconds(500))
        let t0 = Instant.seconds(1_800_000_000)
        let a: [UInt8] = Array(0..<100)
        var b = a
        b[99] ^= 1
        func seen(_ bytes: [UInt8], after d: Duration) -> Bool {
            bytes.withUnsafeBytes { f.isDuplicate($0, now: t0 + d) }
        }
        let first = seen(a, after: .zero), copy = seen(a, after: .milliseconds(30))
        let other = seen(b, after: .milliseconds(31)), late = seen(a, after: .seconds(2))
        #expect(!first)
        #expect(copy)
        #expect(!other)
        #expect(!late)
        // Odd lengths and a one-octet difference at the front change the hash too.
        let c: [UInt8] = [1, 2, 3], d: [UInt8] = [0, 2, 3]
        #expect(c.withUnsafeBytes(DuplicatePacketFilter.hash) != d.withUnsafeBytes(DuplicatePacketFilter.hash))
    }
}
