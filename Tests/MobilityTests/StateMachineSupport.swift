import NIOCore
import TestSupport
import Timekeeping
@testable import Mobility

let mrHome = v6("2001:db8:ffff::10")
let haHome = v6("2001:db8:ffff::1")
let mnp = IPv6Prefix("2001:db8:aaaa:1::/64")!
let haOuter6 = IPAddress("2001:db8:f::1")!
let haOuter4 = IPAddress("192.0.2.100")!
let wlanCoA = IPAddress("2001:db8:1::100")!
let cellCoA = IPAddress("2001:db8:2::100")!
let mrKey = MobilityAuthenticationKey(spi: 256, key: Array(1...16))

let rtpPolicy = FlowPolicy(name: "rtp", fid: 1, priority: 1, match: FlowMatch(protocol: 17, localPorts: 16384...32767), uplinks: ["cell", "wlan"])
let sipPolicy = FlowPolicy(name: "sip", fid: 2, priority: 2, match: FlowMatch(protocol: 17, remotePorts: 5060...5060), uplinks: ["cell", "wlan"])
let bulkPolicy = FlowPolicy(name: "bulk", fid: 3, priority: 3, match: FlowMatch(protocol: 6), uplinks: ["wlan", "cell"])

func haConfiguration(allowMCoA: Bool = true, prefixes: [IPv6Prefix] = [IPv6Prefix("2001:db8:aaaa::/48")!], key: MobilityAuthenticationKey = mrKey,
                     routerAllowed: Bool = true, maxLifetime: Int = 600) -> HomeAgentConfiguration {
    HomeAgentConfiguration(address: haHome, homePrefix: IPv6Prefix("2001:db8:ffff::/64"),
                           accounts: [MobileRouterAccount(homeAddress: mrHome, identifier: "mr1@example.net", key: key, prefixes: prefixes,
                                                          maximumLifetime: maxLifetime, mobileRouterAllowed: routerAllowed)],
                           allowMultipleCareOf: allowMCoA)
}

func mrConfiguration(mcoa: Bool = true, key: MobilityAuthenticationKey = mrKey, prefixes: [IPv6Prefix] = [mnp], lifetime: Int = 600,
                     initialSequence: UInt16 = 100, replay: Bool = true) -> MobileRouterConfiguration {
    MobileRouterConfiguration(homeAddress: mrHome, homeAgentAddress: haHome, homeAgentEndpoints: [haOuter6, haOuter4], prefixes: prefixes,
                              key: key, identifier: "mr1@example.net", lifetime: lifetime, multipleCareOf: mcoa,
                              uplinks: [UplinkConfiguration(name: "wlan", bid: 1, priority: 1), UplinkConfiguration(name: "cell", bid: 2, priority: 2)],
                              flowPolicies: [rtpPolicy, sipPolicy, bulkPolicy], replayProtection: replay, initialSequence: initialSequence)
}

/// MR and HA wired back to back through a lossy "network", on a virtual clock.
struct Harness {
    var ha: HomeAgent
    var mr: MobileRouter
    /// The virtual clock every `now` below reads; setting `now` moves it (also backwards).
    let clock = ManualClock(.seconds(1_800_000_000))
    var now: Instant {
        get { clock.now() }
        nonmutating set { clock.set(newValue) }
    }
    let ports: [String: UInt16] = ["wlan": 40001, "cell": 40002]
    var dropToHA = false
    var dropToMR = false
    var mrEvents: [MobileRouterEvent] = []
    var haEvents: [HomeAgentEvent] = []
    /// Every BU the MR sent: time, uplink, message.
    var sent: [(Instant, String, BindingUpdate)] = []
    var acks: [BindingAcknowledgement] = []
    /// Every signal the HA sent on its own (not in answer to a BU).
    var haSent: [MobilityMessage] = []

    init(ha: HomeAgentConfiguration = haConfiguration(), mr: MobileRouterConfiguration = mrConfiguration()) {
        self.ha = HomeAgent(configuration: ha)
        self.mr = MobileRouter(configuration: mr)
    }

    func path(_ uplink: String) -> TransportAddress {
        TransportAddress(address: mr.careOfAddresses[uplink] ?? .v6(.unspecified), port: ports[uplink]!)
    }

    mutating func deliver(_ output: MobileRouterOutput) {
        mrEvents += output.events
        var queue = output.signals
        while !queue.isEmpty {
            let s = queue.removeFirst()
            if case .bindingUpdate(let bu) = s.signal.message { sent.append((now, s.uplink, bu)) }
            guard !dropToHA, mr.careOfAddresses[s.uplink] != nil else { continue }
            let from = path(s.uplink)
            let haOut = ha.receive(mobilityHeader: s.signal.mobilityHeader, innerSource: s.signal.innerSource,
                                   innerDestination: s.signal.innerDestination, from: from, now: now)
            haEvents += haOut.events
            for reply in haOut.signals {
                if case .bindingAcknowledgement(let ba) = reply.message { acks.append(ba) }
                guard !dropToMR, let uplink = ports.first(where: { $0.value == reply.destination.port })?.key else { continue }
                let mrOut = mr.receive(mobilityHeader: reply.mobilityHeader, innerSource: reply.innerSource,
                                       innerDestination: reply.innerDestination, via: uplink, now: now)
                mrEvents += mrOut.events
                queue += mrOut.signals
            }
        }
    }

    /// Signals the HA sends on its own (Binding Refresh Requests from its timers) go to the MR.
    mutating func deliverFromHA(_ output: HomeAgentOutput) {
        haEvents += output.events
        for s in output.signals {
            haSent.append(s.message)
            guard !dropToMR, let uplink = ports.first(where: { $0.value == s.destination.port })?.key else { continue }
            let mrOut = mr.receive(mobilityHeader: s.mobilityHeader, innerSource: s.innerSource,
                                   innerDestination: s.innerDestination, via: uplink, now: now)
            mrEvents += mrOut.events
            deliver(MobileRouterOutput(signals: mrOut.signals, events: []))
        }
    }

    mutating func up(_ uplink: String, _ coa: IPAddress) { deliver(mr.uplinkChanged(uplink, careOf: coa, now: now)) }
    mutating func down(_ uplink: String) { deliver(mr.uplinkChanged(uplink, careOf: nil, now: now)) }

    /// Moves the clock forward, running every timer that falls due on the way.
    mutating func advance(by d: Duration) {
        let end = now + d
        while let next = [mr.nextDeadline, ha.nextDeadline].compactMap({ $0 }).min(), next <= end {
            now = max(now, next)
            deliverFromHA(ha.expire(now: now))
            deliver(mr.tick(now: now))
            // A BU held back by the update-rate limit stays due; let a little time pass.
            if let again = [mr.nextDeadline, ha.nextDeadline].compactMap({ $0 }).min(), again <= now { now = now + .milliseconds(10) }
        }
        now = max(now, end)
        deliverFromHA(ha.expire(now: now))
        deliver(mr.tick(now: now))
    }

    /// The handovers the MR reported, in order.
    var handovers: [HandoverEvent] {
        mrEvents.compactMap { if case .handover(let h) = $0 { return h }; return nil }
    }

    /// Whether the MR reported a handover of default traffic from `from` to `to`.
    func handedOver(from: String?, to: String) -> Bool {
        handovers.contains { $0.from == from && $0.to == to }
    }

    func udp(to port: UInt16, protocol p: UInt8 = 17, from sport: UInt16 = 9) -> FlowKey {
        FlowKey(source: .v6(v6("2001:db8:c::5")), destination: .v6(v6("2001:db8:aaaa:1::5")), nextHeader: p, sourcePort: sport, destinationPort: port)
    }
}
