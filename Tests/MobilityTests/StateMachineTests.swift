import NIOCore
import Testing
import Timekeeping
@testable import Mobility

@Suite("MR and HA state machines on a virtual clock")
struct StateMachineTests {
    @Test("MCoA registration of two uplinks: bindings, prefix route, BA R flag, flow bindings")
    func registration() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
        #expect(h.mr.bindingUpdateList["cell"]?.state == .registered)
        let entry = try #require(h.ha.cache[mrHome])
        #expect(entry.bindings.keys.sorted() == [1, 2])
        #expect(entry.bindings[1]?.careOfAddress == wlanCoA)
        #expect(entry.bindings[2]?.path == h.path("cell"))
        #expect(entry.prefixes == [mnp])
        #expect(h.haEvents.contains(.prefixRouted(mnp)))
        #expect(h.acks.allSatisfy { $0.flags.contains(.mobileRouter) && $0.status == 0 })
        // The first BU after boot carries O, the second does not (RFC 5648 §5.9).
        #expect(h.sent[0].2.flags.contains(.overwrite))
        #expect(!h.sent[1].2.flags.contains(.overwrite))
        // Flow policies installed at the HA: RTP and SIP to cellular, bulk TCP to WLAN.
        #expect(entry.flows.map(\.fid) == [1, 2, 3])
        #expect(h.ha.downlinkPaths(for: h.udp(to: 20000)) == [h.path("cell")])
        #expect(h.ha.downlinkPaths(for: h.udp(to: 9999, from: 5060)) == [h.path("cell")])
        #expect(h.ha.downlinkPaths(for: h.udp(to: 80, protocol: 6)) == [h.path("wlan")])
        #expect(h.ha.downlinkPaths(for: h.udp(to: 53)) == [h.path("wlan")])
        // And locally at the MR for the uplink direction.
        let rtpOut = FlowKey(source: .v6(v6("2001:db8:aaaa:1::5")), destination: .v6(v6("2001:db8:c::5")), nextHeader: 17, sourcePort: 20000, destinationPort: 7000)
        #expect(h.mr.uplink(for: rtpOut) == "cell")
        var bulkOut = rtpOut
        bulkOut.nextHeader = 6
        #expect(h.mr.uplink(for: bulkOut) == "wlan")
        #expect(h.ha.acceptsUplink(from: h.path("wlan"), source: .v6(v6("2001:db8:aaaa:1::5"))))
        #expect(!h.ha.acceptsUplink(from: h.path("wlan"), source: .v6(v6("2001:db8:bbbb::5"))))
        #expect(!h.ha.acceptsUplink(from: TransportAddress(address: wlanCoA, port: 1), source: .v6(v6("2001:db8:aaaa:1::5"))))
    }

    @Test("Uplink loss moves flows at once (MR) and after one BU (HA); return moves them back")
    func handoverMCoA() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        h.mrEvents = []
        h.down("cell")
        let rtpOut = FlowKey(source: .v6(v6("2001:db8:aaaa:1::5")), destination: .v6(v6("2001:db8:c::5")), nextHeader: 17, sourcePort: 20000, destinationPort: 7000)
        #expect(h.mr.uplink(for: rtpOut) == "wlan")
        // The de-registration of BID 2 went out over WLAN.
        let last = try #require(h.sent.last)
        #expect(last.1 == "wlan")
        #expect(last.2.lifetime == 0)
        #expect(h.ha.cache[mrHome]?.bindings.keys.sorted() == [1])
        #expect(h.ha.downlinkPaths(for: h.udp(to: 20000)) == [h.path("wlan")])
        #expect(h.mrEvents.contains(.deregistered(uplink: "cell", bid: 2)))
        h.up("cell", cellCoA)
        #expect(h.ha.downlinkPaths(for: h.udp(to: 20000)) == [h.path("cell")])
        #expect(h.mr.uplink(for: rtpOut) == "cell")
        // The default uplink is WLAN throughout: losing cellular is no handover of default traffic.
        #expect(!h.mrEvents.contains { if case .handover = $0 { return true }; return false })
        h.down("wlan")
        #expect(h.handedOver(from: "wlan", to: "cell"))
        #expect(h.ha.downlinkPaths(for: h.udp(to: 53)) == [h.path("cell")])
    }

    @Test("SONAR: each handover says why, how long its registration took and how long there was no uplink")
    func handoverDetails() throws {
        var h = Harness()
        // The first registration's BUs are lost for a while: its delay runs from the first BU.
        h.dropToHA = true
        h.up("wlan", wlanCoA)
        let firstBU = try #require(h.sent.first?.0)
        h.advance(by: .milliseconds(2500))
        h.dropToHA = false
        h.advance(by: .seconds(10))
        let startup = try #require(h.handovers.first)
        #expect(startup.from == nil && startup.to == "wlan" && startup.reason == .startup && startup.outage == .zero)
        let acknowledged = try #require(h.mr.bindingUpdateList["wlan"]?.lastRegisteredAt)
        #expect(startup.registrationDelay == acknowledged - firstBU)
        #expect(startup.registrationDelay >= .milliseconds(2500))
        h.up("cell", cellCoA)
        h.mrEvents = []
        // Losing the uplink in use: cellular was registered already, so no delay and no outage.
        h.down("wlan")
        #expect(h.handovers == [HandoverEvent(from: "wlan", to: "cell", careOf: cellCoA, reason: .uplinkLost, registrationDelay: .zero, outage: .zero)])
        // WLAN back: the preferred uplink takes over once registered.
        h.mrEvents = []
        h.up("wlan", wlanCoA)
        #expect(h.handovers.map(\.reason) == [.preferredUplink])
        #expect(h.handovers.first?.from == "cell" && h.handovers.first?.to == "wlan")
        // Both lost, three seconds without any uplink, then cellular: an outage of three seconds.
        h.mrEvents = []
        h.down("wlan")
        h.down("cell")
        h.advance(by: .seconds(3))
        h.up("cell", cellCoA)
        let afterOutage = try #require(h.handovers.last)
        // Back on the uplink it had: still a record, so the gap on the map has its explanation.
        #expect(afterOutage.from == "cell" && afterOutage.to == "cell")
        #expect(afterOutage.reason == .uplinkLost && afterOutage.outage == .seconds(3))
        // A new care-of address on the uplink in use (another hotspot) is a handover too.
        h.mrEvents = []
        let otherCellCoA = IPAddress("2001:db8:2::200")!
        h.up("cell", otherCellCoA)
        #expect(h.handovers.map(\.to) == ["cell"])
        #expect(h.handovers.first?.careOf == otherCellCoA && h.handovers.first?.reason == .uplinkLost)
    }

    @Test("Refresh before expiry keeps bindings for hours")
    func refresh() throws {
        var h = Harness(ha: haConfiguration(maxLifetime: 120))
        h.up("wlan", wlanCoA)
        #expect(h.acks.last?.lifetime == 30)
        h.advance(by: .seconds(3600))
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
        #expect(h.ha.cache[mrHome]?.bindings[1] != nil)
        let refreshes = h.mrEvents.filter { if case .refreshed = $0 { return true }; return false }.count
        // Refresh advice is 3/4 of 120 s: one refresh every 90 s.
        #expect(refreshes == 40)
        #expect(!h.haEvents.contains { if case .bindingRemoved = $0 { return true }; return false })
        // A router that refreshes on its own is never asked to.
        #expect(h.haSent.isEmpty)
        #expect(h.ha.counters["refresh_requests_sent"] == nil)
    }

    @Test("HA sends a Binding Refresh Request when a refresh is overdue; the router answers with a BU")
    func bindingRefreshRequest() throws {
        var h = Harness(ha: haConfiguration(maxLifetime: 120))
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        let registered = h.now
        let binding = try #require(h.ha.cache[mrHome]?.bindings[1])
        #expect(binding.refreshRequestAt == registered + .seconds(105))
        // The router's own refresh (at 90 s) is lost: the HA's timer alone runs until 104 s: nothing.
        #expect(h.ha.expire(now: registered + .seconds(104)).signals.isEmpty)
        // At 105 s (an eighth of the lifetime left) one request per binding, to its path, naming its BID.
        let out = h.ha.expire(now: registered + .seconds(105))
        #expect(out.signals.map(\.destination) == [h.path("wlan"), h.path("cell")])
        for (signal, bid) in zip(out.signals, [UInt16(1), 2]) {
            guard case .bindingRefreshRequest(let brr) = signal.message else {
                Issue.record("not a BRR: \(signal.message)")
                continue
            }
            #expect(brr.options == [.bindingIdentifier(BindingIdentifier(bid: bid))])
            #expect(signal.innerDestination == mrHome)
        }
        #expect(h.ha.counters["refresh_requests_sent"] == 2)
        // Once per registration.
        #expect(h.ha.expire(now: registered + .seconds(106)).signals.isEmpty)
        // The router answers each with a BU; the HA renews the binding (a new registration, a new request later).
        h.now = registered + .seconds(106)
        let sentBefore = h.sent.count
        h.deliverFromHA(out)
        #expect(h.sent.count == sentBefore + 2)
        #expect(h.mr.counters["refresh_requests_received"] == 2)
        let renewed = try #require(h.ha.cache[mrHome]?.bindings[1])
        #expect(renewed.registeredAt == registered + .seconds(106) && !renewed.refreshRequested)
        #expect(renewed.expires > registered + .seconds(120))
        #expect(!h.haEvents.contains { if case .bindingRemoved = $0 { return true }; return false })
    }

    @Test("HA expires bindings whose refreshes stop arriving; MR notices its own expiry")
    func expiry() throws {
        var h = Harness(ha: haConfiguration(maxLifetime: 120))
        h.up("wlan", wlanCoA)
        h.dropToHA = true
        h.advance(by: .seconds(121))
        #expect(h.ha.cache[mrHome]?.bindings.isEmpty ?? true)
        #expect(h.haEvents.contains(.bindingRemoved(homeAddress: mrHome, bid: 1, reason: "expired")))
        #expect(h.haEvents.contains(.prefixUnrouted(mnp)))
        #expect(h.ha.downlinkPaths(for: h.udp(to: 1)).isEmpty)
        #expect(h.mrEvents.contains(.bindingLost(uplink: "wlan", bid: 1, reason: "lifetime expired")))
        h.advance(by: .seconds(11))
        #expect(h.ha.cache[mrHome] == nil)
    }

    @Test("Retransmission: 1.5 s first, doubling to 32 s, new sequence number each time")
    func retransmission() throws {
        var h = Harness()
        h.dropToMR = true
        h.up("wlan", wlanCoA)
        h.advance(by: .seconds(200))
        let times = h.sent.map { Double(($0.0 - h.sent[0].0).secondsValue) }
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(Array(gaps.prefix(7)) == [1.5, 3, 6, 12, 24, 32, 32])
        let seqs = h.sent.map(\.2.sequence)
        #expect(zip(seqs.dropFirst(), seqs).allSatisfy { isNewerSequence($0, than: $1) })
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registering)
        h.dropToMR = false
        h.advance(by: .seconds(33))
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
    }

    @Test("Sequence numbers wrap around 65535 → 0 and stay accepted")
    func sequenceWrap() throws {
        var h = Harness(ha: haConfiguration(maxLifetime: 8), mr: mrConfiguration(initialSequence: 65533))
        h.up("wlan", wlanCoA)
        h.advance(by: .seconds(40))
        let seqs = h.sent.map(\.2.sequence)
        #expect(seqs.prefix(5) == [65534, 65535, 0, 1, 2])
        #expect(h.acks.allSatisfy { $0.status == 0 })
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
    }

    @Test("Out-of-window sequence: HA answers 135 with its last number, MR resynchronises")
    func outOfWindow() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        let last = try #require(h.ha.cache[mrHome]?.lastSequence)
        // The MR reboots and starts 10 numbers lower (within 32768 behind: "not newer").
        h.now = h.now + .seconds(2)
        var fresh = MobileRouter(configuration: mrConfiguration(initialSequence: last &- 10))
        swap(&fresh, &h.mr)
        h.acks = []
        h.up("wlan", wlanCoA)
        #expect(h.acks.first?.status == BindingStatus.sequenceNumberOutOfWindow)
        #expect(h.acks.first?.sequence == last)
        #expect(h.acks.last?.status == 0)
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
        #expect(h.mr.counters["sequence_resyncs"] == 1)
        // And a BU that is exactly 32768 ahead is also out of window.
        #expect(!isNewerSequence(15 &+ 32768, than: 15))
        #expect(isNewerSequence(15 &+ 32767, than: 15))
        #expect(!isNewerSequence(15, than: 15))
    }

    @Test("De-registration of everything; the dead entry rejects older BUs for 10 s")
    func deregistration() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        let oldBU = h.sent.last!
        h.deliver(h.mr.deregisterAll(now: h.now))
        #expect(h.acks.last?.status == 0)
        #expect(h.acks.last?.lifetime == 0)
        #expect(h.ha.cache[mrHome]?.bindings.isEmpty == true)
        #expect(h.haEvents.contains(.prefixUnrouted(mnp)))
        // Replaying a delayed older BU (re-signed, same sequence) gets 135.
        h.now = h.now + .seconds(2)
        var replay = MobileRouter(configuration: mrConfiguration(initialSequence: oldBU.2.sequence &- 1))
        swap(&replay, &h.mr)
        h.acks = []
        h.deliver(h.mr.uplinkChanged("wlan", careOf: wlanCoA, now: h.now))
        #expect(h.acks.first?.status == BindingStatus.sequenceNumberOutOfWindow)
        h.advance(by: .seconds(11))
        #expect(h.mr.bindingUpdateList["wlan"]?.state == .registered)
    }

    @Test("HA restart: data from an unknown path draws a Binding Error, the MR re-registers at once")
    func homeAgentRestart() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        h.ha = HomeAgent(configuration: haConfiguration())
        #expect(!h.ha.acceptsUplink(from: h.path("wlan"), source: .v6(v6("2001:db8:aaaa:1::5"))))
        let first = h.ha.unknownPathSignal(from: h.path("wlan"), source: .v6(v6("2001:db8:aaaa:1::5")), now: h.now)
        let second = h.ha.unknownPathSignal(from: h.path("wlan"), source: .v6(v6("2001:db8:aaaa:1::5")), now: h.now)
        let be = try #require(first)
        #expect(second == nil, "Binding Errors are rate-limited to one per second per path")
        let out = h.mr.receive(mobilityHeader: be.mobilityHeader, innerSource: be.innerSource, innerDestination: be.innerDestination, via: "wlan", now: h.now)
        h.deliver(out)
        #expect(h.mrEvents.contains(.homeAgentLostState))
        #expect(h.ha.cache[mrHome]?.bindings.keys.sorted() == [1, 2])
        #expect(h.ha.acceptsUplink(from: h.path("wlan"), source: .v6(v6("2001:db8:aaaa:1::5"))))
        // Without data, the next refresh re-creates the state within one refresh interval.
        var quiet = Harness()
        quiet.up("wlan", wlanCoA)
        quiet.ha = HomeAgent(configuration: haConfiguration())
        quiet.advance(by: .seconds(450))
        #expect(quiet.ha.cache[mrHome]?.bindings[1] != nil)
    }

    @Test("Single care-of address (MCoA off): plain NEMO Basic Support, re-registration on handover")
    func singleCareOf() throws {
        var h = Harness(mr: mrConfiguration(mcoa: false))
        h.up("wlan", wlanCoA)
        h.up("cell", cellCoA)
        #expect(h.ha.cache[mrHome]?.bindings.keys.sorted() == [0])
        #expect(h.ha.cache[mrHome]?.bindings[0]?.careOfAddress == wlanCoA)
        #expect(h.sent.allSatisfy { bu in !bu.2.options.contains { if case .bindingIdentifier = $0 { return true }; return false } })
        #expect(h.sent.first?.2.options.contains(.alternateCareOfAddress(wlanCoA.asIPv6)) == true)
        h.down("wlan")
        #expect(h.ha.cache[mrHome]?.bindings[0]?.path == h.path("cell"))
        #expect(h.mr.defaultUplink == "cell")
        #expect(h.handedOver(from: "wlan", to: "cell"))
        h.up("wlan", wlanCoA)
        #expect(h.ha.cache[mrHome]?.bindings[0]?.path == h.path("wlan"))
        #expect(h.mr.defaultUplink == "wlan")
        #expect(h.mr.bindingUpdateList["cell"]?.state == .idle)
    }

    @Test("IPv4 care-of address: IPv4 CoA option, IPv4 outer endpoint, NAT Detection in the BA")
    func ipv4CareOf() throws {
        var h = Harness(mr: mrConfiguration(mcoa: false))
        h.up("wlan", .v4(IPv4Address("198.51.100.7")!))
        #expect(h.sent.first?.2.options.contains(.ipv4CareOfAddress(IPv4Address("198.51.100.7")!)) == true)
        #expect(h.mr.homeAgentEndpoint(for: "wlan")?.address == haOuter4)
        #expect(h.acks.last?.options.contains(.natDetection(udpRequired: true, refreshTime: 110)) == true)
        #expect(h.ha.cache[mrHome]?.bindings[0]?.careOfAddress == .v4(IPv4Address("198.51.100.7")!))
        var m = Harness()
        m.up("cell", .v4(IPv4Address("198.51.100.8")!))
        #expect(m.ha.cache[mrHome]?.bindings[2]?.careOfAddress == .v4(IPv4Address("198.51.100.8")!))
    }

    @Test("Refusals: wrong key 146, replayed BU 144, missing replay option 145, foreign prefix 142, R not permitted 140, MCoA prohibited 166")
    func refusals() throws {
        var wrongKey = Harness(mr: mrConfiguration(key: MobilityAuthenticationKey(spi: 256, key: Array(repeating: 7, count: 16))))
        wrongKey.up("wlan", wlanCoA)
        #expect(wrongKey.acks.first?.status == BindingStatus.authenticationFailed)
        // The MR cannot verify the HA's 146 (signed with another key): it believes none of it,
        // reports it once per BU and keeps retrying with back-off.
        #expect(wrongKey.mr.bindingUpdateList["wlan"]?.state == .registering)
        #expect(wrongKey.mr.counters["dropped_ba_unauthenticated"] == 1)
        #expect(wrongKey.mrEvents.contains(.unauthenticatedAcknowledgement(uplink: "wlan", status: 146)))
        #expect(wrongKey.ha.cache[mrHome] == nil)
        wrongKey.advance(by: .seconds(60))
        // 1.5 s, then doubling: 1.5, 4.5, 10.5, 22.5, 46.5 s → five retransmissions in a minute.
        #expect((4...7).contains(wrongKey.sent.count), "the MR retries with back-off after an unverifiable 146: \(wrongKey.sent.count)")

        var replay = Harness()
        replay.up("wlan", wlanCoA)
        let bu = replay.sent[0]
        let signal = MobilityMessage.bindingUpdate(bu.2).encode(source: mrHome, destination: haHome, authentication: mrKey, careOfAddress: wlanCoA.asIPv6, homeAddress: mrHome)
        var bumped = bu.2
        bumped.sequence &+= 50
        let replayed = MobilityMessage.bindingUpdate(bumped).encode(source: mrHome, destination: haHome, authentication: mrKey, careOfAddress: wlanCoA.asIPv6, homeAddress: mrHome)
        for mh in [signal, replayed] {
            let out = replay.ha.receive(mobilityHeader: mh, innerSource: mrHome, innerDestination: haHome, from: replay.path("wlan"), now: replay.now)
            guard case .bindingAcknowledgement(let ba) = out.signals.first?.message else { Issue.record("no BA"); continue }
            #expect(ba.status == BindingStatus.idMismatch)
        }

        var noReplay = Harness(mr: mrConfiguration(replay: false))
        noReplay.up("wlan", wlanCoA)
        #expect(noReplay.acks.first?.status == BindingStatus.messageIDRequired)

        var foreign = Harness(mr: mrConfiguration(prefixes: [IPv6Prefix("2001:db8:bbbb::/64")!]))
        foreign.up("wlan", wlanCoA)
        #expect(foreign.acks.first?.status == BindingStatus.notAuthorizedForPrefix)
        #expect(foreign.mrEvents.contains { if case .rejected(_, _, 142, _, _) = $0 { return true }; return false })

        var notRouter = Harness(ha: haConfiguration(routerAllowed: false))
        notRouter.up("wlan", wlanCoA)
        #expect(notRouter.acks.first?.status == BindingStatus.mobileRouterOperationNotPermitted)

        var implicitNone = Harness(ha: haConfiguration(prefixes: []), mr: {
            var c = mrConfiguration(); c.explicitPrefixes = false; return c }())
        implicitNone.up("wlan", wlanCoA)
        #expect(implicitNone.acks.first?.status == BindingStatus.forwardingSetupFailed)

        var noMCoA = Harness(ha: haConfiguration(allowMCoA: false))
        noMCoA.up("wlan", wlanCoA)
        #expect(noMCoA.acks.first?.status == BindingStatus.mcoaProhibited)
        #expect(noMCoA.mrEvents.contains(.multipleCareOfRefused))
        // The MR falls back to one binding without BID and is accepted.
        #expect(noMCoA.acks.last?.status == 0)
        #expect(noMCoA.ha.cache[mrHome]?.bindings.keys.sorted() == [0])
    }

    @Test("Clock skew: HA answers 144 with its time, the MR adopts the offset and registers")
    func timestampResync() throws {
        var h = Harness()
        // Only the MR's clock is 100 s behind: model it by giving the HA a later 'now'.
        h.now = h.now + .seconds(-100)
        let out = h.mr.uplinkChanged("wlan", careOf: wlanCoA, now: h.now)
        let s = try #require(out.signals.first)
        let haOut = h.ha.receive(mobilityHeader: s.signal.mobilityHeader, innerSource: mrHome, innerDestination: haHome,
                                 from: h.path("wlan"), now: h.now + .seconds(100))
        guard case .bindingAcknowledgement(let ba) = haOut.signals.first?.message else { Issue.record("no BA"); return }
        #expect(ba.status == BindingStatus.idMismatch)
        let mrOut = h.mr.receive(mobilityHeader: haOut.signals[0].mobilityHeader, innerSource: haHome, innerDestination: mrHome, via: "wlan", now: h.now)
        let retry = try #require(mrOut.signals.first)
        let second = h.ha.receive(mobilityHeader: retry.signal.mobilityHeader, innerSource: mrHome, innerDestination: haHome,
                                  from: h.path("wlan"), now: h.now + .seconds(100))
        guard case .bindingAcknowledgement(let ok) = second.signals.first?.message else { Issue.record("no BA"); return }
        #expect(ok.status == 0)
    }

    @Test("Flow Identification statuses in the BA: unknown BID 131, unknown FID 132, unsupported selector 133, malformed 130")
    func flowStatuses() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        func send(_ options: [MobilityOption], seq: UInt16) -> [FlowIdentification] {
            var opts = options
            opts.append(.replayProtection(h.now.ntp &+ UInt64(seq)))
            opts.append(.authentication(MobilityAuthentication(spi: 256)))
            let bu = BindingUpdate(sequence: seq, flags: [.acknowledge, .homeRegistration, .mobileRouter], lifetime: 10,
                                   options: [.mobileNetworkPrefix(mnp), .bindingIdentifier(BindingIdentifier(bid: 1, priority: 1, careOfAddress: wlanCoA))] + opts)
            let mh = MobilityMessage.bindingUpdate(bu).encode(source: mrHome, destination: haHome, authentication: mrKey, careOfAddress: wlanCoA.asIPv6, homeAddress: mrHome)
            let out = h.ha.receive(mobilityHeader: mh, innerSource: mrHome, innerDestination: haHome, from: h.path("wlan"), now: h.now)
            guard case .bindingAcknowledgement(let ba) = out.signals.first?.message else { return [] }
            return ba.options.compactMap { if case .flowIdentification(let f) = $0 { return f }; return nil }
        }
        let sel = TrafficSelector.ipv6(IPv6TrafficSelector(nextHeader: SelectorRange(17)))
        let r = send([.flowIdentification(FlowIdentification(fid: 7, priority: 1, trafficSelector: sel, bindingReferences: [9])),
                      .flowIdentification(FlowIdentification(fid: 8, priority: 2, trafficSelector: .unsupported(format: 7, data: []), bindingReferences: [1])),
                      .flowIdentification(FlowIdentification(fid: 9, priority: 3, bindingReferences: [1])),
                      .flowIdentification(FlowIdentification(fid: 10, priority: 4, trafficSelector: sel, bindingReferences: [1])),
                      .flowSummary([11])], seq: 1000)
        #expect(r.map(\.status) == [131, 133, 130, 0, 132])
        #expect(h.ha.cache[mrHome]?.flows.map(\.fid) == [10])
        // A refresh with Flow Summary keeps FID 10 unchanged; omitting it deletes it.
        _ = send([.flowSummary([10])], seq: 1001)
        #expect(h.ha.cache[mrHome]?.flows.map(\.fid) == [10])
        _ = send([], seq: 1002)
        #expect(h.ha.cache[mrHome]?.flows.isEmpty == true)
    }

    @Test("Malformed signaling at the HA and MR is dropped and counted; an unknown MH type draws Binding Error status 2")
    func malformedCounted() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        let from = h.path("wlan")
        var bad = Array(exampleA)
        bad[4] ^= 0xFF
        var out = h.ha.receive(mobilityHeader: ByteBuffer(bytes: bad), innerSource: hoa, innerDestination: haInner, from: from, now: h.now)
        #expect(out.signals.isEmpty)
        out = h.ha.receive(mobilityHeader: ByteBuffer(bytes: [59, 0, 5]), innerSource: hoa, innerDestination: haInner, from: from, now: h.now)
        #expect(out.signals.isEmpty)
        out = h.ha.receive(mobilityHeader: ByteBuffer(bytes: Array(exampleA) + [0, 0, 0]), innerSource: hoa, innerDestination: haInner, from: from, now: h.now)
        var unknown = Array(exampleA)
        unknown[2] = 1
        unknown[4] = 0; unknown[5] = 0
        let sum = InternetChecksum.mobilityHeader(ByteBuffer(bytes: unknown).readableBytesView, source: hoa, destination: haInner)
        unknown[4] = UInt8(sum >> 8); unknown[5] = UInt8(sum & 0xFF)
        out = h.ha.receive(mobilityHeader: ByteBuffer(bytes: unknown), innerSource: hoa, innerDestination: haInner, from: from, now: h.now)
        guard case .bindingError(let be) = out.signals.first?.message else { Issue.record("no Binding Error"); return }
        #expect(be.status == BindingError.unrecognizedType)
        #expect(be.homeAddress == hoa)
        #expect(h.ha.counters["dropped_bad_checksum"] == 1)
        #expect(h.ha.counters["dropped_truncated"] == 1)
        #expect(h.ha.counters["dropped_bad_alignment"] == 1)
        #expect(h.ha.counters["dropped_unknown_type"] == 1)
        // The binding survived all of it.
        #expect(h.ha.cache[mrHome]?.bindings[1] != nil)
        let mrOut = h.mr.receive(mobilityHeader: ByteBuffer(bytes: bad), innerSource: haHome, innerDestination: mrHome, via: "wlan", now: h.now)
        #expect(mrOut.signals.isEmpty)
        #expect(h.mr.counters["dropped_bad_checksum"] == 1)
    }
}
