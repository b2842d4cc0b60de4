/// Which router a source address belongs to: its home address, an address inside one of its
/// prefixes, or its IPv4 home address (RFC 5555). Built when the accounts change; a lookup costs one hash per distinct prefix length
/// (usually one or two), so a home agent with 100,000 routers answers stray traffic as fast as
/// one with ten.
struct AccountOwnerIndex: Sendable {
    private var byHomeAddress: [IPv6Address: IPv6Address] = [:]
    private var byIPv4HomeAddress: [IPv4Address: IPv6Address] = [:]
    /// Prefix length → masked prefix address → home address.
    private var byPrefix: [UInt8: [IPv6Address: IPv6Address]] = [:]
    /// The lengths in `byPrefix`, longest first (the most specific prefix wins).
    private var lengths: [UInt8] = []

    init(_ accounts: some Sequence<MobileRouterAccount>) {
        for a in accounts {
            byHomeAddress[a.homeAddress] = a.homeAddress
            if let v4 = a.ipv4HomeAddress { byIPv4HomeAddress[v4] = a.homeAddress }
            for p in a.prefixes { byPrefix[p.length, default: [:]][p.address] = a.homeAddress }
        }
        lengths = byPrefix.keys.sorted(by: >)
    }

    /// The home address of the router that owns `address` (IPv6, or its IPv4 home address), or nil.
    func owner(of address: IPAddress) -> IPv6Address? {
        switch address {
        case .v4(let a): return byIPv4HomeAddress[a]
        case .v6(let a): return owner(of: a)
        }
    }

    /// The home address of the router that owns `address`, or nil.
    func owner(of address: IPv6Address) -> IPv6Address? {
        if let h = byHomeAddress[address] { return h }
        for length in lengths {
            if let h = byPrefix[length]?[IPv6Prefix.mask(address, length)] { return h }
        }
        return nil
    }
}
