import NIOCore
import Timekeeping

/// One uplink of the mobile router as configured: a name (the interface), its BID and BID-PRI.
public struct UplinkConfiguration: Hashable, Sendable, Codable {
    public var name: String
    /// Binding identifier, non-zero, unique per mobile router.
    public var bid: UInt16
    /// BID-PRI: 1 is the most preferred.
    public var priority: UInt8

    public init(name: String, bid: UInt16, priority: UInt8) {
        self.name = name
        self.bid = bid
        self.priority = priority
    }
}

/// Mobile router settings.
public struct MobileRouterConfiguration: Sendable {
    public var homeAddress: IPv6Address
    /// The HA's inner (home link) address.
    public var homeAgentAddress: IPv6Address
    /// The HA's outer addresses; the one of the uplink's family is used.
    public var homeAgentEndpoints: [IPAddress]
    public var homeAgentPort: UInt16
    public var prefixes: [IPv6Prefix]
    /// NEMO explicit mode: carry an MNP option per prefix in every BU.
    public var explicitPrefixes: Bool
    public var key: MobilityAuthenticationKey
    public var identifier: String?
    /// Requested lifetime in seconds.
    public var lifetime: Int
    /// MCoA: one binding per uplink (RFC 5648); off = NEMO Basic Support with one care-of address.
    public var multipleCareOf: Bool
    public var uplinks: [UplinkConfiguration]
    public var flowPolicies: [FlowPolicy]
    public var replayProtection: Bool
    /// First sequence number; random when nil.
    public var initialSequence: UInt16?
    /// The IPv4 home address to ask for in every BU (RFC 5555 option 29); 0.0.0.0 asks the home
    /// agent to assign one; nil asks for none.
    public var ipv4HomeAddress: IPv4Address?
    /// After the home agent refuses a binding (suspended, revoked, re-keyed, …), the uplink tries
    /// again after this long, doubling per refusal up to `MobilityTimers.maximumRefusalRetry`, so
    /// a router the operator serves again comes back by itself.
    public var refusalRetry: Duration

    /// A router (NEMO, R flag) when it has mobile network prefixes; without any it is a mobile
    /// host (RFC 6275: no R flag, only its home address is bound, as a phone or laptop that moves).
    public var isMobileRouter: Bool { !prefixes.isEmpty }

    public init(homeAddress: IPv6Address, homeAgentAddress: IPv6Address, homeAgentEndpoints: [IPAddress], homeAgentPort: UInt16 = dsmipv6Port,
                prefixes: [IPv6Prefix], explicitPrefixes: Bool = true, key: MobilityAuthenticationKey, identifier: String? = nil,
                lifetime: Int = 600, multipleCareOf: Bool = true, uplinks: [UplinkConfiguration], flowPolicies: [FlowPolicy] = [],
                replayProtection: Bool = true, initialSequence: UInt16? = nil, ipv4HomeAddress: IPv4Address? = nil,
                refusalRetry: Duration = MobilityTimers.initialRefusalRetry) {
        self.ipv4HomeAddress = ipv4HomeAddress
        self.refusalRetry = refusalRetry
        self.homeAddress = homeAddress
        self.homeAgentAddress = homeAgentAddress
        self.homeAgentEndpoints = homeAgentEndpoints
        self.homeAgentPort = homeAgentPort
        self.prefixes = prefixes
        self.explicitPrefixes = explicitPrefixes
        self.key = key
        self.identifier = identifier
        self.lifetime = lifetime
        self.multipleCareOf = multipleCareOf
        self.uplinks = uplinks
        self.flowPolicies = flowPolicies
        self.replayProtection = replayProtection
        self.initialSequence = initialSequence
    }
}

/// Where one binding stands.
public enum BindingState: String, Hashable, Sendable, Codable {
    case idle, registering, registered, deregistering, failed
}

/// A BU waiting for its BA.
public struct OutstandingUpdate: Hashable, Sendable {
    public var sequence: UInt16
    public var timestamp: UInt64?
    public var sentAt: Instant
    /// When the first BU of this registration went out (retransmissions keep it): BU→BA delay.
    public var firstSentAt: Instant
    public var retransmitAt: Instant
    public var timeout: Duration
    public var deregistration: Bool
    /// The CoA the authenticator was computed with; the BA's is computed with the same.
    var careOfForAuthentication: IPv6Address
    /// Set on a BU resent after a 135/144 resynchronisation, so a second refusal waits for the timer.
    var afterResync = false
    /// An answer that did not authenticate was reported for this BU (one log line per BU).
    var reportedUnverified = false
    public var via: String
}

/// One entry of the binding update list (RFC 6275 §11.1), one per uplink.
public struct BindingUpdateListEntry: Hashable, Sendable {
    public var uplink: String
    /// BID on the wire; 0 when registered without MCoA.
    public var bid: UInt16
    public var priority: UInt8
    public var careOf: IPAddress?
    public var state: BindingState
    public var lastStatus: UInt8?
    public var outstanding: OutstandingUpdate?
    public var grantedLifetime: Int
    public var expires: Instant?
    public var refreshAt: Instant?
    public var registrations: Int
    /// First BU to BA of the latest registration that was not a refresh, and when it completed.
    public var lastRegistrationDelay: Duration?
    public var lastRegisteredAt: Instant?
    /// Refusals since the last accepted registration (sets the back-off before the next try).
    public var refusals: Int = 0
    /// When a refused (failed) uplink tries again.
    public var retryAt: Instant?
}

/// Why the uplink carrying default traffic changed.
public enum HandoverReason: String, Hashable, Sendable {
    /// The first uplink since start-up.
    case startup
    /// The uplink (or care-of address) that carried traffic lost its link, address or binding.
    case uplinkLost = "uplink-lost"
    /// A more preferred uplink registered while the old one still worked.
    case preferredUplink = "preferred-uplink"
}

/// The uplink carrying default traffic changed (a new uplink, or a new care-of address on it).
public struct HandoverEvent: Hashable, Sendable {
    public var from: String?
    public var to: String
    public var careOf: IPAddress?
    public var reason: HandoverReason
    /// First BU to BA of the registration that made `to` usable; zero when it was registered already.
    public var registrationDelay: Duration
    /// How long no uplink was registered just before (zero: none).
    public var outage: Duration

    public init(from: String?, to: String, careOf: IPAddress?, reason: HandoverReason, registrationDelay: Duration, outage: Duration) {
        self.from = from; self.to = to; self.careOf = careOf; self.reason = reason
        self.registrationDelay = registrationDelay; self.outage = outage
    }
}

/// Mobile router happenings worth a log line or a metric.
public enum MobileRouterEvent: Hashable, Sendable {
    case registered(uplink: String, bid: UInt16, careOf: IPAddress, lifetime: Int)
    case refreshed(uplink: String, bid: UInt16, lifetime: Int)
    case deregistered(uplink: String, bid: UInt16)
    /// The home agent refused the binding; the uplink tries again in `retryIn` (or at its next link change).
    case rejected(uplink: String, bid: UInt16, status: UInt8, reason: String, retryIn: Duration)
    case bindingLost(uplink: String, bid: UInt16, reason: String)
    /// The uplink carrying default traffic changed.
    case handover(HandoverEvent)
    case homeAgentLostState
    case multipleCareOfRefused
    /// A BA with the sequence number of an outstanding BU whose authenticator does not verify
    /// was ignored (a home agent without our key, or a spoofer; 146 = MIPV6-AUTH-FAIL).
    case unauthenticatedAcknowledgement(uplink: String, status: UInt8)
    /// The home agent bound this IPv4 home address (option 30 status 0): use it.
    case ipv4HomeAddressAcquired(IPv4Address)
    /// The IPv4 home address is no longer bound (refused, de-registered, or the home agent
    /// answered without option 30): stop using it.
    case ipv4HomeAddressLost(IPv4Address, reason: String)
    /// The home agent refused the IPv4 home address asked for (option 30 status ≥ 128; the IPv6
    /// binding stands). Reported when the status changes, not on every refresh.
    case ipv4HomeAddressRefused(status: UInt8)
}

/// A datagram to send out of a given uplink.
public struct UplinkSignal: Sendable {
    public var uplink: String
    public var signal: OutgoingSignal
}

public struct MobileRouterOutput: Sendable {
    public var signals: [UplinkSignal] = []
    public var events: [MobileRouterEvent] = []
}

/// The NEMO mobile router as a sans-I/O state machine: uplink changes, received signaling and
/// clock ticks in; BUs to send, binding states and handover events out (RFC 3963 §5, RFC 5648 §5,
/// RFC 6089, RFC 5555, RFC 4285 on the mobile node's side).
public struct MobileRouter: Sendable {
    public let configuration: MobileRouterConfiguration
    /// The binding update list, by uplink name.
    public private(set) var bindingUpdateList: [String: BindingUpdateListEntry] = [:]
    /// Current usable care-of address per uplink (nil: down or no address).
    public private(set) var careOfAddresses: [String: IPAddress] = [:]
    public private(set) var sequence: UInt16
    public private(set) var counters: [String: Int] = [:]
    /// Whether MCoA is in use (configured and not refused by the HA).
    public private(set) var multipleCareOfActive: Bool
    private var overwriteSent = false
    private var overwriteOutstanding = false
    private var lastTimestamp: UInt64 = 0
    /// Seconds to add to our clock to match the HA's, learnt from status 144.
    private var clockOffset: Int64 = 0
    private var recentSends: [Instant] = []
    private var lastDefaultUplink: String?
    private var lastDefaultCareOf: IPAddress?
    /// Since when no uplink has been registered (after one was).
    private var noUplinkSince: Instant?
    private var lastBindingErrorHandled: Instant?
    /// The IPv4 home address the home agent acknowledged (RFC 5555), while it is bound.
    public private(set) var ipv4HomeAddress: IPv4Address?
    /// Status of the last option 30 received; nil before any or when the BA carried none.
    public private(set) var ipv4HomeAddressStatus: UInt8?

    public init(configuration: MobileRouterConfiguration) {
        self.configuration = configuration
        self.sequence = configuration.initialSequence ?? UInt16.random(in: 0...UInt16.max)
        self.multipleCareOfActive = configuration.multipleCareOf
        for u in configuration.uplinks {
            bindingUpdateList[u.name] = BindingUpdateListEntry(uplink: u.name, bid: configuration.multipleCareOf ? u.bid : 0, priority: u.priority,
                                                               careOf: nil, state: .idle, lastStatus: nil, outstanding: nil,
                                                               grantedLifetime: 0, expires: nil, refreshAt: nil, registrations: 0,
                                                               lastRegistrationDelay: nil, lastRegisteredAt: nil)
        }
    }

    mutating func count(_ name: String) { counters[name, default: 0] += 1 }

    private var uplinksByPreference: [UplinkConfiguration] {
        configuration.uplinks.sorted { ($0.priority, $0.bid) < ($1.priority, $1.bid) }
    }

    // MARK: inputs

    /// An uplink gained, changed or lost its usable care-of address (nil = link down or no address).
    public mutating func uplinkChanged(_ name: String, careOf: IPAddress?, now: Instant) -> MobileRouterOutput {
        var out = MobileRouterOutput()
        guard var entry = bindingUpdateList[name] else { return out }
        let previous = careOfAddresses[name]
        guard previous != careOf else { return out }
        careOfAddresses[name] = careOf
        if careOf == nil {
            let wasActive = entry.state == .registered || entry.state == .registering
            let carriedOverwrite = overwriteOutstanding && entry.outstanding.map { !$0.deregistration } == true
            entry.careOf = nil
            entry.outstanding = nil
            entry.expires = nil
            entry.refreshAt = nil
            entry.retryAt = nil
            let oldState = entry.state
            entry.state = .idle
            bindingUpdateList[name] = entry
            if wasActive {
                out.events.append(.bindingLost(uplink: name, bid: entry.bid, reason: "uplink down"))
                if multipleCareOfActive, oldState == .registered {
                    sendDeregistration(of: name, now: now, into: &out)
                }
            }
            if carriedOverwrite {
                // The BU with O died with its uplink; the next registration carries O instead.
                overwriteSent = false
                overwriteOutstanding = false
                kickWaitingRegistrations(now: now, into: &out)
            }
        } else {
            if entry.state == .failed { entry.state = .idle; entry.retryAt = nil }
            entry.careOf = careOf
            bindingUpdateList[name] = entry
            if multipleCareOfActive {
                startRegistration(name, now: now, into: &out)
            }
        }
        if !multipleCareOfActive { chooseSingleCareOf(now: now, into: &out) }
        noteHandover(now: now, into: &out)
        return out
    }

    /// A signaling datagram from the HA arrived on `uplink`.
    public mutating func receive(mobilityHeader: ByteBuffer, innerSource: IPv6Address, innerDestination: IPv6Address,
                                 via uplink: String, now: Instant) -> MobileRouterOutput {
        var out = MobileRouterOutput()
        var buffer = mobilityHeader
        let message: MobilityMessage
        do {
            message = try MobilityMessage(parsing: &buffer, source: innerSource, destination: innerDestination)
        } catch {
            count("dropped_\(error.counterName)")
            return out
        }
        guard innerSource == configuration.homeAgentAddress, innerDestination == configuration.homeAddress else {
            count("dropped_not_from_home_agent")
            return out
        }
        switch message {
        case .bindingAcknowledgement(let ba):
            handleAcknowledgement(ba, raw: mobilityHeader, now: now, into: &out)
        case .bindingError(let be):
            count("binding_errors_received")
            // A Binding Error carries no authenticator (RFC 6275 §6.1.9): act on one per second at
            // most, so a flood of forged ones cannot turn into a flood of re-registrations.
            if let last = lastBindingErrorHandled, now - last < .seconds(1) {
                count("binding_errors_rate_limited")
                break
            }
            if be.status == BindingError.unknownBinding, be.homeAddress == configuration.homeAddress {
                lastBindingErrorHandled = now
                out.events.append(.homeAgentLostState)
                reregisterAll(now: now, into: &out)
            }
        case .bindingRefreshRequest(let brr):
            count("refresh_requests_received")
            let named = Set(brr.options.compactMap { if case .bindingIdentifier(let b) = $0 { return b.bid }; return nil })
            for (name, e) in bindingUpdateList where e.state == .registered && e.outstanding == nil && (named.isEmpty || named.contains(e.bid)) {
                // Not authenticated either: MAX_UPDATE_RATE bounds what a flood of them can cause.
                guard allowSend(now: now) else {
                    count("refresh_requests_rate_limited")
                    break
                }
                sendRegistration(name, now: now, into: &out)
            }
        case .bindingUpdate:
            count("dropped_unexpected_message")
        }
        noteHandover(now: now, into: &out)
        return out
    }

    /// Retransmits unanswered BUs, refreshes bindings before they expire, notices expired ones.
    public mutating func tick(now: Instant) -> MobileRouterOutput {
        var out = MobileRouterOutput()
        for name in bindingUpdateList.keys.sorted() {
            guard let entry = bindingUpdateList[name] else { continue }
            if let o = entry.outstanding, now >= o.retransmitAt {
                guard allowSend(now: now) else { continue }
                count("retransmissions")
                if o.deregistration {
                    sendDeregistration(of: name, now: now, into: &out, timeout: min(o.timeout * 2, MobilityTimers.maximumBindAckTimeout))
                } else {
                    sendRegistration(name, now: now, into: &out, timeout: min(o.timeout * 2, MobilityTimers.maximumBindAckTimeout))
                }
                continue
            }
            if entry.state == .failed, let retry = entry.retryAt, now >= retry {
                bindingUpdateList[name]?.retryAt = nil
                guard careOfAddresses[name] != nil else { continue }
                count("refusal_retries")
                bindingUpdateList[name]?.state = .idle
                if multipleCareOfActive {
                    startRegistration(name, now: now, into: &out)
                } else {
                    chooseSingleCareOf(now: now, into: &out)
                }
                continue
            }
            if entry.state == .registered, let expires = entry.expires, now >= expires {
                var e = entry
                e.state = .registering
                e.expires = nil
                bindingUpdateList[name] = e
                out.events.append(.bindingLost(uplink: name, bid: entry.bid, reason: "lifetime expired"))
                sendRegistration(name, now: now, into: &out)
                continue
            }
            if entry.state == .registered, entry.outstanding == nil, let refresh = entry.refreshAt, now >= refresh {
                guard allowSend(now: now) else { continue }
                count("refreshes")
                sendRegistration(name, now: now, into: &out)
            }
        }
        noteHandover(now: now, into: &out)
        return out
    }

    /// The next moment `tick(now:)` has work to do.
    public var nextDeadline: Instant? {
        bindingUpdateList.values.flatMap { e -> [Instant] in
            var d: [Instant] = []
            if let o = e.outstanding { d.append(o.retransmitAt) }
            if e.state == .registered, let r = e.refreshAt { d.append(r) }
            if e.state == .registered, let x = e.expires { d.append(x) }
            if e.state == .failed, let r = e.retryAt { d.append(r) }
            return d
        }.min()
    }

    /// De-registers everything (lifetime 0, no BID options), e.g. on shutdown.
    public mutating func deregisterAll(now: Instant) -> MobileRouterOutput {
        var out = MobileRouterOutput()
        guard let via = registeredUplinks.first, let coa = careOfAddresses[via] else { return out }
        let seq = nextSequence()
        let ts = nextTimestamp(now)
        var options: [MobilityOption] = []
        if let id = configuration.identifier { options.append(.nai(id)) }
        if let ts { options.append(.replayProtection(ts)) }
        options.append(.authentication(MobilityAuthentication(spi: configuration.key.spi)))
        let bu = BindingUpdate(sequence: seq, flags: registrationFlags, lifetime: 0, options: options)
        out.signals.append(UplinkSignal(uplink: via, signal: signal(.bindingUpdate(bu), careOf: coa, authCareOf: .unspecified)))
        for name in bindingUpdateList.keys {
            bindingUpdateList[name]?.state = .idle
            bindingUpdateList[name]?.outstanding = nil
        }
        // Lifetime 0 removes the IPv4 home address binding with everything else (RFC 5555 §4.5).
        loseIPv4HomeAddress(reason: "de-registered", into: &out)
        noteHandover(now: now, into: &out)
        return out
    }

    /// Takes the home agent's option 30 (or its absence) from an accepted registration's BA.
    private mutating func noteIPv4Acknowledgement(_ ba: BindingAcknowledgement, into out: inout MobileRouterOutput) {
        guard configuration.ipv4HomeAddress != nil else { return }
        let ack = ba.options.lazy.compactMap { o -> (status: UInt8, address: IPv4Address)? in
            if case .ipv4AddressAcknowledgement(let s, _, let a) = o { return (s, a) }
            return nil
        }.first
        guard let ack else {
            // No option 30: the home agent has no IPv4 support (RFC 5555 §4.5).
            if ipv4HomeAddressStatus != nil || ipv4HomeAddress != nil { count("ipv4_home_address_unsupported") }
            ipv4HomeAddressStatus = nil
            loseIPv4HomeAddress(reason: "home agent has no IPv4 support (no IPv4 address acknowledgement)", into: &out)
            return
        }
        let changed = ipv4HomeAddressStatus != ack.status
        ipv4HomeAddressStatus = ack.status
        if ack.status == IPv4AddressAcknowledgementStatus.success, ack.address.isUnicast {
            // Wrong answers are not ours to bind: only a status 0 with a usable address counts.
            guard ack.address != ipv4HomeAddress else { return }
            loseIPv4HomeAddress(reason: "home agent assigned another", into: &out)
            ipv4HomeAddress = ack.address
            out.events.append(.ipv4HomeAddressAcquired(ack.address))
        } else {
            loseIPv4HomeAddress(reason: "home agent refused it (status \(ack.status))", into: &out)
            if changed { out.events.append(.ipv4HomeAddressRefused(status: ack.status)) }
        }
    }

    private mutating func loseIPv4HomeAddress(reason: String, into out: inout MobileRouterOutput) {
        guard let old = ipv4HomeAddress else { return }
        ipv4HomeAddress = nil
        out.events.append(.ipv4HomeAddressLost(old, reason: reason))
    }

    // MARK: data path

    /// Uplinks whose binding is registered and whose link is usable, most preferred first.
    public var registeredUplinks: [String] {
        uplinksByPreference.map(\.name).filter { bindingUpdateList[$0]?.state == .registered && careOfAddresses[$0] != nil }
    }

    /// The uplink a packet from the mobile network leaves by: the first matching flow policy's
    /// first registered uplink, else the most preferred registered uplink.
    public func uplink(for flow: FlowKey) -> String? {
        let usable = registeredUplinks
        guard let first = usable.first else { return nil }
        if multipleCareOfActive {
            for policy in configuration.flowPolicies.sorted(by: { $0.priority < $1.priority }) where policy.match.matchesOutbound(flow) {
                if let u = policy.uplinks.first(where: usable.contains) { return u }
                break
            }
        }
        return first
    }

    /// The uplink default traffic uses now.
    public var defaultUplink: String? { registeredUplinks.first }

    /// The outer destination for data sent out of `uplink`.
    public func homeAgentEndpoint(for uplink: String) -> TransportAddress? {
        guard let coa = careOfAddresses[uplink] else { return nil }
        return endpoint(for: coa)
    }

    /// Whether a packet from the tunnel may be delivered into the mobile network.
    public func acceptsDownlink(destination: IPAddress) -> Bool {
        if case .v4(let a) = destination { return a == ipv4HomeAddress }
        let d = destination.asIPv6
        return d == configuration.homeAddress || configuration.prefixes.contains { $0.contains(d) }
    }

    // MARK: internals

    private func endpoint(for coa: IPAddress) -> TransportAddress? {
        let wantV4: Bool
        if case .v4 = coa { wantV4 = true } else { wantV4 = false }
        let ha = configuration.homeAgentEndpoints.first { a in
            if case .v4 = a { return wantV4 }
            return !wantV4
        }
        return ha.map { TransportAddress(address: $0, port: configuration.homeAgentPort) }
    }

    private mutating func nextSequence() -> UInt16 {
        sequence &+= 1
        return sequence
    }

    private mutating func nextTimestamp(_ now: Instant) -> UInt64? {
        guard configuration.replayProtection else { return nil }
        var t = now.ntp &+ UInt64(bitPattern: clockOffset << 32)
        if t <= lastTimestamp { t = lastTimestamp &+ 1 }
        lastTimestamp = t
        return t
    }

    /// RFC 6275 MAX_UPDATE_RATE: at most 3 BUs per second to the HA (retransmissions and refreshes).
    private mutating func allowSend(now: Instant) -> Bool {
        recentSends.removeAll { now - $0 >= .seconds(1) }
        return recentSends.count < MobilityTimers.maximumUpdateRate
    }

    private func signal(_ message: MobilityMessage, careOf: IPAddress, authCareOf: IPv6Address) -> OutgoingSignal {
        let mh = message.encode(source: configuration.homeAddress, destination: configuration.homeAgentAddress,
                                authentication: configuration.key, careOfAddress: authCareOf, homeAddress: configuration.homeAddress)
        return OutgoingSignal(destination: endpoint(for: careOf) ?? TransportAddress(address: careOf, port: configuration.homeAgentPort),
                              innerSource: configuration.homeAddress, innerDestination: configuration.homeAgentAddress, message: message, mobilityHeader: mh)
    }

    /// FI options for the flow policies, each bound to its first preferred uplink among `bids`,
    /// or to all of them in order for a policy that `duplicates` (a policy none of whose uplinks
    /// is registered is left out: the HA then uses the default).
    private func flowOptions(knownBIDs: Set<UInt16>) -> [MobilityOption] {
        guard multipleCareOfActive else { return [] }
        var options: [MobilityOption] = []
        for policy in configuration.flowPolicies {
            let bids = policy.uplinks.compactMap { name in configuration.uplinks.first { $0.name == name }?.bid }.filter { knownBIDs.contains($0) }
            guard let first = bids.first else { continue }
            options.append(.flowIdentification(FlowIdentification(fid: policy.fid, priority: policy.priority,
                                                                  trafficSelector: .ipv6(policy.match.downlinkSelector),
                                                                  bindingReferences: policy.duplicates ? bids : [first])))
        }
        return options
    }

    private var registeredBIDs: Set<UInt16> {
        Set(bindingUpdateList.values.filter { $0.state == .registered }.map(\.bid))
    }

    private mutating func startRegistration(_ name: String, now: Instant, into out: inout MobileRouterOutput) {
        guard var e = bindingUpdateList[name] else { return }
        e.state = .registering
        bindingUpdateList[name] = e
        // While the first BU with O is unanswered, others wait so O cannot wipe them (RFC 5648 §5.9).
        if multipleCareOfActive && overwriteOutstanding { return }
        sendRegistration(name, now: now, into: &out, timeout: e.registrations == 0 ? MobilityTimers.initialBindAckTimeoutFirstRegistration : MobilityTimers.initialBindAckTimeout)
    }

    private mutating func sendRegistration(_ name: String, now: Instant, into out: inout MobileRouterOutput,
                                           timeout: Duration = MobilityTimers.initialBindAckTimeout) {
        guard var e = bindingUpdateList[name], let coa = careOfAddresses[name] else { return }
        let seq = nextSequence()
        let ts = nextTimestamp(now)
        var options: [MobilityOption] = []
        if configuration.explicitPrefixes { options += configuration.prefixes.map(MobilityOption.mobileNetworkPrefix) }
        if let v4 = configuration.ipv4HomeAddress {
            // One address (prefix length 32), no IPv4 mobile network prefix (P clear).
            options.append(.ipv4HomeAddress(prefixLength: 32, requestPrefix: false, address: v4))
        }
        var flags = registrationFlags
        if multipleCareOfActive {
            options.append(.bindingIdentifier(BindingIdentifier(bid: e.bid, priority: e.priority, careOfAddress: coa)))
            options += flowOptions(knownBIDs: registeredBIDs.union([e.bid]))
            if !overwriteSent || overwriteOutstanding && e.outstanding != nil {
                flags.insert(.overwrite)
                overwriteSent = true
                overwriteOutstanding = true
            }
        } else {
            switch coa {
            case .v6(let a): options.append(.alternateCareOfAddress(a))
            case .v4(let a): options.append(.ipv4CareOfAddress(a))
            }
        }
        if let id = configuration.identifier { options.append(.nai(id)) }
        if let ts { options.append(.replayProtection(ts)) }
        options.append(.authentication(MobilityAuthentication(spi: configuration.key.spi)))
        let units = UInt16(clamping: max(1, configuration.lifetime / 4))
        let bu = BindingUpdate(sequence: seq, flags: flags, lifetime: units, options: options)
        let authCoA = coa.asIPv6
        out.signals.append(UplinkSignal(uplink: name, signal: signal(.bindingUpdate(bu), careOf: coa, authCareOf: authCoA)))
        // A retransmission, or a BU resent after a resynchronisation, belongs to the same registration.
        let firstSentAt = e.outstanding.flatMap { $0.deregistration ? nil : $0.firstSentAt } ?? now
        e.outstanding = OutstandingUpdate(sequence: seq, timestamp: ts, sentAt: now, firstSentAt: firstSentAt, retransmitAt: now + timeout,
                                          timeout: timeout, deregistration: false, careOfForAuthentication: authCoA, via: name)
        if e.state != .registered { e.state = .registering }
        bindingUpdateList[name] = e
        recentSends.append(now)
        count("binding_updates_sent")
    }

    /// Removes one BID at the HA, sending the BU over another registered uplink.
    private mutating func sendDeregistration(of name: String, now: Instant, into out: inout MobileRouterOutput,
                                             timeout: Duration = MobilityTimers.initialBindAckTimeout) {
        guard var e = bindingUpdateList[name] else { return }
        guard let via = registeredUplinks.first(where: { $0 != name }), let viaCoA = careOfAddresses[via] else {
            e.state = .idle
            e.outstanding = nil
            bindingUpdateList[name] = e
            return
        }
        let seq = nextSequence()
        let ts = nextTimestamp(now)
        var options: [MobilityOption] = [.bindingIdentifier(BindingIdentifier(bid: e.bid, priority: e.priority))]
        options += flowOptions(knownBIDs: registeredBIDs.subtracting([e.bid]))
        if let id = configuration.identifier { options.append(.nai(id)) }
        if let ts { options.append(.replayProtection(ts)) }
        options.append(.authentication(MobilityAuthentication(spi: configuration.key.spi)))
        let bu = BindingUpdate(sequence: seq, flags: registrationFlags, lifetime: 0, options: options)
        out.signals.append(UplinkSignal(uplink: via, signal: signal(.bindingUpdate(bu), careOf: viaCoA, authCareOf: .unspecified)))
        e.state = .deregistering
        e.outstanding = OutstandingUpdate(sequence: seq, timestamp: ts, sentAt: now, firstSentAt: now, retransmitAt: now + timeout,
                                          timeout: timeout, deregistration: true, careOfForAuthentication: .unspecified, via: via)
        bindingUpdateList[name] = e
        recentSends.append(now)
        count("binding_updates_sent")
    }

    /// Single care-of mode: register the most preferred usable uplink, keep the old binding
    /// carrying traffic until the new one is acknowledged.
    private mutating func chooseSingleCareOf(now: Instant, into out: inout MobileRouterOutput) {
        guard let best = uplinksByPreference.first(where: { careOfAddresses[$0.name] != nil && bindingUpdateList[$0.name]?.state != .failed }) else { return }
        let e = bindingUpdateList[best.name]!
        if e.state == .registered || e.state == .registering { return }
        startRegistration(best.name, now: now, into: &out)
    }

    private mutating func reregisterAll(now: Instant, into out: inout MobileRouterOutput) {
        if multipleCareOfActive {
            overwriteSent = false
            overwriteOutstanding = false
            for u in uplinksByPreference where careOfAddresses[u.name] != nil {
                bindingUpdateList[u.name]?.state = .registering
                bindingUpdateList[u.name]?.outstanding = nil
                startRegistration(u.name, now: now, into: &out)
            }
        } else {
            for name in bindingUpdateList.keys where bindingUpdateList[name]?.state != .failed {
                bindingUpdateList[name]?.state = .idle
                bindingUpdateList[name]?.outstanding = nil
            }
            chooseSingleCareOf(now: now, into: &out)
        }
    }

    private mutating func handleAcknowledgement(_ ba: BindingAcknowledgement, raw: ByteBuffer, now: Instant, into out: inout MobileRouterOutput) {
        count("binding_acks_received")
        // Find the outstanding BU this answers: the authenticator must verify with that BU's CoA.
        // Nothing in a BA that does not authenticate is believed, whatever its status says
        // (RFC 4285 §5: a spoofed 146 with the right sequence number must not disable an uplink).
        let key = configuration.key
        var matched: String?
        var notLast = false
        var unverifiedFor: String?
        for (name, e) in bindingUpdateList.sorted(by: { $0.key < $1.key }) {
            guard let o = e.outstanding else { continue }
            let verdict = MobilityAuthenticator.verify(raw, keys: { $0 == key.spi ? key.key : nil },
                                                       careOfAddress: o.careOfForAuthentication, homeAddress: configuration.homeAddress)
            let sequenceMatches = o.sequence == ba.sequence
            switch verdict {
            case .valid:
                if sequenceMatches || ba.status == BindingStatus.sequenceNumberOutOfWindow || ba.status == BindingStatus.idMismatch {
                    matched = name
                }
            case .notLast:
                notLast = true
            case .missing, .unknownSPI, .invalid:
                if sequenceMatches { unverifiedFor = name }
            }
            if matched != nil { break }
        }
        guard let name = matched, var e = bindingUpdateList[name], let o = e.outstanding else {
            if notLast {
                count("dropped_ba_auth_not_last")
            } else if let u = unverifiedFor {
                count("dropped_ba_unauthenticated")
                // Once per BU: a real HA that does not share our key answers 146 this way, so say
                // what to check, but keep retransmitting (with back-off) as if nothing came.
                if bindingUpdateList[u]?.outstanding?.reportedUnverified == false {
                    bindingUpdateList[u]?.outstanding?.reportedUnverified = true
                    out.events.append(.unauthenticatedAcknowledgement(uplink: u, status: ba.status))
                }
            } else {
                count("dropped_ba_unmatched")
            }
            return
        }
        let timestamp: UInt64? = ba.options.lazy.compactMap { if case .replayProtection(let t) = $0 { return t }; return nil }.first
        if ba.status != BindingStatus.idMismatch, o.timestamp != nil, timestamp != o.timestamp {
            count("dropped_ba_timestamp_mismatch")
            return
        }
        switch ba.status {
        case BindingStatus.sequenceNumberOutOfWindow:
            count("sequence_resyncs")
            sequence = ba.sequence
            resend(name, o, now: now, into: &out)
            return
        case BindingStatus.idMismatch:
            if let t = timestamp {
                let ours = Int64(NTPTimestamp.seconds(now.ntp))
                clockOffset = Int64(NTPTimestamp.seconds(t)) - ours
            }
            count("timestamp_resyncs")
            resend(name, o, now: now, into: &out)
            return
        default:
            break
        }
        let bidOptions = ba.options.compactMap { if case .bindingIdentifier(let b) = $0 { return b }; return nil }
        var status = ba.status
        if multipleCareOfActive {
            if let mine = bidOptions.first(where: { $0.bid == e.bid }), mine.status != 0 { status = mine.status }
            if ba.status == BindingStatus.mcoaProhibited || (ba.status < 128 && bidOptions.isEmpty && !o.deregistration) {
                out.events.append(.multipleCareOfRefused)
                multipleCareOfActive = false
                e.outstanding = nil
                e.state = .idle
                bindingUpdateList[name] = e
                for n in bindingUpdateList.keys {
                    bindingUpdateList[n]?.bid = 0
                    bindingUpdateList[n]?.state = .idle
                    bindingUpdateList[n]?.outstanding = nil
                }
                chooseSingleCareOf(now: now, into: &out)
                return
            }
        }
        e.outstanding = nil
        e.lastStatus = status
        if o.deregistration {
            e.state = .idle
            bindingUpdateList[name] = e
            out.events.append(.deregistered(uplink: name, bid: e.bid))
            return
        }
        overwriteOutstanding = false
        guard status < 128 else {
            let retryIn = refuse(&e, now: now)
            bindingUpdateList[name] = e
            out.events.append(.rejected(uplink: name, bid: e.bid, status: status, reason: "home agent refused the binding", retryIn: retryIn))
            kickWaitingRegistrations(now: now, into: &out)
            return
        }
        if configuration.isMobileRouter && !ba.flags.contains(.mobileRouter) {
            let retryIn = refuse(&e, now: now)
            bindingUpdateList[name] = e
            out.events.append(.rejected(uplink: name, bid: e.bid, status: status, reason: "home agent does not support mobile routers (BA R flag clear)",
                                        retryIn: retryIn))
            return
        }
        // Units of 4 s (≤ 262,140 s: no overflow); an accepted registration of 0 s would expire
        // at once and re-register in a loop, so it counts as the shortest lifetime (one unit).
        let granted = max(1, Int(ba.lifetime)) * 4
        let advice = ba.options.lazy.compactMap { o -> Int? in
            if case .bindingRefreshAdvice(let i) = o, i > 0 { return Int(i) * 4 }
            return nil
        }.first
        let wasRegistered = e.state == .registered
        e.state = .registered
        e.refusals = 0
        e.retryAt = nil
        e.grantedLifetime = granted
        e.expires = o.sentAt + .seconds(granted)
        e.refreshAt = o.sentAt + .seconds(min(advice ?? granted * 3 / 4, granted * 3 / 4 == 0 ? granted : granted * 3 / 4))
        e.registrations += 1
        if !wasRegistered {
            e.lastRegistrationDelay = now - o.firstSentAt
            e.lastRegisteredAt = now
        }
        bindingUpdateList[name] = e
        noteIPv4Acknowledgement(ba, into: &out)
        if wasRegistered {
            out.events.append(.refreshed(uplink: name, bid: e.bid, lifetime: granted))
        } else {
            out.events.append(.registered(uplink: name, bid: e.bid, careOf: e.careOf ?? careOfAddresses[name]!, lifetime: granted))
        }
        if !multipleCareOfActive {
            // The HA replaced every other binding with this one.
            for (n, other) in bindingUpdateList where n != name && other.state == .registered {
                bindingUpdateList[n]?.state = .idle
                bindingUpdateList[n]?.expires = nil
            }
            // A more preferred uplink may have come back while this one was registering.
            chooseSingleCareOf(now: now, into: &out)
        }
        kickWaitingRegistrations(now: now, into: &out)
    }

    /// A, H, F, and R for a router (RFC 3963 §5.1); a mobile host leaves R clear.
    private var registrationFlags: BindingUpdateFlags {
        configuration.isMobileRouter ? [.acknowledge, .homeRegistration, .mobileRouter, .forceUDP] : [.acknowledge, .homeRegistration, .forceUDP]
    }

    /// Marks a refused uplink failed and schedules its next try: `refusalRetry`, doubled per
    /// consecutive refusal, at most `MobilityTimers.maximumRefusalRetry`.
    private func refuse(_ e: inout BindingUpdateListEntry, now: Instant) -> Duration {
        e.state = .failed
        e.refusals += 1
        var wait = configuration.refusalRetry
        for _ in 1..<min(e.refusals, 16) where wait < MobilityTimers.maximumRefusalRetry { wait = wait * 2 }
        wait = min(wait, MobilityTimers.maximumRefusalRetry)
        e.retryAt = now + wait
        return wait
    }

    private mutating func resend(_ name: String, _ o: OutstandingUpdate, now: Instant, into out: inout MobileRouterOutput) {
        if o.afterResync {
            // Refused again right after resynchronising: back off instead of ping-ponging.
            bindingUpdateList[name]?.outstanding = o
            return
        }
        defer { bindingUpdateList[name]?.outstanding?.afterResync = true }
        if o.deregistration {
            sendDeregistration(of: name, now: now, into: &out)
        } else {
            sendRegistration(name, now: now, into: &out)
        }
    }

    private mutating func kickWaitingRegistrations(now: Instant, into out: inout MobileRouterOutput) {
        guard multipleCareOfActive, !overwriteOutstanding else { return }
        for u in uplinksByPreference where !overwriteOutstanding {
            if let e = bindingUpdateList[u.name], e.state == .registering, e.outstanding == nil, careOfAddresses[u.name] != nil {
                sendRegistration(u.name, now: now, into: &out, timeout: e.registrations == 0 ? MobilityTimers.initialBindAckTimeoutFirstRegistration : MobilityTimers.initialBindAckTimeout)
            }
        }
    }

    private mutating func noteHandover(now: Instant, into out: inout MobileRouterOutput) {
        // A gap with no registered uplink is not a handover by itself; the next uplink to carry
        // default traffic completes it, and the gap is its outage.
        guard let to = defaultUplink else {
            if lastDefaultUplink != nil, noUplinkSince == nil { noUplinkSince = now }
            return
        }
        let careOf = careOfAddresses[to]
        // Back on the same uplink and address after an outage counts too: the outage needs its record.
        guard to != lastDefaultUplink || careOf != lastDefaultCareOf || noUplinkSince != nil else { return }
        let reason: HandoverReason
        if let from = lastDefaultUplink {
            // Its link and address are as they were (with one care-of address the HA has just
            // replaced its binding, so its binding state does not tell).
            let fromStillWorks = noUplinkSince == nil && from != to && bindingUpdateList[from]?.state != .failed
                && careOfAddresses[from] != nil && careOfAddresses[from] == lastDefaultCareOf
            reason = fromStillWorks ? .preferredUplink : .uplinkLost
        } else {
            reason = .startup
        }
        let entry = bindingUpdateList[to]
        let delay = entry?.lastRegisteredAt == now ? entry?.lastRegistrationDelay ?? .zero : .zero
        out.events.append(.handover(HandoverEvent(from: lastDefaultUplink, to: to, careOf: careOf, reason: reason,
                                                  registrationDelay: delay, outage: noUplinkSince.map { now - $0 } ?? .zero)))
        lastDefaultUplink = to
        lastDefaultCareOf = careOf
        noUplinkSince = nil
    }
}
