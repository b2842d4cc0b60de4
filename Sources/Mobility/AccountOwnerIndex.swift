/// Which router a source address belongs to: its home address, or an address inside one of its
/// prefixes. Built when the accounts change; a lookup costs one hash per distinct prefix length
/// (usually one or two), so a home agent with 100,000 routers answers stray traffic as fast as
/// one with ten.
struct AccountOwnerIndex: Sendable {
    private var byHomeAddress: [IPv6Address: IPv6Address] = [:]
    /// Prefix length → masked prefix address → home address.
    private var byPrefix: [UInt8: [IPv6Address: IPv6Address]] = [:]
    /// The lengths in `byPrefix`, longest first (the most specific prefix wins).
    private var lengths: [UInt8] = []

    init(_ accounts: some Sequence<MobileRouterAccount>) {
        for a in accounts {
            byHomeAddress[a.homeAddress] = a.homeAddress
            for p in a.prefixes { byPrefix[p.length, default: [:]][p.address] = a.homeAddress }
        }
        lengths = byPrefix.keys.sorted(by: >)
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
