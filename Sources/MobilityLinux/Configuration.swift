import FoundationEssentials
import SystemSupport
import Mobility
import Telemetry

/// A mobile router account in the HA's configuration file.
public struct MobileRouterAccountFile: Codable, Sendable {
    public var homeAddress: String
    public var nai: String?
    public var spi: UInt32
    /// 16-octet HMAC-SHA1 key as 32 hex digits.
    public var key: String
    public var prefixes: [IPv6Prefix]
    public var maximumLifetime: Int?
    public var mobileRouterAllowed: Bool?
    public var requireReplayProtection: Bool?
    /// Send downlink traffic no flow binding claims over every registered binding (make-before-break).
    public var duplicateDownlink: Bool?
    /// Most bindings (BIDs) this router may hold at once; beyond it a BU gets status 130 (default 8).
    public var maximumBindings: Int?
    /// The IPv4 home address given to this router when its BU asks for one (RFC 5555); a unicast
    /// address no other account has. Absent: the router gets none (status 132).
    public var ipv4HomeAddress: String?

    public init(homeAddress: String, nai: String? = nil, spi: UInt32, key: String, prefixes: [IPv6Prefix],
                maximumLifetime: Int? = nil, mobileRouterAllowed: Bool? = nil, requireReplayProtection: Bool? = nil,
                duplicateDownlink: Bool? = nil, maximumBindings: Int? = nil, ipv4HomeAddress: String? = nil) {
        self.ipv4HomeAddress = ipv4HomeAddress
        self.homeAddress = homeAddress; self.nai = nai; self.spi = spi; self.key = key; self.prefixes = prefixes
        self.maximumLifetime = maximumLifetime; self.mobileRouterAllowed = mobileRouterAllowed
        self.requireReplayProtection = requireReplayProtection; self.duplicateDownlink = duplicateDownlink
        self.maximumBindings = maximumBindings
    }
}

/// `nemo ha` configuration file (JSON).
public struct HomeAgentFile: Codable, Sendable {
    /// Outer addresses to listen on, one socket each so replies leave from the address the
    /// mobile router sent to; default ["::"] (any, IPv6 and IPv4).
    public var listen: [String]?
    public var port: UInt16?
    /// The HA's home-link address (inner).
    public var homeAgentAddress: String
    public var homePrefix: IPv6Prefix?
    public var tunnel: String?
    public var mtu: UInt32?
    public var allowMultipleCareOf: Bool?
    public var replayTolerance: Int?
    public var natRefreshTime: UInt32?
    public var mobileRouters: [MobileRouterAccountFile]
    /// A second file of accounts (`{"mobileRouters": [...]}`), written by the Home Agent service
    /// (`nemo-service`); read at start and at each reload, after `mobileRouters`. A missing file
    /// holds no accounts yet.
    public var accountsFile: String?
    public var control: String?
    public var metricsPort: UInt16?
    /// Where the binding cache is saved (bindings.json, 0600) so it survives a restart;
    /// default /var/lib/nemo.
    public var stateDirectory: String?
}

/// An uplink in the MR's configuration file.
public struct UplinkFile: Codable, Sendable {
    public var name: String
    public var bid: UInt16
    public var priority: UInt8
    /// "ipv6", "ipv4" or "any" (default: IPv6 if the uplink has a global one, else IPv4).
    public var family: String?
    /// The access router; when set, the MR installs "from CoA lookup table 200+BID" with a default
    /// route via it each time the uplink comes up, so outer packets always leave by this uplink.
    public var gateway: String?
    /// The access technology, for SONAR records and the map: wlan, cellular, ethernet, satellite or other.
    public var technology: String?

    public init(name: String, bid: UInt16, priority: UInt8, family: String? = nil, gateway: String? = nil, technology: String? = nil) {
        self.name = name; self.bid = bid; self.priority = priority; self.family = family; self.gateway = gateway
        self.technology = technology
    }
}

/// The MR's mobile network (ingress) link.
public struct IngressFile: Codable, Sendable {
    public var interface: String
    /// The MR's address on it, inside a mobile network prefix, e.g. "2001:db8:aaaa:1::1/64".
    public var address: String?
    /// Send router advertisements of the prefix on the ingress link.
    public var routerAdvertisements: Bool?

    public init(interface: String, address: String? = nil, routerAdvertisements: Bool? = nil) {
        self.interface = interface; self.address = address; self.routerAdvertisements = routerAdvertisements
    }
}

/// `nemo mr` configuration file (JSON).
public struct MobileRouterFile: Codable, Sendable {
    public var homeAddress: String
    public var homeAgentAddress: String
    public var homeAgentEndpoints: [String]
    public var port: UInt16?
    public var prefixes: [IPv6Prefix]
    public var explicitPrefixes: Bool?
    public var spi: UInt32
    public var key: String
    public var nai: String?
    public var lifetime: Int?
    public var multipleCareOf: Bool?
    public var uplinks: [UplinkFile]
    public var ingress: IngressFile?
    public var tunnel: String?
    public var mtu: UInt32?
    public var table: UInt32?
    public var flowPolicies: [FlowPolicy]?
    /// The home agent duplicates downlink over every binding: drop the second copy of a packet.
    public var discardDuplicates: Bool?
    public var control: String?
    public var metricsPort: UInt16?
    /// Set by `nemo mr --join`: where this file came from, so the same command run again starts
    /// from the file instead of spending a used token.
    public var joined: JoinedFrom?
    /// The IPv4 home address to ask the home agent for (RFC 5555): "0.0.0.0" asks it to assign
    /// one, another address asks for that one; absent: no IPv4 home address.
    public var ipv4HomeAddress: String?
    /// Seconds before a refused uplink tries again (doubling per refusal, at most 600);
    /// default 30.
    public var refusalRetry: Int?

    public init(homeAddress: String, homeAgentAddress: String, homeAgentEndpoints: [String], port: UInt16? = nil,
                prefixes: [IPv6Prefix], spi: UInt32, key: String, nai: String? = nil, lifetime: Int? = nil,
                multipleCareOf: Bool? = nil, uplinks: [UplinkFile], ingress: IngressFile? = nil) {
        self.homeAddress = homeAddress; self.homeAgentAddress = homeAgentAddress; self.homeAgentEndpoints = homeAgentEndpoints
        self.port = port; self.prefixes = prefixes; self.spi = spi; self.key = key; self.nai = nai; self.lifetime = lifetime
        self.multipleCareOf = multipleCareOf; self.uplinks = uplinks; self.ingress = ingress
    }
}

/// The Home Agent service and join token a mobile router's file was fetched with.
public struct JoinedFrom: Codable, Sendable, Hashable {
    public var service: String
    public var tokenID: String
    public init(service: String, tokenID: String) { self.service = service; self.tokenID = tokenID }
}

/// A configuration problem, naming the key and what is wrong.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

func parseKey(_ hex: String, field: String) throws -> [UInt8] {
    let clean = hex.filter { !$0.isWhitespace && $0 != ":" }
    let wanted = MobilityAuthenticationKey.keyLength
    guard let octets = Hex.decode(clean), octets.count == wanted else {
        throw ConfigurationError("\(field): the MN-HA key must be exactly \(wanted * 2) hex digits (\(wanted) octets, HMAC-SHA1, RFC 4285); got \(clean.count) characters")
    }
    return octets
}

func checkSPI(_ spi: UInt32, field: String) throws {
    guard spi >= MobilityAuthenticationKey.firstUsableSPI else {
        throw ConfigurationError("\(field): SPI \(spi) is reserved (0-255, RFC 4285 §5); use 256 or more")
    }
}

/// Lifetimes travel in units of 4 s in a 16-bit field: 4 s to 262,140 s.
let lifetimeRange = 4...262_140

func checkRange<T: Comparable & CustomStringConvertible>(_ value: T, _ range: ClosedRange<T>, field: String, unit: String = "") throws {
    guard range.contains(value) else {
        throw ConfigurationError("\(field): \(value)\(unit) is out of range (\(range.lowerBound)...\(range.upperBound)\(unit))")
    }
}

func parseIPv6(_ s: String, field: String) throws -> IPv6Address {
    guard let a = IPv6Address(s) else { throw ConfigurationError("\(field): '\(s)' is not an IPv6 address") }
    return a
}

/// Reads a JSON configuration file into `T`, with the file name in errors.
public func loadConfiguration<T: Decodable>(_ type: T.Type, path: String) throws -> T {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw ConfigurationError("cannot read \(path): \(fileErrorReason(error))")
    }
    do { return try JSONDecoder().decode(T.self, from: data) } catch let DecodingError.keyNotFound(key, ctx) {
        throw ConfigurationError("\(path): missing key '\((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))'")
    } catch let DecodingError.dataCorrupted(ctx) {
        throw ConfigurationError("\(path): \(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)")
    } catch {
        throw ConfigurationError("\(path): \(error)")
    }
}

/// The accounts file the Home Agent service writes for `nemo ha` (`HomeAgentFile.accountsFile`).
public struct AccountsFile: Codable, Sendable {
    public var mobileRouters: [MobileRouterAccountFile]
    public init(mobileRouters: [MobileRouterAccountFile]) { self.mobileRouters = mobileRouters }
}

extension HomeAgentFile {
    /// This file with the accounts of its `accountsFile` appended to `mobileRouters`.
    public func includingAccountsFile() throws -> HomeAgentFile {
        guard let path = accountsFile else { return self }
        guard FileManager.default.fileExists(atPath: path) else { return self }
        var out = self
        out.mobileRouters += try loadConfiguration(AccountsFile.self, path: path).mobileRouters
        return out
    }

    /// The sans-I/O configuration this file describes, after checking every value: key lengths,
    /// SPIs, lifetimes and caps in range, no home address twice, no prefix in two accounts.
    public func homeAgentConfiguration() throws -> HomeAgentConfiguration {
        let accounts = try mobileRouters.enumerated().map { i, r -> MobileRouterAccount in
            let field = "mobileRouters[\(i)]"
            try checkSPI(r.spi, field: "\(field).spi")
            let maximumLifetime = r.maximumLifetime ?? 600
            try checkRange(maximumLifetime, lifetimeRange, field: "\(field).maximumLifetime", unit: " s")
            let maximumBindings = r.maximumBindings ?? MobileRouterAccount.defaultMaximumBindings
            try checkRange(maximumBindings, 1...255, field: "\(field).maximumBindings")
            for (j, p) in r.prefixes.enumerated() where p.length == 0 {
                throw ConfigurationError("\(field).prefixes[\(j)]: \(p) would delegate the whole address space")
            }
            let ipv4 = try r.ipv4HomeAddress.map { text -> IPv4Address in
                guard let a = IPv4Address(text), a.isUnicast else {
                    throw ConfigurationError("\(field).ipv4HomeAddress: '\(text)' is not a unicast IPv4 address")
                }
                return a
            }
            return MobileRouterAccount(homeAddress: try parseIPv6(r.homeAddress, field: "\(field).homeAddress"), identifier: r.nai,
                                       key: MobilityAuthenticationKey(spi: r.spi, key: try parseKey(r.key, field: "\(field).key")),
                                       prefixes: r.prefixes, maximumLifetime: maximumLifetime,
                                       mobileRouterAllowed: r.mobileRouterAllowed ?? true, requireReplayProtection: r.requireReplayProtection ?? true,
                                       duplicateDownlink: r.duplicateDownlink ?? false, maximumBindings: maximumBindings,
                                       ipv4HomeAddress: ipv4)
        }
        try HomeAgentFile.checkDistinct(accounts)
        let replayTolerance = replayTolerance ?? 7
        try checkRange(replayTolerance, 1...3600, field: "replayTolerance", unit: " s")
        if let mtu { try checkRange(mtu, 1280...65535, field: "mtu") }
        if let port, port == 0 { throw ConfigurationError("port: 0 is not a port to listen on") }
        return HomeAgentConfiguration(address: try parseIPv6(homeAgentAddress, field: "homeAgentAddress"), homePrefix: homePrefix,
                                      accounts: accounts, allowMultipleCareOf: allowMultipleCareOf ?? true,
                                      replayTolerance: replayTolerance, natRefreshTime: natRefreshTime ?? MobilityTimers.natKeepaliveTimeout)
    }

    /// Two accounts with one home address, or with overlapping prefixes, would make the HA
    /// route one router's traffic to another: refused, naming both entries. O(n log n), so a
    /// home agent with 10,000 routers starts at once.
    static func checkDistinct(_ accounts: [MobileRouterAccount]) throws {
        var homeAddresses: [IPv6Address: Int] = [:]
        for (j, a) in accounts.enumerated() {
            if let i = homeAddresses[a.homeAddress] {
                throw ConfigurationError("mobileRouters[\(j)].homeAddress \(a.homeAddress) is also mobileRouters[\(i)].homeAddress: each mobile router needs its own home address")
            }
            homeAddresses[a.homeAddress] = j
        }
        var ipv4HomeAddresses: [IPv4Address: Int] = [:]
        for (j, a) in accounts.enumerated() {
            guard let v4 = a.ipv4HomeAddress else { continue }
            if let i = ipv4HomeAddresses[v4] {
                throw ConfigurationError("mobileRouters[\(j)].ipv4HomeAddress \(v4) is also mobileRouters[\(i)].ipv4HomeAddress: each mobile router needs its own")
            }
            ipv4HomeAddresses[v4] = j
        }
        // Sorted by address then length, a prefix that covers others comes right before them.
        let all = accounts.enumerated().flatMap { i, a in a.prefixes.enumerated().map { (account: i, index: $0.offset, prefix: $0.element) } }
            .sorted { ($0.prefix.address, $0.prefix.length) < ($1.prefix.address, $1.prefix.length) }
        var open: [(account: Int, index: Int, prefix: IPv6Prefix)] = []
        for item in all {
            while let top = open.last, !top.prefix.covers(item.prefix) { open.removeLast() }
            if let outer = open.last(where: { $0.account != item.account }) {
                throw ConfigurationError("mobileRouters[\(item.account)].prefixes[\(item.index)] \(item.prefix) overlaps mobileRouters[\(outer.account)].prefixes[\(outer.index)] \(outer.prefix): a prefix may be delegated to one mobile router only")
            }
            open.append(item)
        }
        // A home address inside another router's prefix would be routed to that router.
        var byPrefix: [IPv6Prefix: (account: Int, index: Int)] = [:]
        for item in all { byPrefix[item.prefix] = (item.account, item.index) }
        let lengths = Set(all.map(\.prefix.length))
        for (j, a) in accounts.enumerated() {
            for l in lengths {
                let p = IPv6Prefix(address: a.homeAddress, length: l)
                if let owner = byPrefix[p], owner.account != j {
                    throw ConfigurationError("mobileRouters[\(j)].homeAddress \(a.homeAddress) lies inside mobileRouters[\(owner.account)].prefixes[\(owner.index)] \(p)")
                }
            }
        }
    }
}

extension MobileRouterFile {
    /// The sans-I/O configuration this file describes, after checking every value.
    public func mobileRouterConfiguration() throws -> MobileRouterConfiguration {
        let endpoints = try homeAgentEndpoints.map { s -> IPAddress in
            guard let a = IPAddress(s) else { throw ConfigurationError("homeAgentEndpoints: '\(s)' is not an address") }
            return a
        }
        try checkSPI(spi, field: "spi")
        let lifetime = lifetime ?? 600
        try checkRange(lifetime, lifetimeRange, field: "lifetime", unit: " s")
        if let mtu { try checkRange(mtu, 1280...65535, field: "mtu") }
        if let refusalRetry { try checkRange(refusalRetry, 1...600, field: "refusalRetry", unit: " s") }
        if let port, port == 0 { throw ConfigurationError("port: 0 is not the home agent's port") }
        guard !uplinks.isEmpty else { throw ConfigurationError("uplinks: at least one uplink is needed") }
        if prefixes.isEmpty, let ingress {
            throw ConfigurationError("ingress: '\(ingress.interface)' needs a mobile network prefix to serve; with no prefixes this is a mobile host (only its home address moves), which has no ingress")
        }
        for (j, u) in uplinks.enumerated() {
            if u.bid == 0 { throw ConfigurationError("uplinks[\(j)].bid: 0 is reserved (BIDs are 1-65535, RFC 5648)") }
            try checkRange(u.priority, 1...127, field: "uplinks[\(j)].priority")
            if let t = u.technology, AccessTechnology(rawValue: t) == nil {
                throw ConfigurationError("uplinks[\(j)].technology '\(t)' is not one of \(AccessTechnology.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard Handover.isValidUplinkName(u.name) else {
                throw ConfigurationError("uplinks[\(j)].name '\(u.name)' is not an interface name (1-32 characters of A-Z a-z 0-9 . _ -)")
            }
            for (i, v) in uplinks.enumerated() where i < j {
                if v.name == u.name { throw ConfigurationError("uplinks[\(j)].name '\(u.name)' is also uplinks[\(i)].name") }
                if v.bid == u.bid { throw ConfigurationError("uplinks[\(j)].bid \(u.bid) is also uplinks[\(i)].bid: BIDs must be unique") }
            }
        }
        for (k, p) in (flowPolicies ?? []).enumerated() {
            if let d = p.match.dscp { try checkRange(d, 0...63, field: "flowPolicies[\(k)].match.dscp") }
        }
        let ipv4 = try ipv4HomeAddress.map { text -> IPv4Address in
            guard let a = IPv4Address(text), a == .unspecified || a.isUnicast else {
                throw ConfigurationError("ipv4HomeAddress: '\(text)' is neither 0.0.0.0 (assign one) nor a unicast IPv4 address")
            }
            return a
        }
        return MobileRouterConfiguration(
            homeAddress: try parseIPv6(homeAddress, field: "homeAddress"), homeAgentAddress: try parseIPv6(homeAgentAddress, field: "homeAgentAddress"),
            homeAgentEndpoints: endpoints, homeAgentPort: port ?? dsmipv6Port, prefixes: prefixes, explicitPrefixes: explicitPrefixes ?? true,
            key: MobilityAuthenticationKey(spi: spi, key: try parseKey(key, field: "key")), identifier: nai, lifetime: lifetime,
            multipleCareOf: multipleCareOf ?? true, uplinks: uplinks.map { UplinkConfiguration(name: $0.name, bid: $0.bid, priority: $0.priority) },
            flowPolicies: flowPolicies ?? [], ipv4HomeAddress: ipv4,
            refusalRetry: refusalRetry.map { .seconds($0) } ?? MobilityTimers.initialRefusalRetry)
    }
}
