/// IPv4 home addresses for dual-stack mobile routers (RFC 5555 §3.1.1, §3.2.1, §4.4.2): the
/// router asks with option 29 in its BU, the home agent answers with option 30 in the BA.
/// One IPv4 home address per router, static per account; IPv4 mobile network prefixes (the P
/// flag) are not offered.

/// Option 30 status values (RFC 5555 §3.2.1).
public enum IPv4AddressAcknowledgementStatus {
    public static let success: UInt8 = 0
    public static let failureUnspecified: UInt8 = 128
    public static let administrativelyProhibited: UInt8 = 129
    public static let incorrectIPv4HomeAddress: UInt8 = 130
    public static let invalidIPv4Address: UInt8 = 131
    public static let dynamicIPv4HomeAddressNotAvailable: UInt8 = 132
    public static let prefixAllocationUnauthorized: UInt8 = 133
}

extension IPv4Address {
    /// 0.0.0.0 in option 29: "assign me one" (RFC 5555 §3.1.1).
    public static let unspecified = IPv4Address(value: 0)

    /// Usable as one host's address: not 0/8, loopback, link-local, multicast, reserved or broadcast.
    public var isUnicast: Bool {
        let first = value >> 24
        return first != 0 && first != 127 && first < 224 && value >> 16 != 0xA9FE
    }
}

/// The home agent's answer to one option 29.
struct IPv4HomeAddressAnswer: Equatable, Sendable {
    /// Option 30 for the BA.
    var acknowledgement: MobilityOption
    /// The address bound from now on (status 0), nil otherwise.
    var bound: IPv4Address?

    /// Answers `requested` (nil: the BU carried no option 29, nothing to answer and nothing bound)
    /// for a router whose account has `assigned`. The IPv6 binding is accepted whatever this says
    /// (RFC 5555 §4.4.2).
    static func decide(requested: (prefixLength: UInt8, requestPrefix: Bool, address: IPv4Address)?,
                       assigned: IPv4Address?) -> IPv4HomeAddressAnswer? {
        guard let requested else { return nil }
        func answer(_ status: UInt8, _ address: IPv4Address, bound: IPv4Address? = nil) -> IPv4HomeAddressAnswer {
            IPv4HomeAddressAnswer(acknowledgement: .ipv4AddressAcknowledgement(status: status, prefixLength: bound == nil ? 0 : 32, address: address),
                                  bound: bound)
        }
        // An IPv4 mobile network prefix would need IPv4 prefix delegation and routing we do not do.
        if requested.requestPrefix {
            return answer(IPv4AddressAcknowledgementStatus.prefixAllocationUnauthorized, requested.address)
        }
        guard let assigned else {
            return answer(IPv4AddressAcknowledgementStatus.dynamicIPv4HomeAddressNotAvailable, requested.address)
        }
        if requested.address == .unspecified || requested.address == assigned {
            return answer(IPv4AddressAcknowledgementStatus.success, assigned, bound: assigned)
        }
        if !requested.address.isUnicast {
            return answer(IPv4AddressAcknowledgementStatus.invalidIPv4Address, requested.address)
        }
        return answer(IPv4AddressAcknowledgementStatus.incorrectIPv4HomeAddress, requested.address)
    }
}
