#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 128-bit IPv6 address held as two big-endian halves.
public struct IPv6Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The high 64 bits (octets 0–7), most significant first.
    public var high: UInt64
    /// The low 64 bits (octets 8–15).
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Builds an address from exactly 16 octets.
    public init?<C: Collection>(octets: C) where C.Element == UInt8 {
        guard octets.count == 16 else { return nil }
        var h: UInt64 = 0
        var l: UInt64 = 0
        for (i, b) in octets.enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        self.init(high: h, low: l)
    }

    /// Parses the textual form (`2001:db8::1`).
    public init?(_ text: String) {
        var storage = in6_addr()
        guard inet_pton(AF_INET6, text, &storage) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &storage) { Array($0) }
        self.init(octets: bytes)
    }

    /// The unspecified address `::`.
    public static let unspecified = IPv6Address(high: 0, low: 0)

    /// The 16 octets in network order.
    public var octets: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        return out
    }

    /// `::ffff:a.b.c.d`, the form used where an IPv4 address must fill an IPv6 field.
    public init(mapping v4: IPv4Address) {
        self.init(high: 0, low: 0x0000_FFFF_0000_0000 | UInt64(v4.value))
    }

    /// The embedded IPv4 address if this is `::ffff:a.b.c.d`.
    public var mappedIPv4: IPv4Address? {
        guard high == 0, low >> 32 == 0xFFFF else { return nil }
        return IPv4Address(value: UInt32(truncatingIfNeeded: low))
    }

    /// Whether a unicast address a binding could point at (not ::, not multicast, not loopback).
    public var isRoutableUnicast: Bool {
        if self == .unspecified || self == IPv6Address(high: 0, low: 1) { return false }
        if high >> 56 == 0xFF { return false }
        return true
    }

    public var description: String {
        var storage = in6_addr()
        withUnsafeMutableBytes(of: &storage) { raw in
            for (i, b) in octets.enumerated() { raw[i] = b }
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = inet_ntop(AF_INET6, &storage, &text, socklen_t(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }
}

/// A 32-bit IPv4 address.
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address as a host-order integer (`192.0.2.1` is `0xC0000201`).
    public var value: UInt32

    public init(value: UInt32) { self.value = value }

    public init?<C: Collection>(octets: C) where C.Element == UInt8 {
        guard octets.count == 4 else { return nil }
        value = octets.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Parses the dotted-quad form.
    public init?(_ text: String) {
        var storage = in_addr()
        guard inet_pton(AF_INET, text, &storage) == 1 else { return nil }
        value = UInt32(bigEndian: storage.s_addr)
    }

    public var octets: [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    public var description: String { octets.map(String.init).joined(separator: ".") }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// Either family; a care-of address or an outer tunnel end point.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v6(IPv6Address)
    case v4(IPv4Address)

    /// Parses either textual form.
    public init?(_ text: String) {
        if let a = IPv6Address(text) { self = .v6(a) } else if let a = IPv4Address(text) { self = .v4(a) } else { return nil }
    }

    /// The IPv6 form: itself, or the IPv4-mapped address.
    public var asIPv6: IPv6Address {
        switch self {
        case .v6(let a): return a
        case .v4(let a): return IPv6Address(mapping: a)
        }
    }

    /// Folds `::ffff:a.b.c.d` back to IPv4.
    public var unmapped: IPAddress {
        if case .v6(let a) = self, let v4 = a.mappedIPv4 { return .v4(v4) }
        return self
    }

    public var description: String {
        switch self {
        case .v6(let a): return a.description
        case .v4(let a): return a.description
        }
    }
}

/// An IPv6 prefix such as `2001:db8:aaaa:1::/64`; host bits are cleared.
public struct IPv6Prefix: Hashable, Sendable, CustomStringConvertible {
    public private(set) var address: IPv6Address
    public let length: UInt8

    public init(address: IPv6Address, length: UInt8) {
        self.length = min(length, 128)
        self.address = IPv6Prefix.mask(address, self.length)
    }

    /// Parses `address/length`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let a = IPv6Address(String(parts[0])), let l = UInt8(parts[1]), l <= 128 else { return nil }
        self.init(address: a, length: l)
    }

    static func mask(_ a: IPv6Address, _ length: UInt8) -> IPv6Address {
        let l = Int(length)
        let hm: UInt64 = l >= 64 ? ~0 : (l == 0 ? 0 : ~0 << (64 - l))
        let lm: UInt64 = l <= 64 ? 0 : (l >= 128 ? ~0 : ~0 << (128 - l))
        return IPv6Address(high: a.high & hm, low: a.low & lm)
    }

    /// Whether `a` lies inside this prefix.
    public func contains(_ a: IPv6Address) -> Bool { IPv6Prefix.mask(a, length) == address }

    /// Whether `other` lies wholly inside this prefix.
    public func covers(_ other: IPv6Prefix) -> Bool { other.length >= length && contains(other.address) }

    public var description: String { "\(address)/\(length)" }
}

/// An outer tunnel end point: address and UDP port.
public struct TransportAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address.unmapped
        self.port = port
    }

    public var description: String {
        if case .v6 = address { return "[\(address)]:\(port)" }
        return "\(address):\(port)"
    }
}

/// The DSMIPv6 UDP port at the home agent (RFC 5555 §8).
public let dsmipv6Port: UInt16 = 4191
