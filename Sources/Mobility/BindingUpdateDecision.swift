import NIOCore
import Timekeeping

// A Binding Update at the home agent goes through three steps (HomeAgent.processBindingUpdate):
// `validateBindingUpdate` (authentication and message checks, pure), `decideBindingUpdate` (accept or
// refuse, and the binding cache entry that results, pure), and the commit in HomeAgent.swift, which
// alone changes the cache and emits the Binding Acknowledgement and events.

/// Whom a Binding Acknowledgement answers and how it is signed: known once the home address has an account.
struct BindingUpdateAnswer: Sendable {
    var homeAddress: IPv6Address
    var path: TransportAddress
    var account: MobileRouterAccount
    /// The care-of address the BU's authenticator covers; the BA's covers the same.
    var authenticatedCareOf: IPv6Address
    /// The BU's sequence number, which the BA carries unless a refusal says otherwise.
    var sequence: UInt16
    /// The BU's replay-protection timestamp, echoed by default.
    var timestamp: UInt64?
}

/// A refused BU: the BA status and what the BA and the log line carry.
struct BindingUpdateRefusal: Error, Sendable {
    /// What the BA's replay-protection option carries.
    enum TimestampEcho: Sendable {
        /// The BU's own timestamp (if it had one).
        case request
        /// No timestamp (the BU did not authenticate: nothing of it is echoed).
        case none
        /// A resynchronisation value (status 147, RFC 4285 §6).
        case value(UInt64)
    }

    var status: UInt8
    var reason: String
    /// The sequence number the BA carries instead of the BU's (status 135: the last accepted one).
    var sequence: UInt16? = nil
    var echo: TimestampEcho = .request
    /// Options echoed before the NAT detection, timestamp and authentication options.
    var options: [MobilityOption] = []
    /// A counter bumped besides `rejected_<status>`.
    var counter: String? = nil
}

/// Why validation stopped.
enum BindingUpdateRejection: Error, Sendable {
    /// No security association for the home address: dropped without an answer (RFC 4285 §5.1.1).
    case unknownHomeAddress(IPv6Address)
    /// Answered with a refusing BA.
    case refused(BindingUpdateRefusal, answer: BindingUpdateAnswer)
}

/// A BU that authenticated and passed the message checks: what the decision works from.
struct ValidatedBindingUpdate: Sendable {
    var update: BindingUpdate
    var answer: BindingUpdateAnswer
    var bindingIdentifiers: [BindingIdentifier]
    /// The cache entry for the home address when the BU arrived (possibly a de-registered one).
    var existing: BindingCacheEntry?

    var account: MobileRouterAccount { answer.account }
    var homeAddress: IPv6Address { answer.homeAddress }
    var isMobileRouter: Bool { update.flags.contains(.mobileRouter) }
    var isDeregistration: Bool { update.lifetime == 0 }
}

/// What an accepted BU changes, and the BA that says so.
struct BindingCacheChange: Sendable {
    var entry: BindingCacheEntry
    var oldPrefixes: [IPv6Prefix]
    var oldBindings: [UInt16: Binding]
    /// Why bindings missing from `entry` went (the `bindingRemoved` events).
    var removalReason: String
    var status: UInt8
    var lifetime: UInt16
    var flags: BindingAcknowledgementFlags
    var options: [MobilityOption]
}

/// The decision on a validated BU.
enum BindingUpdateDecision: Sendable {
    case accept(BindingCacheChange)
    case refuse(BindingUpdateRefusal)
}

extension HomeAgent {
    /// Validate: authentication first, since nothing else of an unauthenticated BU is believed
    /// (RFC 4285 §5), then identity, replay protection, flags, home subnet, sequence window and
    /// resource caps. Reads the configuration and the cache; changes nothing.
    func validateBindingUpdate(_ bu: BindingUpdate, raw: ByteBuffer, homeAddress hoa: IPv6Address, path: TransportAddress,
                               now: Instant) throws(BindingUpdateRejection) -> ValidatedBindingUpdate {
        // A revoked router's BU is still authenticated with its old key, so its refusal (129) is one
        // it can believe; a home address never served is dropped unanswered.
        guard let account = accounts[hoa] ?? revokedAccounts[hoa] else { throw .unknownHomeAddress(hoa) }
        let timestamp: UInt64? = bu.options.lazy.compactMap { if case .replayProtection(let t) = $0 { return t }; return nil }.first
        let answer = BindingUpdateAnswer(homeAddress: hoa, path: path, account: account,
                                         authenticatedCareOf: HomeAgent.authenticatedCareOf(bu.options), sequence: bu.sequence, timestamp: timestamp)
        func refuse(_ refusal: BindingUpdateRefusal) -> BindingUpdateRejection { .refused(refusal, answer: answer) }

        let verdict = MobilityAuthenticator.verify(raw, keys: { $0 == account.key.spi ? account.key.key : nil },
                                                   careOfAddress: answer.authenticatedCareOf, homeAddress: hoa)
        guard case .valid = verdict else {
            if case .notLast = verdict {
                throw refuse(BindingUpdateRefusal(status: BindingStatus.authenticationFailed,
                                                  reason: "MN-HA authentication option is not the last option", echo: .none,
                                                  counter: "dropped_auth_not_last"))
            }
            throw refuse(BindingUpdateRefusal(status: BindingStatus.authenticationFailed, reason: "MN-HA authenticator \(verdict)", echo: .none))
        }
        guard accounts[hoa] != nil else {
            throw refuse(BindingUpdateRefusal(status: BindingStatus.administrativelyProhibited, reason: "the router's account was revoked",
                                              counter: "rejected_revoked"))
        }
        if let nai = account.identifier {
            let presented = bu.options.lazy.compactMap { o -> String? in
                if case .mobileNodeIdentifier(1, let id) = o { return String(decoding: id, as: UTF8.self) }
                return nil
            }.first
            if let presented, presented != nai {
                throw refuse(BindingUpdateRefusal(status: BindingStatus.notHomeAgentForThisMobileNode, reason: "NAI \(presented) is not \(nai)"))
            }
        }
        let existing = cache[hoa]
        // Replay protection (RFC 4285 §6).
        if let t = timestamp {
            let ours = Int64(NTPTimestamp.seconds(now.ntp))
            let theirs = Int64(NTPTimestamp.seconds(t))
            let fresh = abs(ours - theirs) <= Int64(configuration.replayTolerance)
            let increasing = existing?.lastTimestamp.map { t > $0 } ?? true
            guard fresh, increasing else {
                let resync = UInt64(UInt32(truncatingIfNeeded: ours)) << 32 | (t & 0xFFFF_FFFF)
                throw refuse(BindingUpdateRefusal(status: BindingStatus.idMismatch,
                                                  reason: fresh ? "replayed timestamp (not newer than the last accepted)" : "timestamp \(theirs - ours) s off",
                                                  echo: .value(resync)))
            }
        } else if account.requireReplayProtection {
            throw refuse(BindingUpdateRefusal(status: BindingStatus.messageIDRequired, reason: "replay protection option missing"))
        }
        guard bu.flags.contains(.homeRegistration) else {
            throw refuse(BindingUpdateRefusal(status: BindingStatus.homeRegistrationNotSupported, reason: "H flag clear"))
        }
        if let home = configuration.homePrefix, !home.contains(hoa) {
            throw refuse(BindingUpdateRefusal(status: BindingStatus.notHomeSubnet, reason: "\(hoa) outside \(home)"))
        }
        // Sequence window (RFC 6275 §9.5.1), also against an entry kept after de-registration.
        if let e = existing, !isNewerSequence(bu.sequence, than: e.lastSequence) {
            throw refuse(BindingUpdateRefusal(status: BindingStatus.sequenceNumberOutOfWindow,
                                              reason: "sequence \(bu.sequence) not newer than \(e.lastSequence)", sequence: e.lastSequence))
        }
        // Resource caps (status 130): bindings per router, flow bindings per router.
        let bids = bu.options.compactMap { if case .bindingIdentifier(let b) = $0 { return b }; return nil }
        let flowCount = bu.options.reduce(0) { n, o in
            switch o {
            case .flowIdentification: return n + 1
            case .flowSummary(let f): return n + f.count
            default: return n
            }
        }
        if bids.count > account.maximumBindings {
            throw refuse(BindingUpdateRefusal(status: BindingStatus.insufficientResources,
                                              reason: "\(bids.count) BIDs in one BU, at most \(account.maximumBindings) bindings per router"))
        }
        if flowCount > MobileRouterAccount.maximumFlows {
            throw refuse(BindingUpdateRefusal(status: BindingStatus.insufficientResources,
                                              reason: "\(flowCount) flows in one BU, at most \(MobileRouterAccount.maximumFlows) per router"))
        }
        let isRouter = bu.flags.contains(.mobileRouter)
        if isRouter && !account.mobileRouterAllowed {
            throw refuse(BindingUpdateRefusal(status: BindingStatus.mobileRouterOperationNotPermitted, reason: "R flag not permitted for this home address"))
        }
        if let e = existing, e.deletedAt == nil, !e.bindings.isEmpty, e.isMobileRouter != isRouter, bu.lifetime != 0 {
            throw refuse(BindingUpdateRefusal(status: BindingStatus.registrationTypeChangeDisallowed, reason: "R flag changed on a live entry"))
        }
        return ValidatedBindingUpdate(update: bu, answer: answer, bindingIdentifiers: bids, existing: existing)
    }

    /// Decide: de-register, or register the care-of addresses, prefixes and flows the BU asks for
    /// (RFC 6275 §10.3, RFC 3963 §6.2, RFC 5648 §6, RFC 6089 §5), within what the account allows.
    /// Returns the resulting cache entry and BA; changes nothing.
    func decideBindingUpdate(_ v: ValidatedBindingUpdate, now: Instant) -> BindingUpdateDecision {
        let bu = v.update, hoa = v.homeAddress, account = v.account, isRouter = v.isMobileRouter
        let bids = v.bindingIdentifiers
        var entry = v.existing ?? BindingCacheEntry(homeAddress: hoa, isMobileRouter: isRouter, lastSequence: bu.sequence, lastTimestamp: nil,
                                                    prefixes: [], bindings: [:], flows: [], deletedAt: nil)
        if entry.deletedAt != nil {
            entry.deletedAt = nil
            entry.bindings = [:]
            entry.prefixes = []
            entry.flows = []
            entry.ipv4HomeAddress = nil
        }
        let oldPrefixes = entry.prefixes
        let oldBindings = entry.bindings

        if v.isDeregistration {
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
                entry.flows = flowBindings(from: bu.options, for: entry, replies: &bidReplies)
            }
            if oldBindings.isEmpty {
                return .refuse(BindingUpdateRefusal(status: BindingStatus.notHomeAgentForThisMobileNode,
                                                    reason: "de-registration for an unknown binding", options: bidReplies))
            }
            entry.lastSequence = bu.sequence
            entry.lastTimestamp = v.answer.timestamp ?? entry.lastTimestamp
            return .accept(BindingCacheChange(entry: entry, oldPrefixes: oldPrefixes, oldBindings: oldBindings, removalReason: "de-registered",
                                              status: anyUnknown ? BindingStatus.mcoaNotComplete : BindingStatus.accepted, lifetime: 0,
                                              flags: isRouter ? .mobileRouter : [], options: bidReplies))
        }

        // Prefixes: explicit when MNP options are present, implicit otherwise (RFC 3963 §5.2, §6.2).
        var prefixes: [IPv6Prefix] = []
        if isRouter {
            let requested = bu.options.compactMap { if case .mobileNetworkPrefix(let p) = $0 { return p }; return nil }
            if requested.isEmpty {
                guard !account.prefixes.isEmpty else {
                    return .refuse(BindingUpdateRefusal(status: BindingStatus.forwardingSetupFailed, reason: "implicit mode and no configured prefix"))
                }
                prefixes = account.prefixes
            } else {
                for p in requested {
                    guard p.length > 0, p.length <= 128, p.address.high >> 56 != 0xFF else {
                        return .refuse(BindingUpdateRefusal(status: BindingStatus.invalidPrefix, reason: "invalid prefix \(p)"))
                    }
                    guard account.prefixes.contains(where: { $0.covers(p) }) else {
                        return .refuse(BindingUpdateRefusal(status: BindingStatus.notAuthorizedForPrefix, reason: "\(p) not delegated to \(hoa)"))
                    }
                    if let owner = cache.entry(forDestination: p.address)?.homeAddress, owner != hoa {
                        return .refuse(BindingUpdateRefusal(status: BindingStatus.notAuthorizedForPrefix, reason: "\(p) is registered by \(owner)"))
                    }
                }
                prefixes = requested
            }
        }

        let maxUnits = UInt16(clamping: account.maximumLifetime / 4)
        let granted = min(bu.lifetime, max(1, maxUnits))
        let expires = now + .seconds(Int(granted) * 4)
        let path = v.answer.path
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
                return .refuse(BindingUpdateRefusal(status: BindingStatus.invalidCareOfAddress, reason: "care-of address \(a) not routable"))
            }
            entry.bindings = [0: Binding(bid: 0, careOfAddress: coa, path: path, priority: 0, registeredAt: now, expires: expires)]
            entry.flows = []
        } else {
            guard configuration.allowMultipleCareOf else {
                return .refuse(BindingUpdateRefusal(status: BindingStatus.mcoaProhibited, reason: "MCoA disabled"))
            }
            for b in bids {
                if b.bid == 0 {
                    return .refuse(BindingUpdateRefusal(status: BindingStatus.mcoaMalformed, reason: "BID 0"))
                }
                if case .v6(let a) = b.careOfAddress, !a.isRoutableUnicast {
                    return .refuse(BindingUpdateRefusal(status: BindingStatus.mcoaMalformed, reason: "BID \(b.bid) care-of address \(a) not routable"))
                }
            }
            if bu.flags.contains(.overwrite) {
                entry.bindings = [:]
            } else if entry.bindings[0] != nil {
                return .refuse(BindingUpdateRefusal(status: BindingStatus.mcoaNonMCoABindingExists, reason: "a binding without BID exists"))
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
                return .refuse(BindingUpdateRefusal(status: BindingStatus.insufficientResources,
                                                    reason: "\(entry.bindings.count) bindings would exceed the cap of \(account.maximumBindings) for this router"))
            }
            entry.flows = flowBindings(from: bu.options, for: entry, replies: &bidReplies)
        }
        entry.isMobileRouter = isRouter
        entry.prefixes = prefixes
        entry.lastSequence = bu.sequence
        entry.lastTimestamp = v.answer.timestamp ?? entry.lastTimestamp
        // IPv4 home address (RFC 5555 §4.4.2): bound while each BU asks for it; a BU without
        // option 29 removes it and keeps the IPv6 binding.
        let requested = bu.options.lazy.compactMap { o -> (prefixLength: UInt8, requestPrefix: Bool, address: IPv4Address)? in
            if case .ipv4HomeAddress(let l, let p, let a) = o { return (l, p, a) }
            return nil
        }.first
        let ipv4 = IPv4HomeAddressAnswer.decide(requested: requested, assigned: account.ipv4HomeAddress)
        entry.ipv4HomeAddress = ipv4?.bound
        // Refresh advice: ask for a refresh well before expiry so one lost BU does not drop the binding.
        let refresh = max(1, granted * 3 / 4)
        return .accept(BindingCacheChange(entry: entry, oldPrefixes: oldPrefixes, oldBindings: oldBindings, removalReason: "replaced",
                                          status: status, lifetime: granted, flags: isRouter ? .mobileRouter : [],
                                          options: [.bindingRefreshAdvice(interval: refresh)] + (ipv4.map { [$0.acknowledgement] } ?? []) + bidReplies))
    }

    /// Rebuilds the flow-binding list from a BU's FI and Flow Summary options (RFC 6089 §5.2–5.3),
    /// appending the FI options to echo in the BA.
    func flowBindings(from options: [MobilityOption], for entry: BindingCacheEntry, replies: inout [MobilityOption]) -> [FlowBinding] {
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
}
