/// Every way a Mobility Header or one of its options can be wrong on the wire.
public enum MobilityParseError: Error, Equatable, Sendable {
    /// Fewer octets than the structure being read needs.
    case truncated(needed: Int, available: Int)
    /// Payload Proto is not 59 (RFC 6275 §9.2).
    case badPayloadProto(UInt8)
    /// Header Len says more (or fewer) octets than the datagram holds.
    case lengthMismatch(headerLength: Int, available: Int)
    /// The total length is not a multiple of 8 octets.
    case badAlignment(length: Int)
    /// Header Len is below the minimum for the message type.
    case headerTooShortForType(type: UInt8, headerLength: Int)
    /// The checksum over the pseudo-header and message does not verify.
    case badChecksum(received: UInt16, computed: UInt16)
    /// A message type this stack does not handle (answered with Binding Error status 2).
    case unknownType(UInt8)
    /// An option's Length runs past the end of the message.
    case optionOverrun(type: UInt8, offset: Int)
    /// An option's Length is not one its type allows.
    case badOptionLength(type: UInt8, length: Int)
    /// A Flow Identification sub-option or traffic selector is malformed.
    case badSubOption(type: UInt8, reason: String)
    /// A field holds a value its definition forbids (e.g. BID 0).
    case badFieldValue(String)

    /// A short label for counters and logs.
    public var counterName: String {
        switch self {
        case .truncated: return "truncated"
        case .badPayloadProto: return "bad_payload_proto"
        case .lengthMismatch: return "bad_length"
        case .badAlignment: return "bad_alignment"
        case .headerTooShortForType: return "bad_length"
        case .badChecksum: return "bad_checksum"
        case .unknownType: return "unknown_type"
        case .optionOverrun, .badOptionLength, .badSubOption, .badFieldValue: return "bad_option"
        }
    }
}
