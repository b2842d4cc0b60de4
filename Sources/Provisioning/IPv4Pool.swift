import Mobility

/// The operator's pool of IPv4 home addresses (RFC 5555), as `ADDRESS/LENGTH`: /16 to /30, host
/// bits clear. Address n (0, 1, …) is the network address + 1 + n; the network and broadcast
/// addresses are never handed out.
public struct IPv4Pool: Sendable, Hashable, Codable, CustomStringConvertible {
    public let network: IPv4Address
    public let length: UInt8

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])), parts[1].count <= 2,
              let length = UInt8(parts[1]), (16...30).contains(length) else { return nil }
        let hostMask = UInt32.max >> UInt32(length)
        guard address.value & hostMask == 0, address.isUnicast else { return nil }
        network = address
        self.length = length
    }

    /// How many addresses the pool hands out.
    public var capacity: UInt64 { (UInt64(1) << UInt64(32 - length)) - 2 }

    /// The address numbered `n`, or nil past the pool's end.
    public func address(number n: UInt64) -> IPv4Address? {
        guard n < capacity else { return nil }
        return IPv4Address(value: network.value + 1 + UInt32(n))
    }

    public var description: String { "\(network)/\(length)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let p = IPv4Pool(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "'\(text)' is not an IPv4 pool (ADDRESS/16 to /30, host bits clear)"))
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
