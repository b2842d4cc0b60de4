import NIOCore
import Testing
import Timekeeping
@testable import Mobility

/// The home agent's BU processing in its three steps: validation and the decision change nothing;
/// their refusals carry the status and the data the BA needs.
@Suite("HA Binding Update steps: validate, decide, commit")
struct BindingUpdateStepsTests {
    func signed(_ h: Harness, sequence: UInt16, lifetime: UInt16 = 10, options: [MobilityOption] = []) -> (BindingUpdate, ByteBuffer) {
        let bu = BindingUpdate(sequence: sequence, flags: [.acknowledge, .homeRegistration, .mobileRouter, .forceUDP], lifetime: lifetime,
                               options: [.mobileNetworkPrefix(mnp)] + options
                                   + [.replayProtection(h.now.ntp &+ UInt64(sequence)), .authentication(MobilityAuthentication(spi: 256))])
        let mh = MobilityMessage.bindingUpdate(bu).encode(source: mrHome, destination: haHome, authentication: mrKey,
                                                          careOfAddress: HomeAgent.authenticatedCareOf(bu.options), homeAddress: mrHome)
        return (bu, mh)
    }

    @Test("An old sequence number is refused with 135 carrying the last accepted one; nothing changes")
    func sequenceRefusal() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        let last = try #require(h.ha.cache[mrHome]?.lastSequence)
        let revision = h.ha.cacheRevision
        let (bu, raw) = signed(h, sequence: last)
        let path = h.path("wlan")
        do {
            _ = try h.ha.validateBindingUpdate(bu, raw: raw, homeAddress: mrHome, path: path, now: h.now)
            Issue.record("validated an old sequence number")
        } catch {
            guard case .refused(let refusal, let answer) = error else { Issue.record("dropped: \(error)"); return }
            #expect(refusal.status == BindingStatus.sequenceNumberOutOfWindow)
            #expect(refusal.sequence == last)
            #expect(answer.homeAddress == mrHome && answer.path == path && answer.sequence == last)
        }
        #expect(throws: BindingUpdateRejection.self) {
            try h.ha.validateBindingUpdate(bu, raw: raw, homeAddress: v6("2001:db8:ffff::99"), path: path, now: h.now)
        }
        #expect(h.ha.cacheRevision == revision)
    }

    @Test("The decision returns the new entry and the BA without touching the cache; the commit applies it")
    func decisionIsPure() throws {
        var h = Harness()
        h.up("wlan", wlanCoA)
        let last = try #require(h.ha.cache[mrHome]?.lastSequence)
        let revision = h.ha.cacheRevision
        let (bu, raw) = signed(h, sequence: last &+ 1, options: [.bindingIdentifier(BindingIdentifier(bid: 2, priority: 2, careOfAddress: cellCoA))])
        let path = TransportAddress(address: cellCoA, port: 40002)
        let validated = try h.ha.validateBindingUpdate(bu, raw: raw, homeAddress: mrHome, path: path, now: h.now)
        guard case .accept(let change) = h.ha.decideBindingUpdate(validated, now: h.now) else {
            Issue.record("refused")
            return
        }
        #expect(change.status == BindingStatus.accepted)
        #expect(change.lifetime == 10)
        #expect(change.entry.bindings.keys.sorted() == [1, 2])
        #expect(change.entry.lastSequence == last &+ 1)
        #expect(h.ha.cache[mrHome]?.bindings.keys.sorted() == [1])
        #expect(h.ha.cache[mrHome]?.lastSequence == last)
        #expect(h.ha.cacheRevision == revision)
        // The same BU through `receive` commits exactly that entry.
        let out = h.ha.receive(mobilityHeader: raw, innerSource: mrHome, innerDestination: haHome, from: path, now: h.now)
        #expect(h.ha.cache[mrHome]?.bindings.keys.sorted() == [1, 2])
        #expect(h.ha.cache[mrHome]?.bindings[2]?.path == change.entry.bindings[2]?.path)
        #expect(h.ha.cache[mrHome]?.lastSequence == last &+ 1)
        #expect(out.events.contains(.bindingAdded(homeAddress: mrHome, bid: 2, careOf: cellCoA, lifetime: 40)))
        guard case .bindingAcknowledgement(let ba) = out.signals.first?.message else {
            Issue.record("no BA")
            return
        }
        #expect(ba.status == BindingStatus.accepted && ba.lifetime == 10)
    }
}
