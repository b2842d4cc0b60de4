import NIOCore
import SystemSupport
import Timekeeping

/// The binding cache as the home agent saves it, so bindings survive a restart: plain strings
/// and numbers (JSON in the driver), instants as nanoseconds since the Unix epoch (the clock the
/// drivers feed is anchored to the wall clock), flow bindings as their FI option's wire octets
/// in hex, so a restored file goes through the same (fuzzed) option parser as the network.
public struct BindingCacheSnapshot: Codable, Sendable, Equatable {
    public struct SavedBinding: Codable, Sendable, Equatable {
        public var bid: UInt16
        public var careOf: String
        public var pathAddress: String
        public var pathPort: UInt16
        public var priority: UInt8
        public var registeredAt: Int64
        public var expires: Int64
    }

    public struct SavedEntry: Codable, Sendable, Equatable {
        public var homeAddress: String
        public var isMobileRouter: Bool
        public var lastSequence: UInt16
        public var lastTimestamp: UInt64?
        public var prefixes: [String]
        public var bindings: [SavedBinding]
        /// Each flow binding as an encoded Flow Identification option, hex.
        public var flows: [String]
        /// The bound IPv4 home address (RFC 5555); absent in files written before it existed.
        public var ipv4HomeAddress: String? = nil
    }

    /// Format version; a file of another version is not restored.
    public var version: Int
    public var entries: [SavedEntry]

    public static let currentVersion = 1

    /// The live entries of `cache` (de-registered ones kept only to reject old BUs are left out).
    public init(_ cache: BindingCache) {
        version = BindingCacheSnapshot.currentVersion
        entries = cache.entries.values.filter { $0.deletedAt == nil && !$0.bindings.isEmpty }
            .sorted { $0.homeAddress < $1.homeAddress }
            .map { e in
                SavedEntry(homeAddress: e.homeAddress.description, isMobileRouter: e.isMobileRouter, lastSequence: e.lastSequence,
                           lastTimestamp: e.lastTimestamp, prefixes: e.prefixes.map(\.description),
                           bindings: e.orderedBindings.map { b in
                               SavedBinding(bid: b.bid, careOf: b.careOfAddress.description, pathAddress: b.path.address.description,
                                            pathPort: b.path.port, priority: b.priority, registeredAt: b.registeredAt.nanoseconds,
                                            expires: b.expires.nanoseconds)
                           },
                           flows: e.flows.map { f in
                               var buffer = ByteBuffer()
                               MobilityOption.flowIdentification(FlowIdentification(fid: f.fid, priority: f.priority, trafficSelector: f.selector,
                                                                                    bindingReferences: f.bids)).write(to: &buffer)
                               return Hex.encode(buffer.readableBytesView)
                           },
                           ipv4HomeAddress: e.ipv4HomeAddress?.description)
            }
    }

    public init(version: Int = BindingCacheSnapshot.currentVersion, entries: [SavedEntry]) {
        self.version = version
        self.entries = entries
    }
}

/// Why a saved entry or binding was not restored (one line each in the HA's log).
public enum RestoreProblem: Hashable, Sendable, CustomStringConvertible {
    case unsupportedVersion(Int)
    case unknownHomeAddress(String)
    case malformed(homeAddress: String, field: String)
    case prefixNotDelegated(homeAddress: String, prefix: String)
    case prefixTaken(homeAddress: String, prefix: String)
    case tooManyBindings(homeAddress: String, count: Int, maximum: Int)
    case expired(homeAddress: String, bid: UInt16)
    /// The IPv4 home address binding is dropped (the IPv6 binding is restored): the account no longer assigns it.
    case ipv4HomeAddressNotAssigned(homeAddress: String, address: String)

    public var description: String {
        switch self {
        case .unsupportedVersion(let v): return "saved binding cache has version \(v), this home agent reads \(BindingCacheSnapshot.currentVersion)"
        case .unknownHomeAddress(let h): return "\(h): no such mobile router in the configuration"
        case .malformed(let h, let f): return "\(h): \(f) is malformed"
        case .prefixNotDelegated(let h, let p): return "\(h): prefix \(p) is not delegated to it any more"
        case .prefixTaken(let h, let p): return "\(h): prefix \(p) is registered by another router"
        case .tooManyBindings(let h, let n, let m): return "\(h): \(n) bindings, more than the cap of \(m)"
        case .expired(let h, let bid): return "\(h) BID \(bid): lifetime ran out while the home agent was down"
        case .ipv4HomeAddressNotAssigned(let h, let a): return "\(h): IPv4 home address \(a) is not assigned to it any more (IPv6 binding kept)"
        }
    }
}

extension HomeAgent {
    /// Loads a saved cache at start: every entry is checked against the configuration (the
    /// account still exists, its prefixes are still delegated, the cap holds) and every binding
    /// against `now` (expired ones are dropped). Routes come out as `prefixRouted` events.
    public mutating func restore(_ snapshot: BindingCacheSnapshot, now: Instant) -> (output: HomeAgentOutput, problems: [RestoreProblem]) {
        var out = HomeAgentOutput()
        var problems: [RestoreProblem] = []
        guard snapshot.version == BindingCacheSnapshot.currentVersion else {
            return (out, [.unsupportedVersion(snapshot.version)])
        }
        for saved in snapshot.entries {
            guard let hoa = IPv6Address(saved.homeAddress) else {
                problems.append(.malformed(homeAddress: saved.homeAddress, field: "homeAddress"))
                continue
            }
            guard let account = configuration.accounts.first(where: { $0.homeAddress == hoa }) else {
                problems.append(.unknownHomeAddress(saved.homeAddress))
                continue
            }
            var prefixes: [IPv6Prefix] = []
            var usable = true
            for text in saved.prefixes {
                guard let p = IPv6Prefix(text) else {
                    problems.append(.malformed(homeAddress: saved.homeAddress, field: "prefix \(text)"))
                    usable = false
                    break
                }
                guard account.prefixes.contains(where: { $0.covers(p) }) else {
                    problems.append(.prefixNotDelegated(homeAddress: saved.homeAddress, prefix: text))
                    usable = false
                    break
                }
                if let owner = cache.entry(forDestination: p.address)?.homeAddress, owner != hoa {
                    problems.append(.prefixTaken(homeAddress: saved.homeAddress, prefix: text))
                    usable = false
                    break
                }
                prefixes.append(p)
            }
            guard usable else { continue }
            guard saved.bindings.count <= account.maximumBindings else {
                problems.append(.tooManyBindings(homeAddress: saved.homeAddress, count: saved.bindings.count, maximum: account.maximumBindings))
                continue
            }
            var bindings: [UInt16: Binding] = [:]
            for b in saved.bindings {
                guard let coa = IPAddress(b.careOf), let pathAddress = IPAddress(b.pathAddress) else {
                    problems.append(.malformed(homeAddress: saved.homeAddress, field: "binding \(b.bid) address"))
                    continue
                }
                let expires = Instant(nanoseconds: b.expires)
                // Never longer than the account grants now, whatever the file says.
                let longest = now + .seconds(max(4, min(account.maximumLifetime, 262_140)))
                guard expires > now else {
                    problems.append(.expired(homeAddress: saved.homeAddress, bid: b.bid))
                    continue
                }
                bindings[b.bid] = Binding(bid: b.bid, careOfAddress: coa, path: TransportAddress(address: pathAddress, port: b.pathPort),
                                          priority: b.priority, registeredAt: Instant(nanoseconds: min(b.registeredAt, now.nanoseconds)),
                                          expires: min(expires, longest))
            }
            guard !bindings.isEmpty else { continue }
            var flows: [FlowBinding] = []
            for hex in saved.flows {
                guard hex.utf8.count <= 4096, let octets = Hex.decode(hex) else {
                    problems.append(.malformed(homeAddress: saved.homeAddress, field: "flow"))
                    continue
                }
                var body = ByteBuffer(bytes: octets)
                guard let options = try? readMobilityOptions(&body, origin: 0), options.count == 1,
                      case .flowIdentification(let f) = options[0], let selector = f.trafficSelector, let bids = f.bindingReferences,
                      !bids.isEmpty, bids.allSatisfy({ bindings[$0] != nil })
                else {
                    problems.append(.malformed(homeAddress: saved.homeAddress, field: "flow"))
                    continue
                }
                flows.append(FlowBinding(fid: f.fid, priority: f.priority, selector: selector, bids: bids))
            }
            // Restored only while the account still assigns that address.
            let ipv4 = saved.ipv4HomeAddress.flatMap(IPv4Address.init).flatMap { $0 == account.ipv4HomeAddress ? $0 : nil }
            if let text = saved.ipv4HomeAddress, ipv4 == nil {
                problems.append(.ipv4HomeAddressNotAssigned(homeAddress: saved.homeAddress, address: text))
            }
            let entry = BindingCacheEntry(homeAddress: hoa, isMobileRouter: saved.isMobileRouter, lastSequence: saved.lastSequence,
                                          lastTimestamp: saved.lastTimestamp, prefixes: saved.isMobileRouter ? prefixes : [],
                                          bindings: bindings, flows: flows.sorted { ($0.priority, $0.fid) < ($1.priority, $1.fid) }, deletedAt: nil,
                                          ipv4HomeAddress: ipv4)
            commitRestored(entry, now: now, into: &out)
        }
        return (out, problems)
    }
}
