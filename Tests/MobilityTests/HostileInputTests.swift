import NIOCore
import Testing
import Timekeeping
@testable import Mobility

/// Forged, oversized and out-of-range input to the sans-I/O cores: each must change no state.
@Suite("Hostile input to the MR and HA state machines")
struct HostileInputTests {
    /// A BA as the HA would send it for `sequence`, signed with `key` (nil: no MN-HA option).
    func forgedAcknowledgement(status: UInt8, sequence: UInt16, timestamp: UInt64?, key: MobilityAuthenticationKey?, careOf: IPv6Address,
                               lifetime: UInt16 = 0, bid: UInt16 = 1, optionAfterAuthentication: Bool = false) -> ByteBuffer {
        var options: [MobilityOption] = [.bindingIdentifier(BindingIdentifier(bid: bid, priority: 1))]
        if let timestamp { options.append(.replayProtection(timestamp)) }
        if key != nil { options.append(.authentication(MobilityAuthentication(spi: 256))) }
        let ba = BindingAcknowledgement(status: status, flags: .mobileRouter, sequence: sequence, lifetime: lifetime, options: options)
        var mh = MobilityMessage.bindingAcknowledgement(ba).encode(source: haHome, destination: mrHome, authentication: key, careOfAddress: careOf, homeAddress: mrHome)
        if optionAfterAuthentication, let key {
            var octets = Array(mh.readableBytesView) + [2, 2, 0, 9, 1, 2, 0, 0]
            octets[1] = UInt8(octets.count / 8 - 1)
            octets[4] = 0
            octets[5] = 0
            let authAt = octets.count - 8 - 19
            let mac = MobilityAuthenticator.authenticator(key: key.key, careOfAddress: careOf, homeAddress: mrHome, mobilityData: octets[0..<(authAt + 7)])
            octets.replaceSubrange((authAt + 7)..<(authAt + 19), with: mac)
            mh = ByteBuffer(bytes: octets)
            mh.setInteger(InternetChecksum.mobilityHeader(mh.readableBytesView, source: haHome, destination: mrHome), at: 4)
        }
        return mh
    }

    @Test("A BA with status 146 and the right sequence number but no, a wrong, or a misplaced MN-HA option changes nothing at the MR")
    func forgedAcknowledgements() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        h.dropToHA = true
        h.up("cell", cellCoA)
        let o = try #require(h.mr.bindingUpdateList["cell"]?.outstanding)
        let wrongKey = MobilityAuthenticationKey(spi: 256, key: Array(repeating: 9, count: 16))
        let forgeries: [(ByteBuffer, String)] = [
            (forgedAcknowledgement(status: 146, sequence: o.sequence, timestamp: o.timestamp, key: nil, careOf: cellCoA.asIPv6, bid: 2), "dropped_ba_unauthenticated"),
            (forgedAcknowledgement(status: 146, sequence: o.sequence, timestamp: o.timestamp, key: wrongKey, careOf: cellCoA.asIPv6, bid: 2), "dropped_ba_unauthenticated"),
            (forgedAcknowledgement(status: 0, sequence: o.sequence, timestamp: o.timestamp, key: mrKey, careOf: cellCoA.asIPv6, lifetime: 150, bid: 2,
                                   optionAfterAuthentication: true), "dropped_ba_auth_not_last"),
        ]
        for (n, (mh, counter)) in forgeries.enumerated() {
            let before = h.mr.counters[counter] ?? 0
            let out = h.mr.receive(mobilityHeader: mh, innerSource: haHome, innerDestination: mrHome, via: "cell", now: h.now)
            #expect(out.signals.isEmpty, "forgery \(n) made the MR send")
            #expect(h.mr.counters[counter] == before + 1, "forgery \(n)")
            let e = try #require(h.mr.bindingUpdateList["cell"])
            #expect(e.state == .registering, "forgery \(n) moved the uplink to \(e.state)")
            #expect(e.lastStatus == nil)
            #expect(e.outstanding?.sequence == o.sequence)
            #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
        }
        // The real answer still lands.
        h.dropToHA = false
        h.advance(by: .seconds(2))
        #expect(h.mr.bindingUpdateList["cell"]?.state == .registered)
    }

    @Test("A BU whose MN-HA option is followed by another option is refused with 146 and changes nothing at the HA")
    func authenticationNotLast() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        let revision = h.ha.cacheRevision
        let bu = BindingUpdate(sequence: h.mr.sequence &+ 1, flags: [.acknowledge, .homeRegistration, .mobileRouter, .forceUDP], lifetime: 10,
                               options: [.mobileNetworkPrefix(mnp), .bindingIdentifier(BindingIdentifier(bid: 1, priority: 1, careOfAddress: cellCoA)),
                                         .replayProtection(h.now.ntp &+ 1000), .authentication(MobilityAuthentication(spi: 256))])
        let signed = MobilityMessage.bindingUpdate(bu).encode(source: mrHome, destination: haHome, authentication: mrKey, careOfAddress: cellCoA.asIPv6, homeAddress: mrHome)
        var octets = Array(signed.readableBytesView) + [35, 4, 0, 5, 0, 1, 1, 0]
        octets[1] = UInt8(octets.count / 8 - 1)
        octets[4] = 0
        octets[5] = 0
        let authAt = octets.count - 8 - 19
        #expect(octets[authAt] == MobilityOptionType.authentication)
        let mac = MobilityAuthenticator.authenticator(key: mrKey.key, careOfAddress: cellCoA.asIPv6, homeAddress: mrHome, mobilityData: octets[0..<(authAt + 7)])
        octets.replaceSubrange((authAt + 7)..<(authAt + 19), with: mac)
        var mh = ByteBuffer(bytes: octets)
        mh.setInteger(InternetChecksum.mobilityHeader(mh.readableBytesView, source: mrHome, destination: haHome), at: 4)
        #expect(MobilityAuthenticator.verify(mh, keys: { _ in mrKey.key }, careOfAddress: cellCoA.asIPv6, homeAddress: mrHome) == .notLast(spi: 256))
        let out = h.ha.receive(mobilityHeader: mh, innerSource: mrHome, innerDestination: haHome, from: h.path("wlan"), now: h.now)
        guard case .bindingAcknowledgement(let ba) = out.signals.first?.message else { Issue.record("no BA"); return }
        #expect(ba.status == BindingStatus.authenticationFailed)
        #expect(h.ha.cacheRevision == revision)
        #expect(h.ha.cache[mrHome]?.bindings[1]?.careOfAddress == wlanCoA)
        #expect(h.ha.counters["dropped_auth_not_last"] == 1)
        // Padding after the MN-HA option is fine.
        var pad = Array(signed.readableBytesView) + [1, 6, 0, 0, 0, 0, 0, 0]
        pad[1] = UInt8(pad.count / 8 - 1)
        pad[4] = 0
        pad[5] = 0
        let padMac = MobilityAuthenticator.authenticator(key: mrKey.key, careOfAddress: cellCoA.asIPv6, homeAddress: mrHome, mobilityData: pad[0..<(authAt + 7)])
        pad.replaceSubrange((authAt + 7)..<(authAt + 19), with: padMac)
        #expect(MobilityAuthenticator.verify(ByteBuffer(bytes: pad), keys: { _ in mrKey.key }, careOfAddress: cellCoA.asIPv6, homeAddress: mrHome) == .valid(spi: 256))
    }

    @Test("Bindings beyond the router's cap and too many flows are refused with 130; the cache keeps what it had")
    func bindingCap() throws {
        var config = haConfiguration()
        config.accounts[0].maximumBindings = 2
        var h = Harness(ha: config)
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        #expect(h.ha.cache[mrHome]?.bindings.count == 2)
        let revision = h.ha.cacheRevision
        func send(_ options: [MobilityOption], sequence: UInt16) -> UInt8? {
            let bu = BindingUpdate(sequence: sequence, flags: [.acknowledge, .homeRegistration, .mobileRouter, .forceUDP], lifetime: 10,
                                   options: [.mobileNetworkPrefix(mnp)] + options + [.replayProtection(h.now.ntp &+ UInt64(sequence)), .authentication(MobilityAuthentication(spi: 256))])
            let mh = MobilityMessage.bindingUpdate(bu).encode(source: mrHome, destination: haHome, authentication: mrKey,
                                                              careOfAddress: HomeAgent.authenticatedCareOf(bu.options), homeAddress: mrHome)
            let out = h.ha.receive(mobilityHeader: mh, innerSource: mrHome, innerDestination: haHome, from: TransportAddress(address: wlanCoA, port: 9), now: h.now)
            if case .bindingAcknowledgement(let ba) = out.signals.first?.message { return ba.status }
            return nil
        }
        let seq = h.mr.sequence
        #expect(send([.bindingIdentifier(BindingIdentifier(bid: 7, priority: 3, careOfAddress: wlanCoA))], sequence: seq &+ 1) == BindingStatus.insufficientResources)
        #expect(send((1...3).map { .bindingIdentifier(BindingIdentifier(bid: $0, priority: 3, careOfAddress: wlanCoA)) }, sequence: seq &+ 2) == BindingStatus.insufficientResources)
        #expect(send([.bindingIdentifier(BindingIdentifier(bid: 1, priority: 3, careOfAddress: wlanCoA)), .flowSummary(Array(1...65))], sequence: seq &+ 3)
                == BindingStatus.insufficientResources)
        // A de-registration naming hundreds of BIDs would need an answer longer than an MH can be.
        #expect(send((1...300).map { .bindingIdentifier(BindingIdentifier(bid: $0)) }, sequence: seq &+ 4) == BindingStatus.insufficientResources)
        #expect(h.ha.cacheRevision == revision)
        #expect(h.ha.cache[mrHome]?.bindings.keys.sorted() == [1, 2])
        #expect(h.ha.cache[mrHome]?.bindings[1]?.path == h.path("wlan"))
    }

    @Test("Binding Errors act once per second at most (they carry no authenticator)")
    func bindingErrorFlood() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        let be = MobilityMessage.bindingError(BindingError(status: BindingError.unknownBinding, homeAddress: mrHome)).encode(source: haHome, destination: mrHome)
        let first = h.mr.receive(mobilityHeader: be, innerSource: haHome, innerDestination: mrHome, via: "wlan", now: h.now)
        #expect(first.signals.count == 1)
        for _ in 0..<50 {
            let again = h.mr.receive(mobilityHeader: be, innerSource: haHome, innerDestination: mrHome, via: "wlan", now: h.now)
            #expect(again.signals.isEmpty)
        }
        #expect(h.mr.counters["binding_errors_rate_limited"] == 50)
    }

    @Test("A stray packet from no router's network does not use up the Binding Error a real one should draw")
    func bindingErrorNotSpentOnStrays() throws {
        var ha = HomeAgent(configuration: haConfiguration())
        let path = TransportAddress(address: wlanCoA, port: 40001)
        let now = Instant.seconds(1_800_000_000)
        #expect(ha.unknownPathSignal(from: path, source: .v6(v6("fe80::1")), now: now) == nil)
        #expect(ha.unknownPathSignal(from: path, source: .v6(v6("2001:db8:aaaa:1::5")), now: now) != nil)
        #expect(ha.unknownPathSignal(from: path, source: .v6(v6("2001:db8:aaaa:1::5")), now: now) == nil)
    }

    @Test("Saved binding cache: restored with its flows and routes; expired, unknown and no longer delegated entries are dropped")
    func snapshotRestore() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        let snapshot = BindingCacheSnapshot(h.ha.cache)
        #expect(snapshot.entries.count == 1)
        var restored = HomeAgent(configuration: haConfiguration())
        let (out, problems) = restored.restore(snapshot, now: h.now + .seconds(60))
        #expect(problems.isEmpty)
        #expect(out.events.contains(.prefixRouted(mnp)))
        let entry = try #require(restored.cache[mrHome])
        #expect(entry.bindings.keys.sorted() == [1, 2])
        #expect(entry.flows == h.ha.cache[mrHome]?.flows)
        #expect(entry.lastSequence == h.ha.cache[mrHome]?.lastSequence)
        #expect(restored.downlinkPaths(for: h.udp(to: 20000)) == [h.path("cell")])
        // The MR's next refresh is accepted by the restored HA (sequence and timestamp continue).
        h.ha = restored
        h.advance(by: .seconds(500))
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
        #expect(h.ha.cache[mrHome]?.bindings.count == 2)
        // Restored after the lifetimes ran out: nothing comes back.
        var late = HomeAgent(configuration: haConfiguration())
        let (_, lateProblems) = late.restore(snapshot, now: h.now + .seconds(4000))
        #expect(late.cache[mrHome] == nil)
        #expect(lateProblems.contains(.expired(homeAddress: "2001:db8:ffff::10", bid: 1)))
        // An account that no longer exists, or whose prefix was taken away.
        var other = HomeAgent(configuration: haConfiguration(prefixes: [IPv6Prefix("2001:db8:bbbb::/48")!]))
        let (_, otherProblems) = other.restore(snapshot, now: h.now)
        #expect(other.cache[mrHome] == nil)
        #expect(otherProblems == [.prefixNotDelegated(homeAddress: "2001:db8:ffff::10", prefix: "2001:db8:aaaa:1::/64")])
        var wrongVersion = snapshot
        wrongVersion.version = 99
        var v = HomeAgent(configuration: haConfiguration())
        #expect(v.restore(wrongVersion, now: h.now).problems == [.unsupportedVersion(99)])
        // A file that claims a lifetime of centuries gets the account's maximum.
        var greedy = snapshot
        greedy.entries[0].bindings[0].expires = .max
        var g = HomeAgent(configuration: haConfiguration())
        _ = g.restore(greedy, now: h.now)
        let b = try #require(g.cache[mrHome]?.bindings[greedy.entries[0].bindings[0].bid])
        #expect(b.expires <= h.now + .seconds(600))
    }

    @Test("Clock arithmetic saturates instead of trapping; keys and SPIs are checked")
    func arithmetic() {
        // Instant arithmetic saturates (Timekeeping's own tests); the NTP form clamps before 1970.
        #expect(Instant(nanoseconds: -1).ntp == NTPTimestamp.unixOffset << 32)
        #expect(MobilityAuthenticationKey(spi: 256, key: Array(1...16)).problem == nil)
        #expect(MobilityAuthenticationKey(spi: 256, key: Array(1...8)).problem == .badKeyLength(8))
        #expect(MobilityAuthenticationKey(spi: 255, key: Array(1...16)).problem == .reservedSPI(255))
    }
}
