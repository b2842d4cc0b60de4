import NIOCore
import Timekeeping

/// What the home agent knows about one mobile router it serves.
public struct MobileRouterAccount: Hashable, Sendable {
    public var homeAddress: IPv6Address
    /// The NAI the router presents (RFC 4283); when set, a BU carrying another NAI is refused.
    public var identifier: String?
    public var key: MobilityAuthenticationKey
    /// Prefixes the router may register (explicit mode) or gets (implicit mode).
    public var prefixes: [IPv6Prefix]
    /// Longest lifetime granted, in seconds.
    public var maximumLifetime: Int
    public var mobileRouterAllowed: Bool
    /// Refuse BUs without a replay-protection timestamp (status 145).
    public var requireReplayProtection: Bool
    /// Make-before-break: traffic that no flow binding claims goes over every registered
    /// binding, not only the preferred one, so losing one access link loses nothing (the
    /// mobile router drops the second copy).
    public var duplicateDownlink: Bool
    /// Most (HoA, BID) bindings this router may hold at once: a BU that would exceed it gets
    /// status 130 (insufficient resources). With `duplicateDownlink` each binding multiplies
    /// the downlink traffic, so the cap is also a cap on that amplification.
    public var maximumBindings: Int
    /// The IPv4 home address this router is given when its BU asks for one (RFC 5555 §3.1.1,
    /// option 29); nil: the router has none (answered with status 132).
    public var ipv4HomeAddress: IPv4Address?

    /// Default for `maximumBindings`.
    public static let defaultMaximumBindings = 8
    /// Flow bindings one router may hold (FI options plus Flow Summary FIDs in one BU); beyond: 130.
    public static let maximumFlows = 64

    public init(homeAddress: IPv6Address, identifier: String? = nil, key: MobilityAuthenticationKey, prefixes: [IPv6Prefix],
                maximumLifetime: Int = 600, mobileRouterAllowed: Bool = true, requireReplayProtection: Bool = true,
                duplicateDownlink: Bool = false, maximumBindings: Int = MobileRouterAccount.defaultMaximumBindings,
                ipv4HomeAddress: IPv4Address? = nil) {
        self.ipv4HomeAddress = ipv4HomeAddress
        self.duplicateDownlink = duplicateDownlink
        self.maximumBindings = maximumBindings
        self.homeAddress = homeAddress
        self.identifier = identifier
        self.key = key
        self.prefixes = prefixes
        self.maximumLifetime = maximumLifetime
        self.mobileRouterAllowed = mobileRouterAllowed
        self.requireReplayProtection = requireReplayProtection
    }
}

/// Home agent settings.
public struct HomeAgentConfiguration: Sendable {
    /// The HA's address on the home link: inner source of BAs, inner destination of BUs.
    public var address: IPv6Address
    /// When set, home addresses outside it are refused with 132.
    public var homePrefix: IPv6Prefix?
    public var accounts: [MobileRouterAccount]
    public var allowMultipleCareOf: Bool
    /// Accepted clock difference for replay timestamps, in seconds (RFC 4285 §6: default 7).
    public var replayTolerance: Int
    /// NAT Detection Refresh Time in seconds put in every BA.
    public var natRefreshTime: UInt32

    public init(address: IPv6Address, homePrefix: IPv6Prefix? = nil, accounts: [MobileRouterAccount],
                allowMultipleCareOf: Bool = true, replayTolerance: Int = 7, natRefreshTime: UInt32 = MobilityTimers.natKeepaliveTimeout) {
        self.address = address
        self.homePrefix = homePrefix
        self.accounts = accounts
        self.allowMultipleCareOf = allowMultipleCareOf
        self.replayTolerance = replayTolerance
        self.natRefreshTime = natRefreshTime
    }
}

/// A Mobility Header to send in UDP: the inner IPv6 addresses and the outer destination.
public struct OutgoingSignal: Sendable {
    public var destination: TransportAddress
    public var innerSource: IPv6Address
    public var innerDestination: IPv6Address
    public var message: MobilityMessage
    /// The checksummed (and, when keyed, authenticated) Mobility Header.
    public var mobilityHeader: ByteBuffer

    /// Inner IPv6 header plus MH: the UDP payload.
    public var datagram: [UInt8] {
        UDPTunnelDatagram.signalingPacket(source: innerSource, destination: innerDestination, mobilityHeader: mobilityHeader)
    }
}

/// Binding cache changes worth a log line, a metric or a route change.
public enum HomeAgentEvent: Hashable, Sendable {
    case bindingAdded(homeAddress: IPv6Address, bid: UInt16, careOf: IPAddress, lifetime: Int)
    case bindingUpdated(homeAddress: IPv6Address, bid: UInt16, careOf: IPAddress, lifetime: Int)
    case bindingRemoved(homeAddress: IPv6Address, bid: UInt16, reason: String)
    case prefixRouted(IPv6Prefix)
    case prefixUnrouted(IPv6Prefix)
    /// A router's IPv4 home address is bound (RFC 5555): route it into the tunnel.
    case ipv4HomeAddressRouted(IPv4Address, homeAddress: IPv6Address)
    /// The IPv4 home address binding went (BU without option 29, de-registration, expiry).
    case ipv4HomeAddressUnrouted(IPv4Address, homeAddress: IPv6Address)
    case rejected(homeAddress: IPv6Address, status: UInt8, reason: String)
}

/// What one input to the home agent produced.
public struct HomeAgentOutput: Sendable {
    public var signals: [OutgoingSignal] = []
    public var events: [HomeAgentEvent] = []
}

/// The NEMO home agent as a sans-I/O state machine (RFC 6275 §10, RFC 3963 §6, RFC 5648 §6,
/// RFC 6089 §5, RFC 5555 §4, RFC 4285): BUs in, BAs and binding cache changes out.
public struct HomeAgent: Sendable {
    public internal(set) var configuration: HomeAgentConfiguration
    public private(set) var cache = BindingCache()
    /// The accounts by home address (`replaceAccounts` changes them while running).
    internal(set) var accounts: [IPv6Address: MobileRouterAccount]
    /// Accounts revoked while running, by home address, kept to answer their BUs with an
    /// authenticated refusal (at most `maximumRevokedKept`).
    internal(set) var revokedAccounts: [IPv6Address: MobileRouterAccount] = [:]
    /// Who owns a source address, among `accounts` and among `revokedAccounts` (rebuilt with them).
    var owners: AccountOwnerIndex
    var revokedOwners = AccountOwnerIndex([])
    /// Drop reasons and message counts, for metrics.
    public private(set) var counters: [String: Int] = [:]
    private var lastBindingErrorSent: [TransportAddress: Instant] = [:]
    /// Never later than the earliest expiry in the cache, so `expire(now:)` is O(1) until then.
    private var earliestDeadline: Instant?
    /// Bumped on every change to the binding cache (what a driver persists).
    public private(set) var cacheRevision = 0

    public init(configuration: HomeAgentConfiguration) {
        self.configuration = configuration
        var a: [IPv6Address: MobileRouterAccount] = [:]
        for account in configuration.accounts { a[account.homeAddress] = account }
        accounts = a
        owners = AccountOwnerIndex(configuration.accounts)
    }

    mutating func count(_ name: String) { counters[name, default: 0] += 1 }

    // MARK: signaling

    /// Handles a signaling datagram's Mobility Header received over UDP from `path`.
    public mutating func receive(mobilityHeader: ByteBuffer, innerSource: IPv6Address, innerDestination: IPv6Address,
                                 from path: TransportAddress, now: Instant) -> HomeAgentOutput {
        var out = HomeAgentOutput()
        var buffer = mobilityHeader
        let message: MobilityMessage
        do {
            message = try MobilityMessage(parsing: &buffer, source: innerSource, destination: innerDestination)
        } catch {
            count("dropped_\(error.counterName)")
            if case .unknownType = error {
                // RFC 6275 §9.2: answer an unrecognized MH type with Binding Error status 2.
                out.signals.append(signal(.bindingError(BindingError(status: BindingError.unrecognizedType, homeAddress: innerSource)),
                                          to: path, homeAddress: innerSource))
            }
            return out
        }
        guard case .bindingUpdate(let bu) = message else {
            count("dropped_unexpected_message")
            return out
        }
        count("binding_updates_received")
        guard innerDestination == configuration.address else {
            count("dropped_not_for_us")
            return out
        }
        processBindingUpdate(bu, raw: mobilityHeader, homeAddress: innerSource, path: path, now: now, into: &out)
        return out
    }

    private func signal(_ message: MobilityMessage, to path: TransportAddress, homeAddress: IPv6Address,
                        key: MobilityAuthenticationKey? = nil, careOf: IPv6Address = .unspecified) -> OutgoingSignal {
        let mh = message.encode(source: configuration.address, destination: homeAddress, authentication: key,
                                careOfAddress: careOf, homeAddress: homeAddress)
        return OutgoingSignal(destination: path, innerSource: configuration.address, innerDestination: homeAddress, message: message, mobilityHeader: mh)
    }

    /// The 16-octet CoA that goes into the RFC 4285 authenticator (project convention, docs/mobility.md):
    /// the first CoA the message carries (BID option, Alternate CoA, IPv4 CoA mapped), else `::`.
    public static func authenticatedCareOf(_ options: [MobilityOption]) -> IPv6Address {
        for o in options {
            switch o {
            case .bindingIdentifier(let b): if let c = b.careOfAddress { return c.asIPv6 }
            case .alternateCareOfAddress(let a): return a
            case .ipv4CareOfAddress(let a): return IPv6Address(mapping: a)
            default: continue
            }
        }
        return .unspecified
    }

    /// Validate, decide, commit (BindingUpdateDecision.swift): only the last step changes the cache.
    private mutating func processBindingUpdate(_ bu: BindingUpdate, raw: ByteBuffer, homeAddress hoa: IPv6Address,
                                               path: TransportAddress, now: Instant, into out: inout HomeAgentOutput) {
        let validated: ValidatedBindingUpdate
        do throws(BindingUpdateRejection) {
            validated = try validateBindingUpdate(bu, raw: raw, homeAddress: hoa, path: path, now: now)
        } catch {
            switch error {
            case .unknownHomeAddress:
                // RFC 4285 §5.1.1: no security association, drop silently.
                count("dropped_unknown_home_address")
            case .refused(let refusal, let answer):
                refuse(refusal, answer: answer, into: &out)
            }
            return
        }
        switch decideBindingUpdate(validated, now: now) {
        case .refuse(let refusal):
            refuse(refusal, answer: validated.answer, into: &out)
        case .accept(let change):
            commit(change.entry, oldPrefixes: change.oldPrefixes, oldBindings: change.oldBindings,
                   oldIPv4HomeAddress: validated.existing?.deletedAt == nil ? validated.existing?.ipv4HomeAddress : nil,
                   now: now, reason: change.removalReason, into: &out)
            acknowledge(answer: validated.answer, status: change.status, lifetime: change.lifetime, flags: change.flags,
                        options: change.options, echoTimestamp: validated.answer.timestamp, reason: "", into: &out)
        }
    }

    /// Commit of a refusal: the refusing BA, its counters and event.
    private mutating func refuse(_ refusal: BindingUpdateRefusal, answer: BindingUpdateAnswer, into out: inout HomeAgentOutput) {
        if let counter = refusal.counter { count(counter) }
        let echo: UInt64?
        switch refusal.echo {
        case .request: echo = answer.timestamp
        case .none: echo = nil
        case .value(let v): echo = v
        }
        acknowledge(answer: answer, status: refusal.status, sequence: refusal.sequence, options: refusal.options, echoTimestamp: echo,
                    reason: refusal.reason, into: &out)
    }

    /// Sends the Binding Acknowledgement (signed with the router's key, RFC 4285), counting and
    /// reporting a refusal (status 128 and up).
    private mutating func acknowledge(answer: BindingUpdateAnswer, status: UInt8, lifetime: UInt16 = 0, flags: BindingAcknowledgementFlags = [],
                                      sequence: UInt16? = nil, options extra: [MobilityOption], echoTimestamp: UInt64?, reason: String,
                                      into out: inout HomeAgentOutput) {
        var options = extra
        options.append(.natDetection(udpRequired: true, refreshTime: configuration.natRefreshTime))
        if let t = echoTimestamp { options.append(.replayProtection(t)) }
        options.append(.authentication(MobilityAuthentication(spi: answer.account.key.spi)))
        let ba = BindingAcknowledgement(status: status, flags: flags, sequence: sequence ?? answer.sequence, lifetime: lifetime, options: options)
        out.signals.append(signal(.bindingAcknowledgement(ba), to: answer.path, homeAddress: answer.homeAddress, key: answer.account.key,
                                  careOf: answer.authenticatedCareOf))
        if status >= 128 {
            count("rejected_\(status)")
            out.events.append(.rejected(homeAddress: answer.homeAddress, status: status, reason: reason))
        }
    }

    mutating func commit(_ entry: BindingCacheEntry, oldPrefixes: [IPv6Prefix], oldBindings: [UInt16: Binding],
                         oldIPv4HomeAddress: IPv4Address? = nil, now: Instant, reason: String, into out: inout HomeAgentOutput) {
        var entry = entry
        let hoa = entry.homeAddress
        for (bid, b) in entry.bindings.sorted(by: { $0.key < $1.key }) {
            let lifetime = Int((b.expires - now).secondsValue.rounded())
            if let old = oldBindings[bid] {
                if old.careOfAddress != b.careOfAddress || old.path != b.path {
                    out.events.append(.bindingUpdated(homeAddress: hoa, bid: bid, careOf: b.careOfAddress, lifetime: lifetime))
                }
            } else {
                out.events.append(.bindingAdded(homeAddress: hoa, bid: bid, careOf: b.careOfAddress, lifetime: lifetime))
            }
        }
        for bid in oldBindings.keys.sorted() where entry.bindings[bid] == nil {
            out.events.append(.bindingRemoved(homeAddress: hoa, bid: bid, reason: reason))
        }
        if entry.bindings.isEmpty {
            entry.prefixes = []
            entry.ipv4HomeAddress = nil
            entry.deletedAt = now
        }
        for p in oldPrefixes where !entry.prefixes.contains(p) { out.events.append(.prefixUnrouted(p)) }
        for p in entry.prefixes where !oldPrefixes.contains(p) { out.events.append(.prefixRouted(p)) }
        if oldIPv4HomeAddress != entry.ipv4HomeAddress {
            if let old = oldIPv4HomeAddress { out.events.append(.ipv4HomeAddressUnrouted(old, homeAddress: hoa)) }
            if let new = entry.ipv4HomeAddress { out.events.append(.ipv4HomeAddressRouted(new, homeAddress: hoa)) }
        }
        cache.set(hoa, entry)
        cacheRevision &+= 1
        if let d = HomeAgent.deadline(of: entry) { earliestDeadline = min(earliestDeadline ?? d, d) }
    }

    /// Files a restored entry as if its BU had just been accepted (events for the driver's routes).
    mutating func commitRestored(_ entry: BindingCacheEntry, now: Instant, into out: inout HomeAgentOutput) {
        commit(entry, oldPrefixes: [], oldBindings: [:], now: now, reason: "restored", into: &out)
    }

    private static func deadline(of e: BindingCacheEntry) -> Instant? {
        if let d = e.deletedAt { return d + MobilityTimers.maximumDeleteBindingCacheEntryTimeout }
        return e.bindings.values.map { $0.refreshRequested ? $0.expires : min($0.refreshRequestAt, $0.expires) }.min()
    }

    // MARK: timers

    /// Removes bindings whose lifetime ran out and forgets de-registered entries after 10 s.
    public mutating func expire(now: Instant) -> HomeAgentOutput {
        var out = HomeAgentOutput()
        guard let due = earliestDeadline, due <= now else { return out }
        for (hoa, entry) in cache.entries {
            if let deleted = entry.deletedAt {
                if now - deleted >= MobilityTimers.maximumDeleteBindingCacheEntryTimeout {
                    cache.set(hoa, nil)
                    cacheRevision &+= 1
                }
                continue
            }
            let expired = entry.bindings.values.filter { $0.expires <= now }
            requestRefresh(hoa, entry, except: Set(expired.map(\.bid)), now: now, into: &out)
            guard !expired.isEmpty else { continue }
            var updated = cache[hoa] ?? entry  // with the refresh requests just noted
            for b in expired { updated.bindings[b.bid] = nil }
            updated.flows = updated.flows.filter { _ in !updated.bindings.isEmpty }
            commit(updated, oldPrefixes: entry.prefixes, oldBindings: entry.bindings, oldIPv4HomeAddress: entry.ipv4HomeAddress,
                   now: now, reason: "expired", into: &out)
        }
        earliestDeadline = cache.entries.values.compactMap(HomeAgent.deadline(of:)).min()
        return out
    }

    /// Sends a Binding Refresh Request (RFC 6275 §9.5.5, naming the BID as RFC 5648 §5.8 allows) to
    /// each binding of `entry` whose refresh is overdue, once per registration: a router whose own
    /// refresh BU was lost answers with a new BU before its binding lapses. The request is not
    /// authenticated (none is defined): a router answers it only within its BU rate limit.
    private mutating func requestRefresh(_ hoa: IPv6Address, _ entry: BindingCacheEntry, except lapsing: Set<UInt16>,
                                         now: Instant, into out: inout HomeAgentOutput) {
        let due = entry.bindings.values.filter { !$0.refreshRequested && !lapsing.contains($0.bid) && $0.refreshRequestAt <= now }
        guard !due.isEmpty else { return }
        var updated = entry
        for b in due.sorted(by: { $0.bid < $1.bid }) {
            updated.bindings[b.bid]?.refreshRequested = true
            let options: [MobilityOption] = b.bid == 0 ? [] : [.bindingIdentifier(BindingIdentifier(bid: b.bid))]
            out.signals.append(signal(.bindingRefreshRequest(BindingRefreshRequest(options: options)), to: b.path, homeAddress: hoa))
            count("refresh_requests_sent")
        }
        cache.set(hoa, updated)  // not a change a driver persists: a restored binding may be asked again
    }

    /// When `expire(now:)` next has work to do (possibly earlier, never later).
    public var nextDeadline: Instant? { earliestDeadline }

    // MARK: data path

    /// Outer destinations for a packet towards a mobile network: the first active flow binding
    /// whose selector matches (a copy to each of its registered BIDs), else the preferred binding,
    /// or every binding when the account asks for `duplicateDownlink`.
    public func downlinkPaths(for flow: FlowKey) -> [TransportAddress] {
        let owner: (IPv6Address, BindingCacheEntry)?
        switch flow.destination {
        case .v6(let d): owner = cache.ownerAndEntry(forDestination: d)
        case .v4(let d): owner = cache.ownerAndEntry(forIPv4HomeAddress: d)
        }
        guard let (hoa, entry) = owner else { return [] }
        // Flow selectors are IPv6 (RFC 6088 binary format): an IPv4 packet takes the default.
        let isIPv6: Bool
        if case .v6 = flow.destination { isIPv6 = true } else { isIPv6 = false }
        for fb in entry.flows where isIPv6 {
            let live = fb.bids.compactMap { entry.bindings[$0] }
            if !live.isEmpty, fb.selector.matches(flow) { return live.map(\.path) }
        }
        if accounts[hoa]?.duplicateDownlink == true { return entry.orderedBindings.map(\.path) }
        return entry.orderedBindings.first.map { [$0.path] } ?? []
    }

    /// Whether a tunnelled packet from `path` with inner source `source` belongs to a binding.
    public func acceptsUplink(from path: TransportAddress, source: IPAddress) -> Bool {
        guard let hoa = cache.owner(ofPath: path), let entry = cache[hoa], entry.deletedAt == nil else { return false }
        // IPv4 ingress filtering (RFC 5555 §4.4.3): only the router's own bound IPv4 home address.
        if case .v4(let a) = source { return entry.ipv4HomeAddress == a }
        let s = source.asIPv6
        return s == hoa || entry.prefixes.contains { $0.contains(s) }
    }

    /// For data from a path with no binding (typically after an HA restart): a Binding Error
    /// status 1 so the router re-registers at once, at most once per second per path.
    public mutating func unknownPathSignal(from path: TransportAddress, source: IPAddress, now: Instant) -> OutgoingSignal? {
        count("dropped_data_unknown_path")
        // Only packets a Binding Error can be about count against the rate limit: a stray packet
        // from no router's network (a link-local MLD report, say) must not silence the Binding
        // Error the next real packet from that path should draw.
        // A revoked router's traffic draws one too: its next BU then learns it is refused (129).
        // IPv4 traffic finds its router by the IPv4 home address its account has (RFC 5555).
        guard let hoa = owners.owner(of: source) ?? revokedOwners.owner(of: source) else { return nil }
        if let last = lastBindingErrorSent[path], now - last < .seconds(1) { return nil }
        lastBindingErrorSent[path] = now
        if lastBindingErrorSent.count > 4096 { lastBindingErrorSent = [path: now] }
        count("binding_errors_sent")
        return signal(.bindingError(BindingError(status: BindingError.unknownBinding, homeAddress: hoa)), to: path, homeAddress: hoa)
    }
}
