/// A session's name, carried as the Xcast CHANNEL IDENTIFIER: 1–16 octets of [A-Za-z0-9._-],
/// zero-padded to 16 octets (docs/xcast.md §3). The all-zero channel is "no session".
public struct ChannelID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static let none = ChannelID(high: 0, low: 0)

    /// The channel of session `name`; nil when the name is not a valid session name.
    public init?(name: String) {
        let bytes = Array(name.utf8)
        guard Self.isValidName(bytes) else { return nil }
        var h: UInt64 = 0
        var l: UInt64 = 0
        for i in 0..<16 {
            let b = i < bytes.count ? UInt64(bytes[i]) : 0
            if i < 8 { h = h << 8 | b } else { l = l << 8 | b }
        }
        self.init(high: h, low: l)
    }

    static func isValidName(_ bytes: [UInt8]) -> Bool {
        guard (1...16).contains(bytes.count) else { return false }
        return bytes.allSatisfy { b in
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x2E || b == 0x5F || b == 0x2D
        }
    }

    public var octets: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> (56 - 8 * UInt64(i % 8))) }
    }

    /// The session name (octets up to the first zero); hex when the channel is not a name.
    public var name: String {
        let o = octets
        let name = Array(o.prefix { $0 != 0 })
        if Self.isValidName(name), o.dropFirst(name.count).allSatisfy({ $0 == 0 }) { return String(decoding: name, as: UTF8.self) }
        return o.map { b in let s = String(b, radix: 16); return b < 16 ? "0" + s : s }.joined()
    }

    public var description: String { name }

    public static func < (a: ChannelID, b: ChannelID) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

/// A session's secret: 1–64 printable ASCII octets. Compared in constant time.
public struct SessionToken: Hashable, Sendable {
    public let bytes: [UInt8]

    public init?(_ text: String) {
        let b = Array(text.utf8)
        guard Self.isValid(b) else { return nil }
        bytes = b
    }

    init?(bytes: [UInt8]) {
        guard Self.isValid(bytes) else { return nil }
        self.bytes = bytes
    }

    static func isValid(_ b: [UInt8]) -> Bool { (1...64).contains(b.count) && b.allSatisfy { (0x21...0x7E).contains($0) } }

    /// True when both tokens are equal, without an early exit that would leak the matching prefix.
    public func matches(_ other: SessionToken) -> Bool {
        var diff = UInt8(truncatingIfNeeded: bytes.count ^ other.bytes.count)
        for i in 0..<Swift.max(bytes.count, other.bytes.count) {
            let a = i < bytes.count ? bytes[i] : 0
            let b = i < other.bytes.count ? other.bytes[i] : 0
            diff |= a ^ b
        }
        return diff == 0
    }
}
