import Foundation
import Mobility

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
    public var control: String?
    public var metricsPort: UInt16?
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
}

/// The MR's mobile network (ingress) link.
public struct IngressFile: Codable, Sendable {
    public var interface: String
    /// The MR's address on it, inside a mobile network prefix, e.g. "2001:db8:aaaa:1::1/64".
    public var address: String?
    /// Send router advertisements of the prefix on the ingress link.
    public var routerAdvertisements: Bool?
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
}

/// A configuration problem, naming the key and what is wrong.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

func parseKey(_ hex: String, field: String) throws -> [UInt8] {
    let clean = hex.filter { !$0.isWhitespace && $0 != ":" }
    guard clean.count % 2 == 0, !clean.isEmpty else { throw ConfigurationError("\(field): key must be hex digits (32 for 16 octets)") }
    var out: [UInt8] = []
    var i = clean.startIndex
    while i < clean.endIndex {
        let j = clean.index(i, offsetBy: 2)
        guard let b = UInt8(clean[i..<j], radix: 16) else { throw ConfigurationError("\(field): '\(clean[i..<j])' is not hex") }
        out.append(b)
        i = j
    }
    return out
}

func parseIPv6(_ s: String, field: String) throws -> IPv6Address {
    guard let a = IPv6Address(s) else { throw ConfigurationError("\(field): '\(s)' is not an IPv6 address") }
    return a
}

/// Reads a JSON configuration file into `T`, with the file name in errors.
public func loadConfiguration<T: Decodable>(_ type: T.Type, path: String) throws -> T {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw ConfigurationError("cannot read \(path): \(error.localizedDescription)")
    }
    do { return try JSONDecoder().decode(T.self, from: data) } catch let DecodingError.keyNotFound(key, ctx) {
        throw ConfigurationError("\(path): missing key '\((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))'")
    } catch let DecodingError.dataCorrupted(ctx) {
        throw ConfigurationError("\(path): \(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)")
    } catch {
        throw ConfigurationError("\(path): \(error)")
    }
}

extension HomeAgentFile {
    /// The sans-I/O configuration this file describes.
    public func homeAgentConfiguration() throws -> HomeAgentConfiguration {
        let accounts = try mobileRouters.enumerated().map { i, r in
            MobileRouterAccount(homeAddress: try parseIPv6(r.homeAddress, field: "mobileRouters[\(i)].homeAddress"), identifier: r.nai,
                                key: MobilityAuthenticationKey(spi: r.spi, key: try parseKey(r.key, field: "mobileRouters[\(i)].key")),
                                prefixes: r.prefixes, maximumLifetime: r.maximumLifetime ?? 600,
                                mobileRouterAllowed: r.mobileRouterAllowed ?? true, requireReplayProtection: r.requireReplayProtection ?? true,
                                duplicateDownlink: r.duplicateDownlink ?? false)
        }
        return HomeAgentConfiguration(address: try parseIPv6(homeAgentAddress, field: "homeAgentAddress"), homePrefix: homePrefix,
                                      accounts: accounts, allowMultipleCareOf: allowMultipleCareOf ?? true,
                                      replayTolerance: replayTolerance ?? 7, natRefreshTime: natRefreshTime ?? MobilityTimers.natKeepaliveTimeout)
    }
}

extension MobileRouterFile {
    /// The sans-I/O configuration this file describes.
    public func mobileRouterConfiguration() throws -> MobileRouterConfiguration {
        let endpoints = try homeAgentEndpoints.map { s -> IPAddress in
            guard let a = IPAddress(s) else { throw ConfigurationError("homeAgentEndpoints: '\(s)' is not an address") }
            return a
        }
        return MobileRouterConfiguration(
            homeAddress: try parseIPv6(homeAddress, field: "homeAddress"), homeAgentAddress: try parseIPv6(homeAgentAddress, field: "homeAgentAddress"),
            homeAgentEndpoints: endpoints, homeAgentPort: port ?? dsmipv6Port, prefixes: prefixes, explicitPrefixes: explicitPrefixes ?? true,
            key: MobilityAuthenticationKey(spi: spi, key: try parseKey(key, field: "key")), identifier: nai, lifetime: lifetime ?? 600,
            multipleCareOf: multipleCareOf ?? true, uplinks: uplinks.map { UplinkConfiguration(name: $0.name, bid: $0.bid, priority: $0.priority) },
            flowPolicies: flowPolicies ?? [])
    }
}
