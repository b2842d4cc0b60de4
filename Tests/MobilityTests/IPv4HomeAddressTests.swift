import Foundation
import NIOCore
import Testing
import Timekeeping
@testable import Mobility

private let hoa4 = IPv4Address("192.0.2.77")!

/// The HA with one account that has (or lacks) an IPv4 home address; the MR asking for `ask`.
private func ipv4Harness(assigned: IPv4Address? = hoa4, ask: IPv4Address? = .unspecified, mcoa: Bool = true) -> Harness {
    var ha = haConfiguration()
    ha.accounts[0].ipv4HomeAddress = assigned
    var mr = mrConfiguration(mcoa: mcoa)
    mr.ipv4HomeAddress = ask
    return Harness(ha: ha, mr: mr)
}

private func ipv4Acks(_ acks: [BindingAcknowledgement]) -> [(status: UInt8, prefixLength: UInt8, address: IPv4Address)] {
    acks.compactMap { ba in
        ba.options.lazy.compactMap { o -> (UInt8, UInt8, IPv4Address)? in
            if case .ipv4AddressAcknowledgement(let s, let l, let a) = o { return (s, l, a) }
            return nil
        }.first
    }
}

private func udp4(from source: String, to destination: String) -> FlowKey {
    FlowKey(source: .v4(IPv4Address(source)!), destination: .v4(IPv4Address(destination)!), nextHeader: 17, sourcePort: 9, destinationPort: 9)
}

@Suite("IPv4 home addresses (RFC 5555 options 29 and 30) on the virtual clock")
struct IPv4HomeAddressTests {
    @Test("HA restart: IPv4 data from the router's path draws a Binding Error (found by its IPv4 home address); the router re-registers and gets it back")
    func restartedHomeAgentAnswersIPv4Traffic() throws {
        var h = ipv4Harness()
        h.up("wlan", wlanCoA)
        #expect(h.mr.ipv4HomeAddress == hoa4)
        var config = haConfiguration()
        config.accounts[0].ipv4HomeAddress = hoa4
        h.ha = HomeAgent(configuration: config)
        #expect(!h.ha.acceptsUplink(from: h.path("wlan"), source: .v4(hoa4)))
        // Another IPv4 source (not any account's) draws nothing.
        #expect(h.ha.unknownPathSignal(from: h.path("wlan"), source: .v4(IPv4Address("192.0.2.78")!), now: h.now) == nil)
        let signal = h.ha.unknownPathSignal(from: h.path("wlan"), source: .v4(hoa4), now: h.now)
        let be = try #require(signal)
        guard case .bindingError(let e) = be.message else { Issue.record("\(be.message)"); return }
        #expect(e.homeAddress == mrHome && e.status == BindingError.unknownBinding)
        h.deliver(h.mr.receive(mobilityHeader: be.mobilityHeader, innerSource: be.innerSource, innerDestination: be.innerDestination, via: "wlan", now: h.now))
        #expect(h.mrEvents.contains(.homeAgentLostState))
        #expect(h.ha.cache[mrHome]?.ipv4HomeAddress == hoa4)
        #expect(h.ha.acceptsUplink(from: h.path("wlan"), source: .v4(hoa4)))
    }

    @Test("0.0.0.0 is assigned the account's address: option 30 status 0, route event, data both ways, once per change")
    func assignedOnRequest() throws {
        var h = ipv4Harness()
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        // Every BU asks for one address: prefix length 32, P clear.
        for (_, _, bu) in h.sent {
            #expect(bu.options.contains(.ipv4HomeAddress(prefixLength: 32, requestPrefix: false, address: .unspecified)))
        }
        let answers = ipv4Acks(h.acks)
        #expect(answers.count == h.acks.count)
        #expect(answers.allSatisfy { $0.status == 0 && $0.prefixLength == 32 && $0.address == hoa4 })
        #expect(h.acks.allSatisfy { $0.status == 0 })
        #expect(h.ha.cache[mrHome]?.ipv4HomeAddress == hoa4)
        #expect(h.haEvents.filter { $0 == .ipv4HomeAddressRouted(hoa4, homeAddress: mrHome) }.count == 1)
        #expect(h.mr.ipv4HomeAddress == hoa4)
        #expect(h.mr.ipv4HomeAddressStatus == 0)
        #expect(h.mrEvents.filter { $0 == .ipv4HomeAddressAcquired(hoa4) }.count == 1)

        // Downlink IPv4 to the HoA goes to the preferred binding; other IPv4 destinations to nobody.
        #expect(h.ha.downlinkPaths(for: udp4(from: "198.18.0.5", to: "192.0.2.77")) == [h.path("wlan")])
        #expect(h.ha.downlinkPaths(for: udp4(from: "198.18.0.5", to: "192.0.2.78")).isEmpty)
        // Ingress filtering: only the router's own IPv4 HoA, only from its paths.
        #expect(h.ha.acceptsUplink(from: h.path("cell"), source: .v4(hoa4)))
        #expect(!h.ha.acceptsUplink(from: h.path("cell"), source: .v4(IPv4Address("192.0.2.78")!)))
        #expect(!h.ha.acceptsUplink(from: TransportAddress(address: wlanCoA, port: 1), source: .v4(hoa4)))
        #expect(h.mr.acceptsDownlink(destination: .v4(hoa4)))
        #expect(!h.mr.acceptsDownlink(destination: .v4(IPv4Address("192.0.2.78")!)))
        #expect(h.mr.uplink(for: udp4(from: "192.0.2.77", to: "198.18.0.5")) != nil)

        // Refreshes keep it without new events.
        let haEvents = h.haEvents.count
        h.advance(by: .seconds(1200))
        #expect(h.ha.cache[mrHome]?.ipv4HomeAddress == hoa4)
        #expect(h.haEvents[haEvents...].allSatisfy { if case .ipv4HomeAddressRouted = $0 { return false }; if case .ipv4HomeAddressUnrouted = $0 { return false }; return true })
        #expect(h.mrEvents.filter { $0 == .ipv4HomeAddressAcquired(hoa4) }.count == 1)
    }

    @Test("Asking for the account's own address is status 0 too (one care-of address)")
    func askingForItsOwn() throws {
        var h = ipv4Harness(ask: hoa4, mcoa: false)
        h.up("wlan", wlanCoA)
        #expect(ipv4Acks(h.acks).last.map { $0.status == 0 && $0.address == hoa4 } == true)
        #expect(h.ha.cache[mrHome]?.ipv4HomeAddress == hoa4)
        #expect(h.mr.ipv4HomeAddress == hoa4)
        #expect(h.ha.downlinkPaths(for: udp4(from: "198.18.0.5", to: "192.0.2.77")) == [h.path("wlan")])
    }

    @Test("Another address: 130, the IPv6 binding is still registered, nothing IPv4 is bound")
    func incorrectAddress() throws {
        var h = ipv4Harness(ask: IPv4Address("192.0.2.99")!)
        h.up("wlan", wlanCoA)
        #expect(h.acks.last?.status == 0)
        #expect(ipv4Acks(h.acks).last?.status == IPv4AddressAcknowledgementStatus.incorrectIPv4HomeAddress)
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
        #expect(h.ha.cache[mrHome]?.bindings[1] != nil)
        #expect(h.ha.cache[mrHome]?.ipv4HomeAddress == nil)
        #expect(!h.haEvents.contains { if case .ipv4HomeAddressRouted = $0 { return true }; return false })
        #expect(h.mr.ipv4HomeAddress == nil)
        #expect(h.mr.ipv4HomeAddressStatus == 130)
        #expect(h.mrEvents.filter { $0 == .ipv4HomeAddressRefused(status: 130) }.count == 1)
        #expect(h.ha.downlinkPaths(for: udp4(from: "198.18.0.5", to: "192.0.2.99")).isEmpty)
        #expect(!h.ha.acceptsUplink(from: h.path("wlan"), source: .v4(IPv4Address("192.0.2.99")!)))
        // Reported once, not on every refresh.
        h.advance(by: .seconds(1200))
        #expect(h.mrEvents.filter { $0 == .ipv4HomeAddressRefused(status: 130) }.count == 1)
    }

    @Test("An account without an IPv4 home address: 132, the IPv6 binding is accepted")
    func noneAvailable() throws {
        var h = ipv4Harness(assigned: nil)
        h.up("wlan", wlanCoA)
        #expect(h.acks.last?.status == 0)
        #expect(ipv4Acks(h.acks).last?.status == IPv4AddressAcknowledgementStatus.dynamicIPv4HomeAddressNotAvailable)
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
        #expect(h.ha.cache[mrHome]?.ipv4HomeAddress == nil)
        #expect(h.mr.ipv4HomeAddress == nil)
        #expect(h.mr.ipv4HomeAddressStatus == 132)
    }

    @Test("A router that asks for none gets no option 30 and no IPv4 binding")
    func notAsked() throws {
        var h = ipv4Harness(ask: nil)
        h.up("wlan", wlanCoA)
        #expect(h.sent.allSatisfy { !$0.2.options.contains { if case .ipv4HomeAddress = $0 { return true }; return false } })
        #expect(ipv4Acks(h.acks).isEmpty)
        #expect(h.ha.cache[mrHome]?.ipv4HomeAddress == nil)
        #expect(h.mr.ipv4HomeAddressStatus == nil)
    }

    @Test("Option 29 answers: P flag 133, multicast 131, 0.0.0.0 and the own address 0, others 130, none configured 132")
    func answers() {
        func status(_ a: String, p: Bool = false, assigned: IPv4Address? = hoa4) -> UInt8? {
            guard let answer = IPv4HomeAddressAnswer.decide(requested: (32, p, IPv4Address(a)!), assigned: assigned),
                  case .ipv4AddressAcknowledgement(let s, _, _) = answer.acknowledgement else { return nil }
            return s
        }
        #expect(status("0.0.0.0") == 0)
        #expect(status("192.0.2.77") == 0)
        #expect(status("192.0.2.78") == 130)
        #expect(status("224.0.0.1") == 131)
        #expect(status("0.0.0.0", p: true) == 133)
        #expect(status("0.0.0.0", assigned: nil) == 132)
        #expect(IPv4HomeAddressAnswer.decide(requested: nil, assigned: hoa4) == nil)
        #expect(IPv4HomeAddressAnswer.decide(requested: (32, false, .unspecified), assigned: hoa4)?.bound == hoa4)
        #expect(IPv4HomeAddressAnswer.decide(requested: (32, false, IPv4Address("192.0.2.78")!), assigned: hoa4)?.bound == nil)
    }

    @Test("A BU without option 29 removes the IPv4 binding and keeps IPv6")
    func removedByBUWithoutOption() throws {
        var h = ipv4Harness(mcoa: false)
        h.up("wlan", wlanCoA)
        #expect(h.ha.cache[mrHome]?.ipv4HomeAddress == hoa4)
        // The same router restarted without asking for an IPv4 home address.
        h.now = h.now + .seconds(2)
        var plain = MobileRouter(configuration: mrConfiguration(mcoa: false, initialSequence: h.mr.sequence &+ 10))
        swap(&plain, &h.mr)
        h.up("wlan", wlanCoA)
        #expect(h.acks.last?.status == 0)
        #expect(ipv4Acks([h.acks.last!]).isEmpty)
        #expect(h.ha.cache[mrHome]?.bindings[0] != nil)
        #expect(h.ha.cache[mrHome]?.ipv4HomeAddress == nil)
        #expect(h.haEvents.last == .ipv4HomeAddressUnrouted(hoa4, homeAddress: mrHome))
        #expect(h.ha.downlinkPaths(for: udp4(from: "198.18.0.5", to: "192.0.2.77")).isEmpty)
        #expect(!h.ha.acceptsUplink(from: h.path("wlan"), source: .v4(hoa4)))
    }

    @Test("De-registration, expiry and an account change remove it; a per-BID de-registration does not")
    func removal() throws {
        // De-registration of everything.
        var h = ipv4Harness()
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        h.down("cell")  // per-BID de-registration over wlan: the IPv4 HoA stays with the other binding
        #expect(h.ha.cache[mrHome]?.bindings.keys.sorted() == [1])
        #expect(h.ha.cache[mrHome]?.ipv4HomeAddress == hoa4)
        #expect(h.mr.ipv4HomeAddress == hoa4)
        h.deliver(h.mr.deregisterAll(now: h.now))
        #expect(h.haEvents.contains(.ipv4HomeAddressUnrouted(hoa4, homeAddress: mrHome)))
        #expect(h.ha.downlinkPaths(for: udp4(from: "198.18.0.5", to: "192.0.2.77")).isEmpty)
        #expect(h.mr.ipv4HomeAddress == nil)
        #expect(h.mrEvents.contains(.ipv4HomeAddressLost(hoa4, reason: "de-registered")))

        // Expiry at the HA.
        var e = ipv4Harness()
        e.up("wlan", wlanCoA)
        e.dropToHA = true
        e.advance(by: .seconds(700))
        #expect(e.haEvents.contains(.ipv4HomeAddressUnrouted(hoa4, homeAddress: mrHome)))
        #expect(e.ha.cache.ownerAndEntry(forIPv4HomeAddress: hoa4) == nil)

        // The account's IPv4 home address changes on reload: bindings dropped, route removed.
        var r = ipv4Harness()
        r.up("wlan", wlanCoA)
        var accounts = r.ha.configuration.accounts
        accounts[0].ipv4HomeAddress = IPv4Address("192.0.2.88")!
        let (out, changes) = r.ha.replaceAccounts(accounts, now: r.now)
        #expect(changes.changed == [mrHome])
        #expect(out.events.contains(.ipv4HomeAddressUnrouted(hoa4, homeAddress: mrHome)))
    }

    @Test("The saved binding cache keeps the IPv4 home address; files without it still load")
    func snapshot() throws {
        var h = ipv4Harness()
        h.up("wlan", wlanCoA)
        let snapshot = BindingCacheSnapshot(h.ha.cache)
        #expect(snapshot.entries.first?.ipv4HomeAddress == "192.0.2.77")
        let data = try JSONEncoder().encode(snapshot)
        let decoded = try JSONDecoder().decode(BindingCacheSnapshot.self, from: data)
        #expect(decoded == snapshot)
        var restarted = HomeAgent(configuration: h.ha.configuration)
        let (out, problems) = restarted.restore(decoded, now: h.now)
        #expect(problems.isEmpty)
        #expect(out.events.contains(.ipv4HomeAddressRouted(hoa4, homeAddress: mrHome)))
        #expect(restarted.downlinkPaths(for: udp4(from: "198.18.0.5", to: "192.0.2.77")) == [h.path("wlan")])

        // An old file (no such key) loads with no IPv4 binding.
        var json = try #require(String(data: data, encoding: .utf8))
        json = json.replacingOccurrences(of: #","ipv4HomeAddress":"192.0.2.77""#, with: "")
            .replacingOccurrences(of: #""ipv4HomeAddress":"192.0.2.77","#, with: "")
        #expect(!json.contains("ipv4HomeAddress"))
        let old = try JSONDecoder().decode(BindingCacheSnapshot.self, from: Data(json.utf8))
        var again = HomeAgent(configuration: h.ha.configuration)
        let (_, oldProblems) = again.restore(old, now: h.now)
        #expect(oldProblems.isEmpty)
        #expect(again.cache[mrHome]?.bindings.isEmpty == false)
        #expect(again.cache[mrHome]?.ipv4HomeAddress == nil)

        // An address the account no longer assigns is not restored; the IPv6 binding is.
        var config = h.ha.configuration
        config.accounts[0].ipv4HomeAddress = nil
        var changed = HomeAgent(configuration: config)
        let (_, changedProblems) = changed.restore(decoded, now: h.now)
        #expect(changedProblems == [.ipv4HomeAddressNotAssigned(homeAddress: mrHome.description, address: "192.0.2.77")])
        #expect(changed.cache[mrHome]?.bindings.isEmpty == false)
        #expect(changed.cache[mrHome]?.ipv4HomeAddress == nil)
    }
    @Test("A BA without option 30 (an HA without IPv4 support) takes the address away at the MR; an unauthenticated one changes nothing")
    func homeAgentWithoutIPv4() throws {
        var h = ipv4Harness(mcoa: false)
        h.up("wlan", wlanCoA)
        #expect(h.mr.ipv4HomeAddress == hoa4)
        // The refresh goes unanswered, so the answers below are the only ones.
        h.dropToHA = true
        h.advance(by: .seconds(460))
        let o = try #require(h.mr.bindingUpdateList["wlan"]?.outstanding)
        func answer(_ options: [MobilityOption], key: MobilityAuthenticationKey?) -> ByteBuffer {
            var all = options
            if let t = o.timestamp { all.append(.replayProtection(t)) }
            if key != nil { all.append(.authentication(MobilityAuthentication(spi: mrKey.spi))) }
            let ba = BindingAcknowledgement(status: 0, flags: .mobileRouter, sequence: o.sequence, lifetime: 150, options: all)
            return MobilityMessage.bindingAcknowledgement(ba).encode(source: haHome, destination: mrHome, authentication: key,
                                                                    careOfAddress: o.careOfForAuthentication, homeAddress: mrHome)
        }
        let forged = answer([.ipv4AddressAcknowledgement(status: 0, prefixLength: 32, address: IPv4Address("192.0.2.99")!)], key: nil)
        let ignored = h.mr.receive(mobilityHeader: forged, innerSource: haHome, innerDestination: mrHome, via: "wlan", now: h.now)
        #expect(ignored.events.allSatisfy { if case .unauthenticatedAcknowledgement = $0 { return true }; return false })
        #expect(h.mr.ipv4HomeAddress == hoa4)
        let out = h.mr.receive(mobilityHeader: answer([], key: mrKey), innerSource: haHome, innerDestination: mrHome, via: "wlan", now: h.now)
        #expect(out.events.contains(.ipv4HomeAddressLost(hoa4, reason: "home agent has no IPv4 support (no IPv4 address acknowledgement)")))
        #expect(h.mr.ipv4HomeAddress == nil)
        #expect(h.mr.ipv4HomeAddressStatus == nil)
        #expect(h.mr.acceptsDownlink(destination: .v4(hoa4)) == false)
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
    }
}
