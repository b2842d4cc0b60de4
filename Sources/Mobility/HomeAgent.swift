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

    /// Default for `maximumBindings`.
    public static let defaultMaximumBindings = 8
    /// Flow bindings one router may hold (FI options plus Flow Summary FIDs in one BU); beyond: 130.
    public static let maximumFlows = 64

    public init(homeAddress: IPv6Address, identifier: String? = nil, key: MobilityAuthenticationKey, prefixes: [IPv6Prefix],
                maximumLifetime: Int = 600, mobileRouterAllowed: Bool = true, requireReplayProtection: Bool = true,
                duplicateDownlink: Bool = false, maximumBindings: Int = MobileRouterAccount.defaultMaximumBindings) {
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
    public let configuration: HomeAgentConfiguration
    public private(set) var cache = BindingCache()
    private let accounts: [IPv6Address: MobileRouterAccount]
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

    private mutating func processBindingUpdate(_ bu: BindingUpdate, raw: ByteBuffer, homeAddress hoa: IPv6Address,
                                               path: TransportAddress, now: Instant, into out: inout HomeAgentOutput) {
        guard let account = accounts[hoa] else {
            // RFC 4285 §5.1.1: no security association, drop silently.
            count("dropped_unknown_home_address")
            return
        }
        let careOfForAuth = HomeAgent.authenticatedCareOf(bu.options)
        let timestamp: UInt64? = bu.options.lazy.compactMap { if case .replayProtection(let t) = $0 { return t }; return nil }.first
        let bids = bu.options.compactMap { if case .bindingIdentifier(let b) = $0 { return b }; return nil }
        let existing = cache[hoa]

        func reply(_ status: UInt8, lifetime: UInt16 = 0, flags: BindingAcknowledgementFlags = [], sequence: UInt16? = nil,
                   extra: [MobilityOption] = [], echoTimestamp: UInt64? = timestamp, reason: String) {
            var options = extra
            options.append(.natDetection(udpRequired: true, refreshTime: configuration.natRefreshTime))
            if let t = echoTimestamp { options.append(.replayProtection(t)) }
            options.append(.authentication(MobilityAuthentication(spi: account.key.spi)))
            let ba = BindingAcknowledgement(status: status, flags: flags, sequence: sequence ?? bu.sequence, lifetime: lifetime, options: options)
            out.signals.append(signal(.bindingAcknowledgement(ba), to: path, homeAddress: hoa, key: account.key, careOf: careOfForAuth))
            if status >= 128 {
                count("rejected_\(status)")
                out.events.append(.rejected(homeAddress: hoa, status: status, reason: reason))
            }
        }

        // Authentication first: nothing else of an unauthenticated BU is believed (RFC 4285 §5).
        let verdict = MobilityAuthenticator.verify(raw, keys: { $0 == account.key.spi ? account.key.key : nil },
                                                   careOfAddress: careOfForAuth, homeAddress: hoa)
        guard case .valid = verdict else {
            if case .notLast = verdict {
                count("dropped_auth_not_last")
                reply(BindingStatus.authenticationFailed, echoTimestamp: nil, reason: "MN-HA authentication option is not the last option")
            } else {
                reply(BindingStatus.authenticationFailed, echoTimestamp: nil, reason: "MN-HA authenticator \(verdict)")
            }
            return
        }
        if let nai = account.identifier {
            let presented = bu.options.lazy.compactMap { o -> String? in
                if case .mobileNodeIdentifier(1, let id) = o { return String(decoding: id, as: UTF8.self) }
                return nil
            }.first
            if let presented, presented != nai {
                reply(BindingStatus.notHomeAgentForThisMobileNode, reason: "NAI \(presented) is not \(nai)")
                return
            }
        }
        // Replay protection (RFC 4285 §6).
        if let t = timestamp {
            let ours = Int64(NTPTimestamp.seconds(now.ntp))
            let theirs = Int64(NTPTimestamp.seconds(t))
            let fresh = abs(ours - theirs) <= Int64(configuration.replayTolerance)
            let increasing = existing?.lastTimestamp.map { t > $0 } ?? true
            guard fresh, increasing else {
                let resync = UInt64(UInt32(truncatingIfNeeded: ours)) << 32 | (t & 0xFFFF_FFFF)
                reply(BindingStatus.idMismatch, echoTimestamp: resync,
                      reason: fresh ? "replayed timestamp (not newer than the last accepted)" : "timestamp \(theirs - ours) s off")
                return
            }
        } else if account.requireReplayProtection {
            reply(BindingStatus.messageIDRequired, reason: "replay protection option missing")
            return
        }
        guard bu.flags.contains(.homeRegistration) else {
            reply(BindingStatus.homeRegistrationNotSupported, reason: "H flag clear")
            return
        }
        if let home = configuration.homePrefix, !home.contains(hoa) {
            reply(BindingStatus.notHomeSubnet, reason: "\(hoa) outside \(home)")
            return
        }
        // Sequence window (RFC 6275 §9.5.1), also against an entry kept after de-registration.
        if let e = existing, !isNewerSequence(bu.sequence, than: e.lastSequence) {
            reply(BindingStatus.sequenceNumberOutOfWindow, sequence: e.lastSequence, reason: "sequence \(bu.sequence) not newer than \(e.lastSequence)")
            return
        }
        // Resource caps (status 130): bindings per router, flow bindings per router.
        let flowCount = bu.options.reduce(0) { n, o in
            switch o {
            case .flowIdentification: return n + 1
            case .flowSummary(let f): return n + f.count
            default: return n
            }
        }
        if bids.count > account.maximumBindings {
            reply(BindingStatus.insufficientResources, reason: "\(bids.count) BIDs in one BU, at most \(account.maximumBindings) bindings per router")
            return
        }
        if flowCount > MobileRouterAccount.maximumFlows {
            reply(BindingStatus.insufficientResources, reason: "\(flowCount) flows in one BU, at most \(MobileRouterAccount.maximumFlows) per router")
            return
        }

        let isRouter = bu.flags.contains(.mobileRouter)
        if isRouter && !account.mobileRouterAllowed {
            reply(BindingStatus.mobileRouterOperationNotPermitted, reason: "R flag not permitted for this home address")
            return
        }
        let deregistration = bu.lifetime == 0
        if let e = existing, e.deletedAt == nil, !e.bindings.isEmpty, e.isMobileRouter != isRouter, !deregistration {
            reply(BindingStatus.registrationTypeChangeDisallowed, reason: "R flag changed on a live entry")
            return
        }
        var entry = existing ?? BindingCacheEntry(homeAddress: hoa, isMobileRouter: isRouter, lastSequence: bu.sequence, lastTimestamp: nil,
                                                  prefixes: [], bindings: [:], flows: [], deletedAt: nil)
        if entry.deletedAt != nil {
            entry.deletedAt = nil
            entry.bindings = [:]
            entry.prefixes = []
            entry.flows = []
        }
        let oldPrefixes = entry.prefixes
        let oldBindings = entry.bindings

        if deregistration {
            var bidReplies: [MobilityOption] = []
            var anyUnknown = false
            if bids.isEmpty {
                entry.bindings = [:]
            } else {
                for b in bids {
                    var echo = b
                    echo.careOfAddress = nil
                    if entry.bindings.removeValue(forKey: b.bid) == nil {
                        echo.status = BindingStatus.notHomeAgentForThisMobileNode
                        anyUnknown = true
                    }
                    bidReplies.append(.bindingIdentifier(echo))
                }
            }
            if entry.bindings.isEmpty {
                entry.flows = []
            } else {
                entry.flows = applyFlowOptions(bu.options, to: entry, replies: &bidReplies)
            }
            if oldBindings.isEmpty {
                reply(BindingStatus.notHomeAgentForThisMobileNode, extra: bidReplies, reason: "de-registration for an unknown binding")
                return
            }
            entry.lastSequence = bu.sequence
            entry.lastTimestamp = timestamp ?? entry.lastTimestamp
            commit(entry, oldPrefixes: oldPrefixes, oldBindings: oldBindings, now: now, reason: "de-registered", into: &out)
            reply(anyUnknown ? BindingStatus.mcoaNotComplete : BindingStatus.accepted, flags: isRouter ? .mobileRouter : [],
                  extra: bidReplies, reason: "")
            return
        }

        // Prefixes: explicit when MNP options are present, implicit otherwise (RFC 3963 §5.2, §6.2).
        var prefixes: [IPv6Prefix] = []
        if isRouter {
            let requested = bu.options.compactMap { if case .mobileNetworkPrefix(let p) = $0 { return p }; return nil }
            if requested.isEmpty {
                guard !account.prefixes.isEmpty else {
                    reply(BindingStatus.forwardingSetupFailed, reason: "implicit mode and no configured prefix")
                    return
                }
                prefixes = account.prefixes
            } else {
                for p in requested {
                    guard p.length > 0, p.length <= 128, p.address.high >> 56 != 0xFF else {
                        reply(BindingStatus.invalidPrefix, reason: "invalid prefix \(p)")
                        return
                    }
                    guard account.prefixes.contains(where: { $0.covers(p) }) else {
                        reply(BindingStatus.notAuthorizedForPrefix, reason: "\(p) not delegated to \(hoa)")
                        return
                    }
                    if let owner = cache.entry(forDestination: p.address)?.homeAddress, owner != hoa {
                        reply(BindingStatus.notAuthorizedForPrefix, reason: "\(p) is registered by \(owner)")
                        return
                    }
                }
                prefixes = requested
            }
        }

        let maxUnits = UInt16(clamping: account.maximumLifetime / 4)
        let granted = min(bu.lifetime, max(1, maxUnits))
        let expires = now + .seconds(Int(granted) * 4)
        var bidReplies: [MobilityOption] = []
        var status = BindingStatus.accepted

        if bids.isEmpty {
            // RFC 6275 processing: one binding replacing all others.
            var coa: IPAddress = path.address
            for o in bu.options {
                if case .alternateCareOfAddress(let a) = o { coa = .v6(a) }
                if case .ipv4CareOfAddress(let a) = o { coa = .v4(a) }
            }
            if case .v6(let a) = coa, !a.isRoutableUnicast {
                reply(BindingStatus.invalidCareOfAddress, reason: "care-of address \(a) not routable")
                return
            }
            entry.bindings = [0: Binding(bid: 0, careOfAddress: coa, path: path, priority: 0, registeredAt: now, expires: expires)]
            entry.flows = []
        } else {
            guard configuration.allowMultipleCareOf else {
                reply(BindingStatus.mcoaProhibited, reason: "MCoA disabled")
                return
            }
            for b in bids {
                if b.bid == 0 {
                    reply(BindingStatus.mcoaMalformed, reason: "BID 0")
                    return
                }
                if case .v6(let a) = b.careOfAddress, !a.isRoutableUnicast {
                    reply(BindingStatus.mcoaMalformed, reason: "BID \(b.bid) care-of address \(a) not routable")
                    return
                }
            }
            if bu.flags.contains(.overwrite) {
                entry.bindings = [:]
            } else if entry.bindings[0] != nil {
                reply(BindingStatus.mcoaNonMCoABindingExists, reason: "a binding without BID exists")
                return
            }
            for b in bids {
                var echo = b
                echo.careOfAddress = nil
                if let coa = b.careOfAddress {
                    let careOf: IPAddress = b.homeFlag ? .v6(hoa) : coa
                    entry.bindings[b.bid] = Binding(bid: b.bid, careOfAddress: careOf, path: path, priority: b.priority, registeredAt: now, expires: expires)
                } else if var old = entry.bindings[b.bid] {
                    old.expires = expires
                    old.path = path
                    old.priority = b.priority
                    entry.bindings[b.bid] = old
                } else {
                    echo.status = BindingStatus.mcoaUnknownCareOfAddress
                    status = BindingStatus.mcoaNotComplete
                }
                bidReplies.append(.bindingIdentifier(echo))
            }
            if entry.bindings.count > account.maximumBindings {
                reply(BindingStatus.insufficientResources,
                      reason: "\(entry.bindings.count) bindings would exceed the cap of \(account.maximumBindings) for this router")
                return
            }
            entry.flows = applyFlowOptions(bu.options, to: entry, replies: &bidReplies)
        }
        entry.isMobileRouter = isRouter
        entry.prefixes = prefixes
        entry.lastSequence = bu.sequence
        entry.lastTimestamp = timestamp ?? entry.lastTimestamp
        commit(entry, oldPrefixes: oldPrefixes, oldBindings: oldBindings, now: now, reason: "replaced", into: &out)
        // Refresh advice: ask for a refresh well before expiry so one lost BU does not drop the binding.
        let refresh = max(1, granted * 3 / 4)
        reply(status, lifetime: granted, flags: isRouter ? .mobileRouter : [],
              extra: [.bindingRefreshAdvice(interval: refresh)] + bidReplies, reason: "")
    }

    /// Rebuilds the flow-binding list from a BU's FI and Flow Summary options (RFC 6089 §5.2–5.3),
    /// appending the FI options to echo in the BA.
    private func applyFlowOptions(_ options: [MobilityOption], to entry: BindingCacheEntry, replies: inout [MobilityOption]) -> [FlowBinding] {
        let fis = options.compactMap { if case .flowIdentification(let f) = $0 { return f }; return nil }
        let summary = options.flatMap { o -> [UInt16] in if case .flowSummary(let f) = o { return f }; return [] }
        var duplicates = Set<UInt16>()
        var seen = Set<UInt16>()
        for f in fis where !seen.insert(f.fid).inserted { duplicates.insert(f.fid) }
        var flows: [FlowBinding] = []
        for f in fis {
            var echo = FlowIdentification(fid: f.fid, priority: f.priority)
            let old = entry.flows.first { $0.fid == f.fid }
            let selector = f.trafficSelector ?? old?.selector
            let bids = f.bindingReferences ?? old?.bids
            if duplicates.contains(f.fid) || f.fid == 0 || f.priority == 0 {
                echo.status = FlowIdentification.Status.malformed
            } else if selector == nil || bids == nil {
                echo.status = FlowIdentification.Status.malformed
            } else if case .unsupported = selector! {
                echo.status = FlowIdentification.Status.selectorFormatNotSupported
            } else if bids!.contains(where: { entry.bindings[$0] == nil }) {
                echo.status = FlowIdentification.Status.bidNotFound
            } else {
                flows.append(FlowBinding(fid: f.fid, priority: f.priority, selector: selector!, bids: bids!))
            }
            replies.append(.flowIdentification(echo))
        }
        for fid in summary where !seen.contains(fid) {
            if let old = entry.flows.first(where: { $0.fid == fid }) {
                flows.append(old)
            } else {
                replies.append(.flowIdentification(FlowIdentification(fid: fid, priority: 1, status: FlowIdentification.Status.fidNotFound)))
            }
        }
        return flows.sorted { ($0.priority, $0.fid) < ($1.priority, $1.fid) }
    }

    private mutating func commit(_ entry: BindingCacheEntry, oldPrefixes: [IPv6Prefix], oldBindings: [UInt16: Binding],
                                 now: Instant, reason: String, into out: inout HomeAgentOutput) {
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
            entry.deletedAt = now
        }
        for p in oldPrefixes where !entry.prefixes.contains(p) { out.events.append(.prefixUnrouted(p)) }
        for p in entry.prefixes where !oldPrefixes.contains(p) { out.events.append(.prefixRouted(p)) }
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
        return e.bindings.values.map(\.expires).min()
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
            guard !expired.isEmpty else { continue }
            var updated = entry
            for b in expired { updated.bindings[b.bid] = nil }
            updated.flows = updated.flows.filter { _ in !updated.bindings.isEmpty }
            commit(updated, oldPrefixes: entry.prefixes, oldBindings: entry.bindings, now: now, reason: "expired", into: &out)
        }
        earliestDeadline = cache.entries.values.compactMap(HomeAgent.deadline(of:)).min()
        return out
    }

    /// When `expire(now:)` next has work to do (possibly earlier, never later).
    public var nextDeadline: Instant? { earliestDeadline }

    // MARK: data path

    /// Outer destinations for a packet towards a mobile network: the first active flow binding
    /// whose selector matches (a copy to each of its registered BIDs), else the preferred binding,
    /// or every binding when the account asks for `duplicateDownlink`.
    public func downlinkPaths(for flow: FlowKey) -> [TransportAddress] {
        guard let (hoa, entry) = cache.ownerAndEntry(forDestination: flow.destination.asIPv6) else { return [] }
        for fb in entry.flows {
            let live = fb.bids.compactMap { entry.bindings[$0] }
            if !live.isEmpty, fb.selector.matches(flow) { return live.map(\.path) }
        }
        if accounts[hoa]?.duplicateDownlink == true { return entry.orderedBindings.map(\.path) }
        return entry.orderedBindings.first.map { [$0.path] } ?? []
    }

    /// Whether a tunnelled packet from `path` with inner source `source` belongs to a binding.
    public func acceptsUplink(from path: TransportAddress, source: IPAddress) -> Bool {
        guard let hoa = cache.owner(ofPath: path), let entry = cache[hoa], entry.deletedAt == nil else { return false }
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
        let hoa = accounts.values.first { a in a.homeAddress == source.asIPv6 || a.prefixes.contains { $0.contains(source.asIPv6) } }?.homeAddress
        guard let hoa else { return nil }
        if let last = lastBindingErrorSent[path], now - last < .seconds(1) { return nil }
        lastBindingErrorSent[path] = now
        if lastBindingErrorSent.count > 4096 { lastBindingErrorSent = [path: now] }
        count("binding_errors_sent")
        return signal(.bindingError(BindingError(status: BindingError.unknownBinding, homeAddress: hoa)), to: path, homeAddress: hoa)
    }
}
