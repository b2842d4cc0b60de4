#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 128-bit IPv6 address held as two big-endian halves (no allocation to compare or hash).
public struct IPv6Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
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

    /// Parses the textual form (`2001:db8::1`); brackets are accepted.
    public init?(_ text: String) {
        var t = Substring(text)
        if t.hasPrefix("["), t.hasSuffix("]") { t = t.dropFirst().dropLast() }
        var storage = in6_addr()
        guard inet_pton(AF_INET6, String(t), &storage) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &storage) { Array($0) }
        self.init(octets: bytes)
    }

    public static let unspecified = IPv6Address(high: 0, low: 0)
    public static let loopback = IPv6Address(high: 0, low: 1)

    public var octets: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        return out
    }

    /// What kind of address this is, for the destination checks of the branching rules.
    public var kind: AddressKind {
        if self == .unspecified { return .unspecified }
        if self == .loopback { return .loopback }
        if high >> 56 == 0xFF { return .multicast }
        if high >> 54 == 0x3FA { return .linkLocal }   // fe80::/10
        return .unicast
    }

    /// Whether the first `length` bits equal those of `prefix`.
    public func matches(prefix: IPv6Address, length: Int) -> Bool {
        if length <= 0 { return true }
        if length >= 128 { return self == prefix }
        if length <= 64 {
            let mask: UInt64 = length == 64 ? .max : ~(UInt64.max >> UInt64(length))
            return high & mask == prefix.high & mask
        }
        let mask: UInt64 = ~(UInt64.max >> UInt64(length - 64))
        return high == prefix.high && low & mask == prefix.low & mask
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

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

/// The address classes the branching rules care about.
public enum AddressKind: String, Hashable, Sendable {
    case unicast, unspecified, loopback, multicast, linkLocal = "link_local"
}

/// An address and a UDP port: one Xcast destination, a relay, a receiver.
public struct Endpoint: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var address: IPv6Address
    public var port: UInt16

    public init(address: IPv6Address, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses `[2001:db8::1]:5004`; refuses a missing or zero port.
    public init?(_ text: String) {
        guard text.hasPrefix("["), let close = text.lastIndex(of: "]") else { return nil }
        let host = String(text[text.index(after: text.startIndex)..<close])
        let rest = text[text.index(after: close)...]
        guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()), port != 0, let a = IPv6Address(host) else { return nil }
        self.init(address: a, port: port)
    }

    public var description: String { "[\(address)]:\(port)" }

    public static func < (a: Endpoint, b: Endpoint) -> Bool { (a.address, a.port) < (b.address, b.port) }
}
