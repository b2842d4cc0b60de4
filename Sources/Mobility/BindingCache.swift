import Timekeeping

/// One care-of address registered for a home address (RFC 5648: keyed by HoA and BID).
public struct Binding: Hashable, Sendable {
    /// BID; 0 for a binding registered without a Binding Identifier option.
    public var bid: UInt16
    public var careOfAddress: IPAddress
    /// Outer source address and UDP port the registering BU came from (RFC 5555 §4.2).
    public var path: TransportAddress
    /// BID-PRI; lower is preferred, 0 (sender predates RFC 6089) sorts last.
    public var priority: UInt8
    public var registeredAt: Instant
    public var expires: Instant
    /// The home agent sent this registration a Binding Refresh Request (once per registration).
    public var refreshRequested = false

    var preference: Int { priority == 0 ? 128 : Int(priority) }

    /// When the home agent asks for a refresh that has not come (RFC 6275 §9.5.5): with an eighth of
    /// the lifetime left, after the router's own refresh (due at three quarters) should have come.
    public var refreshRequestAt: Instant { expires - (expires - registeredAt) / 8 }
}

/// A flow binding (RFC 6089 §4.3): packets matching the selector go to the listed BIDs.
public struct FlowBinding: Hashable, Sendable {
    public var fid: UInt16
    public var priority: UInt16
    public var selector: TrafficSelector
    public var bids: [UInt16]
}

/// Everything the home agent holds for one home address.
public struct BindingCacheEntry: Sendable {
    public var homeAddress: IPv6Address
    public var isMobileRouter: Bool
    public var lastSequence: UInt16
    /// Highest replay-protection timestamp accepted (RFC 4285 §6).
    public var lastTimestamp: UInt64?
    public var prefixes: [IPv6Prefix]
    public var bindings: [UInt16: Binding]
    /// Ordered by FID-PRI.
    public var flows: [FlowBinding]
    /// Set while a de-registered entry is kept to reject delayed BUs (MAX_DELETE_BCE_TIMEOUT).
    public var deletedAt: Instant?
    /// The IPv4 home address bound with the last accepted BU (RFC 5555 option 29 answered with
    /// status 0); nil when that BU asked for none or was refused one.
    public var ipv4HomeAddress: IPv4Address? = nil

    /// Bindings by preference: lowest BID-PRI first, then lowest BID.
    public var orderedBindings: [Binding] {
        bindings.values.sorted { ($0.preference, $0.bid) < ($1.preference, $1.bid) }
    }
}

/// The home agent's binding cache with the indexes the data path needs: destination → entry
/// (home address or any of its mobile network prefixes) and outer path → entry.
public struct BindingCache: Sendable {
    public private(set) var entries: [IPv6Address: BindingCacheEntry] = [:]
    private var prefixOwners: [IPv6Prefix: IPv6Address] = [:]
    private var prefixLengths: Set<UInt8> = []
    private var pathOwners: [TransportAddress: IPv6Address] = [:]
    private var ipv4Owners: [IPv4Address: IPv6Address] = [:]

    public init() {}

    public subscript(homeAddress: IPv6Address) -> BindingCacheEntry? {
        get { entries[homeAddress] }
    }

    /// Replaces (or removes, with nil) an entry and keeps the indexes true.
    public mutating func set(_ homeAddress: IPv6Address, _ entry: BindingCacheEntry?) {
        if let old = entries[homeAddress] {
            for p in old.prefixes where prefixOwners[p] == homeAddress { prefixOwners[p] = nil }
            for b in old.bindings.values where pathOwners[b.path] == homeAddress { pathOwners[b.path] = nil }
            if let a = old.ipv4HomeAddress, ipv4Owners[a] == homeAddress { ipv4Owners[a] = nil }
        }
        entries[homeAddress] = entry
        if let entry, entry.deletedAt == nil {
            for p in entry.prefixes {
                prefixOwners[p] = homeAddress
                prefixLengths.insert(p.length)
            }
            for b in entry.bindings.values { pathOwners[b.path] = homeAddress }
            if let a = entry.ipv4HomeAddress { ipv4Owners[a] = homeAddress }
        }
    }

    /// The live entry whose home address or mobile network prefix covers `destination`
    /// (longest prefix first).
    public func entry(forDestination destination: IPv6Address) -> BindingCacheEntry? {
        ownerAndEntry(forDestination: destination)?.1
    }

    /// `entry(forDestination:)` with the home address it is filed under.
    public func ownerAndEntry(forDestination destination: IPv6Address) -> (IPv6Address, BindingCacheEntry)? {
        if let e = entries[destination], e.deletedAt == nil, !e.bindings.isEmpty { return (destination, e) }
        for length in prefixLengths.sorted(by: >) {
            if let hoa = prefixOwners[IPv6Prefix(address: destination, length: length)], let e = entries[hoa], !e.bindings.isEmpty {
                return (hoa, e)
            }
        }
        return nil
    }

    /// The live entry whose bound IPv4 home address is `address`, with its (IPv6) home address.
    public func ownerAndEntry(forIPv4HomeAddress address: IPv4Address) -> (IPv6Address, BindingCacheEntry)? {
        guard let hoa = ipv4Owners[address], let e = entries[hoa], e.deletedAt == nil, !e.bindings.isEmpty else { return nil }
        return (hoa, e)
    }

    /// The home address registered over an outer path.
    public func owner(ofPath path: TransportAddress) -> IPv6Address? { pathOwners[path] }

    /// Number of live (HoA, BID) bindings.
    public var bindingCount: Int { entries.values.reduce(0) { $0 + ($1.deletedAt == nil ? $1.bindings.count : 0) } }
}
