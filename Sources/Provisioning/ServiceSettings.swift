import Mobility

/// The operator's settings of the Home Agent service: where home addresses and mobile network
/// prefixes come from, how routers reach the home agent, and what a sign-up may ask for.
public struct ServiceSettings: Sendable, Hashable, Codable {
    /// Home addresses are taken from this prefix (the HA's home link), length 64 or shorter.
    public var homePrefix: IPv6Prefix
    /// The HA's address on the home link (inside `homePrefix`), for routers' `homeAgentAddress`.
    public var homeAgentAddress: IPv6Address
    /// The outer addresses routers send to (IPv6 or IPv4), 1 to 4.
    public var homeAgentEndpoints: [String]
    public var port: UInt16
    /// Mobile network prefixes (/64 each) are taken from this pool, length 16 to 64.
    public var prefixPool: IPv6Prefix
    /// The longest binding lifetime a router may ask for (4 to 262,140 s).
    public var defaultLifetime: Int
    public var maximumPrefixesPerRouter: Int
    /// Whether routers may register several care-of addresses at once (MCoA, RFC 5648).
    public var multipleCareOfAllowed: Bool
    /// Whether anyone may create a user account on the sign-up page.
    public var openSignUp: Bool
    /// How long a join token stays valid, in seconds.
    public var joinTokenLifetime: Int
    /// IPv4 home addresses for DSMIPv6 routers (RFC 5555), one per router; nil: none handed out.
    public var ipv4Pool: IPv4Pool?

    public init(homePrefix: IPv6Prefix, homeAgentAddress: IPv6Address, homeAgentEndpoints: [String], port: UInt16 = dsmipv6Port,
                prefixPool: IPv6Prefix, defaultLifetime: Int = 600, maximumPrefixesPerRouter: Int = 4,
                multipleCareOfAllowed: Bool = true, openSignUp: Bool = true, joinTokenLifetime: Int = 86_400,
                ipv4Pool: IPv4Pool? = nil) {
        self.homePrefix = homePrefix; self.homeAgentAddress = homeAgentAddress; self.homeAgentEndpoints = homeAgentEndpoints
        self.port = port; self.prefixPool = prefixPool; self.defaultLifetime = defaultLifetime
        self.maximumPrefixesPerRouter = maximumPrefixesPerRouter; self.multipleCareOfAllowed = multipleCareOfAllowed
        self.openSignUp = openSignUp; self.joinTokenLifetime = joinTokenLifetime
        self.ipv4Pool = ipv4Pool
    }

    /// Every value checked, the first problem named by its field.
    public func validate() throws(FieldError) {
        guard homePrefix.length >= 16, homePrefix.length <= 64 else {
            throw FieldError("homePrefix", "\(homePrefix) must be between /16 and /64 long (home addresses take the last 64 bits)")
        }
        guard homePrefix.contains(homeAgentAddress) else {
            throw FieldError("homeAgentAddress", "\(homeAgentAddress) is not inside the home prefix \(homePrefix)")
        }
        guard prefixPool.length >= 16, prefixPool.length <= 64 else {
            throw FieldError("prefixPool", "\(prefixPool) must be between /16 and /64 long (it is cut into /64s)")
        }
        guard !prefixPool.covers(homePrefix), !homePrefix.covers(prefixPool) else {
            throw FieldError("prefixPool", "\(prefixPool) overlaps the home prefix \(homePrefix); mobile network prefixes must be routed away from the home link")
        }
        guard (1...4).contains(homeAgentEndpoints.count) else {
            throw FieldError("homeAgentEndpoints", "give 1 to 4 outer addresses of the home agent")
        }
        for e in homeAgentEndpoints where IPv6Address(e) == nil && IPv4Address(e) == nil {
            throw FieldError("homeAgentEndpoints", "'\(e)' is not an IPv6 or IPv4 address")
        }
        guard port != 0 else { throw FieldError("port", "0 is not a port") }
        guard (4...262_140).contains(defaultLifetime) else {
            throw FieldError("defaultLifetime", "\(defaultLifetime) s is out of range (4 to 262140 s)")
        }
        guard (1...16).contains(maximumPrefixesPerRouter) else {
            throw FieldError("maximumPrefixesPerRouter", "\(maximumPrefixesPerRouter) is out of range (1 to 16)")
        }
        guard (60...30 * 86_400).contains(joinTokenLifetime) else {
            throw FieldError("joinTokenLifetime", "\(joinTokenLifetime) s is out of range (60 s to 30 days)")
        }
    }

    /// The home address numbered `n` (0, 1, …): interface identifier 0x1000 + n in the home
    /// prefix; nil past the prefix's end.
    public func homeAddress(number n: UInt64) -> IPv6Address? {
        let hostBits = 128 - Int(homePrefix.length)
        let (id, overflow) = n.addingReportingOverflow(0x1000)
        guard !overflow, hostBits >= 64 || id < (1 << UInt64(hostBits)) else { return nil }
        return IPv6Address(high: homePrefix.address.high, low: homePrefix.address.low | id)
    }

    /// The /64 numbered `n` in the pool; nil past the pool's end.
    public func mobileNetworkPrefix(number n: UInt64) -> IPv6Prefix? {
        let bits = 64 - Int(prefixPool.length)
        guard bits == 64 || n < (UInt64(1) << UInt64(bits)) else { return nil }
        return IPv6Prefix(address: IPv6Address(high: prefixPool.address.high | n, low: 0), length: 64)
    }
}
