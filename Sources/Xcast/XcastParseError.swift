/// Every way an Xcast datagram (framing, Routing header, Ports header) or a control message can be
/// wrong on the wire. Each case carries the data that was wrong; `counterName` labels the drop counter.
public enum XcastParseError: Error, Equatable, Hashable, Sendable {
    /// Fewer octets than the structure being read needs.
    case truncated(needed: Int, available: Int)
    /// The datagram does not start with the framing magic "X6".
    case notXcast(magic: UInt16)
    /// A framing version this implementation does not speak.
    case unknownFramingVersion(UInt8)
    /// A framing message type that is not defined.
    case unknownMessageType(UInt8)
    /// The hop limit arrived at zero: a loop or a table that sends packets round.
    case hopLimitExhausted
    /// The Routing header's Next Header is not 60: the Ports header is mandatory in version 1.
    case missingPortsHeader(nextHeader: UInt8)
    /// Routing Type is not 253 (RFC 4727 experimental value used for Xcast).
    case unknownRoutingType(UInt8)
    /// Segments Left is not zero.
    case segmentsLeftNotZero(UInt8)
    /// The Xcast VERSION field is not 1.
    case unknownVersion(UInt8)
    /// D is set: a DSCP list this version does not carry.
    case dscpListUnsupported
    /// NBR_OF_DEST is zero.
    case zeroDestinations
    /// NBR_OF_DEST is above 125, the most a Routing header can hold.
    case tooManyDestinations(Int)
    /// Hdr Ext Len gives a length that the destination count does not explain.
    case lengthMismatch(headerLength: Int, expected: Int)
    /// Hdr Ext Len leaves room for more bitmap words than the destination list needs.
    case bitmapLongerThanList(bitmapBits: Int, destinations: Int)
    /// A bitmap bit past the last listed destination is set.
    case bitmapBitBeyondList(index: Int, destinations: Int)
    /// No bitmap bit is set: nobody to deliver to.
    case noLiveDestinations
    /// The checksum over the Routing and Ports headers does not verify.
    case badChecksum(received: UInt16, computed: UInt16)
    /// A live destination is multicast, loopback, link-local or unspecified.
    case forbiddenDestination(index: Int, kind: AddressKind)
    /// The Ports header's Next Header is not 17 (the UDP payload follows).
    case unexpectedPayloadHeader(UInt8)
    /// The Ports header's length does not match the destination count.
    case portsLengthMismatch(headerLength: Int, expected: Int)
    /// The first option of the Ports header is not the Ports option (0x5E).
    case missingPortsOption(type: UInt8)
    /// The Ports option holds a different number of ports than there are destinations.
    case portsCountMismatch(ports: Int, destinations: Int)
    /// Padding after the Ports option is not Pad1/PadN with zero octets.
    case badPadding(offset: Int)
    /// A live destination has port 0.
    case zeroPort(index: Int)
    /// A session name that is empty, longer than 16 octets or has octets outside [A-Za-z0-9._-].
    case badSessionName(length: Int)
    /// A token that is empty, longer than 64 octets or not printable ASCII.
    case badToken(length: Int)
    /// A control message field holds a value its definition forbids.
    case badFieldValue(field: String, value: Int)
    /// Octets left over after a control message.
    case trailingOctets(Int)

    /// A short label for counters and logs.
    public var counterName: String {
        switch self {
        case .truncated: "truncated"
        case .notXcast: "not_xcast"
        case .unknownFramingVersion: "unknown_framing_version"
        case .unknownMessageType: "unknown_message_type"
        case .hopLimitExhausted: "hop_limit_exhausted"
        case .missingPortsHeader, .missingPortsOption, .portsLengthMismatch, .portsCountMismatch: "bad_ports"
        case .unknownRoutingType: "unknown_routing_type"
        case .segmentsLeftNotZero: "segments_left"
        case .unknownVersion: "unknown_version"
        case .dscpListUnsupported: "dscp_unsupported"
        case .zeroDestinations: "zero_destinations"
        case .tooManyDestinations: "too_many_destinations"
        case .lengthMismatch: "bad_length"
        case .bitmapLongerThanList, .bitmapBitBeyondList: "bad_bitmap"
        case .noLiveDestinations: "no_live_destinations"
        case .badChecksum: "bad_checksum"
        case .forbiddenDestination: "forbidden_destination"
        case .unexpectedPayloadHeader: "bad_next_header"
        case .badPadding: "bad_padding"
        case .zeroPort: "zero_port"
        case .badSessionName, .badToken, .badFieldValue, .trailingOctets: "bad_control"
        }
    }
}
