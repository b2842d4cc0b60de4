import NIOCore

/// Mobility Header type numbers (RFC 6275 §6.1.2–6.1.9).
public enum MobilityHeaderType {
    public static let bindingRefreshRequest: UInt8 = 0
    public static let bindingUpdate: UInt8 = 5
    public static let bindingAcknowledgement: UInt8 = 6
    public static let bindingError: UInt8 = 7

    /// Octets of the fixed part after the 6-octet common header.
    static func fixedLength(_ type: UInt8) -> Int? {
        switch type {
        case bindingRefreshRequest: return 2
        case bindingUpdate, bindingAcknowledgement: return 6
        case bindingError: return 18
        default: return nil
        }
    }
}

/// IPv6 next-header number of the Mobility Header.
public let mobilityHeaderProtocol: UInt8 = 135
/// Payload Proto value every MH carries (IPPROTO_NONE).
let noNextHeader: UInt8 = 59

/// The common header checks (RFC 6275 §6.1.1, §9.2): returns the type and the octets after
/// the 6-octet header, having consumed the whole MH from `buffer`.
func readMobilityHeaderFrame(_ buffer: inout ByteBuffer) throws(MobilityParseError) -> (type: UInt8, body: ByteBuffer) {
    let available = buffer.readableBytes
    guard available >= 8 else { throw .truncated(needed: 8, available: available) }
    let start = buffer.readerIndex
    let proto = buffer.getInteger(at: start, as: UInt8.self)!
    guard proto == noNextHeader else { throw .badPayloadProto(proto) }
    let headerLength = Int(buffer.getInteger(at: start + 1, as: UInt8.self)!)
    let total = (headerLength + 1) * 8
    guard available % 8 == 0 else { throw .badAlignment(length: available) }
    guard total == available else { throw .lengthMismatch(headerLength: total, available: available) }
    let type = buffer.getInteger(at: start + 2, as: UInt8.self)!
    guard let fixed = MobilityHeaderType.fixedLength(type) else { throw .unknownType(type) }
    guard 6 + fixed <= total else { throw .headerTooShortForType(type: type, headerLength: headerLength) }
    buffer.moveReaderIndex(forwardBy: 6)
    let body = buffer.readSlice(length: total - 6)!
    return (type, body)
}

/// Reads the options that fill the rest of `body`, skipping Pad1/PadN.
func readMobilityOptions(_ body: inout ByteBuffer, origin: Int) throws(MobilityParseError) -> [MobilityOption] {
    var options: [MobilityOption] = []
    while let type: UInt8 = body.readInteger() {
        if type == MobilityOptionType.pad1 { continue }
        let offset = body.readerIndex - 1 - origin
        guard let length: UInt8 = body.readInteger(), var data = body.readSlice(length: Int(length)) else {
            throw .optionOverrun(type: type, offset: offset)
        }
        if type == MobilityOptionType.padN { continue }
        options.append(try MobilityOption.parse(type: type, data: &data))
    }
    return options
}

/// Writes the common header, the fixed part, the options with their alignment padding and
/// the trailing padding; the checksum is left zero (see `MobilityMessage.encode`).
func writeMobilityHeader(type: UInt8, to buffer: inout ByteBuffer, options: [MobilityOption], fixed: (inout ByteBuffer) -> Void) {
    let start = buffer.writerIndex
    buffer.writeInteger(noNextHeader)
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(type)
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(UInt16(0))
    fixed(&buffer)
    // Authentication options go last, MN-HA before MN-AAA (RFC 4285 §5).
    let plain = options.filter { if case .authentication = $0 { return false }; return true }
    let auth = options.compactMap { o -> MobilityAuthentication? in if case .authentication(let a) = o { return a }; return nil }
        .sorted { $0.subtype < $1.subtype }
    for option in plain + auth.map(MobilityOption.authentication) {
        writePadding(to: &buffer, origin: start, alignment: option.alignment)
        option.write(to: &buffer)
    }
    writePadding(to: &buffer, origin: start, alignment: (8, 0))
    // Header Len holds at most 2,048 octets. The HA's caps keep every BA it builds well below
    // that; a longer message gets a saturated (wrong) length the receiver refuses, never a trap.
    buffer.setInteger(UInt8(clamping: (buffer.writerIndex - start) / 8 - 1), at: start + 1)
}

/// Binding Update flags (RFC 6275 §6.1.7, RFC 3963, RFC 5555, RFC 5648).
public struct BindingUpdateFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// A: acknowledgement requested.
    public static let acknowledge = BindingUpdateFlags(rawValue: 0x8000)
    /// H: home registration.
    public static let homeRegistration = BindingUpdateFlags(rawValue: 0x4000)
    /// L: link-local address compatibility.
    public static let linkLocalCompatibility = BindingUpdateFlags(rawValue: 0x2000)
    /// K: key management mobility capability.
    public static let keyManagement = BindingUpdateFlags(rawValue: 0x1000)
    /// M: HMIPv6 MAP registration.
    public static let mapRegistration = BindingUpdateFlags(rawValue: 0x0800)
    /// R: sender is a mobile router (RFC 3963).
    public static let mobileRouter = BindingUpdateFlags(rawValue: 0x0400)
    /// P: proxy registration (PMIPv6).
    public static let proxyRegistration = BindingUpdateFlags(rawValue: 0x0200)
    /// F: force UDP encapsulation (RFC 5555).
    public static let forceUDP = BindingUpdateFlags(rawValue: 0x0100)
    /// T: GRE TLV header (PMIPv6).
    public static let tlvHeader = BindingUpdateFlags(rawValue: 0x0080)
    /// O: MCoA overwrite, replace all bindings of the home address (RFC 5648 §4.2).
    public static let overwrite = BindingUpdateFlags(rawValue: 0x0040)
}

/// Binding Acknowledgement flags (RFC 6275 §6.1.8, RFC 3963).
public struct BindingAcknowledgementFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let keyManagement = BindingAcknowledgementFlags(rawValue: 0x80)
    /// R: the HA set up forwarding for the mobile network.
    public static let mobileRouter = BindingAcknowledgementFlags(rawValue: 0x40)
    public static let proxyRegistration = BindingAcknowledgementFlags(rawValue: 0x20)
    public static let tlvHeader = BindingAcknowledgementFlags(rawValue: 0x10)
}

/// Binding Acknowledgement status codes used by this stack (spec §1.6).
public enum BindingStatus {
    public static let accepted: UInt8 = 0
    public static let acceptedPrefixDiscoveryNecessary: UInt8 = 1
    public static let mcoaNotComplete: UInt8 = 4
    public static let mcoaReturnHome: UInt8 = 5
    public static let reasonUnspecified: UInt8 = 128
    public static let administrativelyProhibited: UInt8 = 129
    public static let insufficientResources: UInt8 = 130
    public static let homeRegistrationNotSupported: UInt8 = 131
    public static let notHomeSubnet: UInt8 = 132
    public static let notHomeAgentForThisMobileNode: UInt8 = 133
    public static let duplicateAddressDetectionFailed: UInt8 = 134
    public static let sequenceNumberOutOfWindow: UInt8 = 135
    public static let registrationTypeChangeDisallowed: UInt8 = 139
    public static let mobileRouterOperationNotPermitted: UInt8 = 140
    public static let invalidPrefix: UInt8 = 141
    public static let notAuthorizedForPrefix: UInt8 = 142
    public static let forwardingSetupFailed: UInt8 = 143
    public static let idMismatch: UInt8 = 144
    public static let messageIDRequired: UInt8 = 145
    public static let authenticationFailed: UInt8 = 146
    public static let mcoaMalformed: UInt8 = 164
    public static let mcoaNonMCoABindingExists: UInt8 = 165
    public static let mcoaProhibited: UInt8 = 166
    public static let mcoaUnknownCareOfAddress: UInt8 = 167
    public static let mcoaBulkRegistrationProhibited: UInt8 = 168
    public static let mcoaSimultaneousHomeAndForeignProhibited: UInt8 = 169
    public static let invalidCareOfAddress: UInt8 = 174
}

/// Binding Update (MH type 5, RFC 6275 §6.1.7).
public struct BindingUpdate: Hashable, Sendable {
    public var sequence: UInt16
    public var flags: BindingUpdateFlags
    /// Requested lifetime in units of 4 s; 0 de-registers.
    public var lifetime: UInt16
    public var options: [MobilityOption]

    public init(sequence: UInt16, flags: BindingUpdateFlags, lifetime: UInt16, options: [MobilityOption] = []) {
        self.sequence = sequence
        self.flags = flags
        self.lifetime = lifetime
        self.options = options
    }

    /// Parses a whole MH that must be a BU (checksum not checked here).
    public init(parsing buffer: inout ByteBuffer) throws(MobilityParseError) {
        let (type, body) = try readMobilityHeaderFrame(&buffer)
        guard type == MobilityHeaderType.bindingUpdate else { throw .unknownType(type) }
        try self.init(body: body)
    }

    init(body: ByteBuffer) throws(MobilityParseError) {
        var body = body
        let origin = body.readerIndex - 6
        sequence = body.readInteger()!
        flags = BindingUpdateFlags(rawValue: body.readInteger()!)
        lifetime = body.readInteger()!
        options = try readMobilityOptions(&body, origin: origin)
    }

    /// Writes the MH with a zero checksum.
    public func write(to buffer: inout ByteBuffer) {
        writeMobilityHeader(type: MobilityHeaderType.bindingUpdate, to: &buffer, options: options) {
            $0.writeInteger(sequence); $0.writeInteger(flags.rawValue); $0.writeInteger(lifetime)
        }
    }
}

/// Binding Acknowledgement (MH type 6, RFC 6275 §6.1.8).
public struct BindingAcknowledgement: Hashable, Sendable {
    public var status: UInt8
    public var flags: BindingAcknowledgementFlags
    public var sequence: UInt16
    /// Granted lifetime in units of 4 s.
    public var lifetime: UInt16
    public var options: [MobilityOption]

    public init(status: UInt8, flags: BindingAcknowledgementFlags = [], sequence: UInt16, lifetime: UInt16, options: [MobilityOption] = []) {
        self.status = status
        self.flags = flags
        self.sequence = sequence
        self.lifetime = lifetime
        self.options = options
    }

    /// Parses a whole MH that must be a BA.
    public init(parsing buffer: inout ByteBuffer) throws(MobilityParseError) {
        let (type, body) = try readMobilityHeaderFrame(&buffer)
        guard type == MobilityHeaderType.bindingAcknowledgement else { throw .unknownType(type) }
        try self.init(body: body)
    }

    init(body: ByteBuffer) throws(MobilityParseError) {
        var body = body
        let origin = body.readerIndex - 6
        status = body.readInteger()!
        flags = BindingAcknowledgementFlags(rawValue: body.readInteger()!)
        sequence = body.readInteger()!
        lifetime = body.readInteger()!
        options = try readMobilityOptions(&body, origin: origin)
    }

    public func write(to buffer: inout ByteBuffer) {
        writeMobilityHeader(type: MobilityHeaderType.bindingAcknowledgement, to: &buffer, options: options) {
            $0.writeInteger(status); $0.writeInteger(flags.rawValue); $0.writeInteger(sequence); $0.writeInteger(lifetime)
        }
    }

    /// Whether the status is one of acceptance (< 128).
    public var isAccepted: Bool { status < 128 }
}

/// Binding Error (MH type 7, RFC 6275 §6.1.9).
public struct BindingError: Hashable, Sendable {
    /// 1 = unknown binding for Home Address destination option, 2 = unrecognized MH type.
    public var status: UInt8
    public var homeAddress: IPv6Address
    public var options: [MobilityOption]

    public static let unknownBinding: UInt8 = 1
    public static let unrecognizedType: UInt8 = 2

    public init(status: UInt8, homeAddress: IPv6Address, options: [MobilityOption] = []) {
        self.status = status
        self.homeAddress = homeAddress
        self.options = options
    }

    public init(parsing buffer: inout ByteBuffer) throws(MobilityParseError) {
        let (type, body) = try readMobilityHeaderFrame(&buffer)
        guard type == MobilityHeaderType.bindingError else { throw .unknownType(type) }
        try self.init(body: body)
    }

    init(body: ByteBuffer) throws(MobilityParseError) {
        var body = body
        let origin = body.readerIndex - 6
        status = body.readInteger()!
        body.moveReaderIndex(forwardBy: 1)
        homeAddress = body.readIPv6Address()!
        options = try readMobilityOptions(&body, origin: origin)
    }

    public func write(to buffer: inout ByteBuffer) {
        writeMobilityHeader(type: MobilityHeaderType.bindingError, to: &buffer, options: options) {
            $0.writeInteger(status); $0.writeInteger(UInt8(0)); $0.writeIPv6Address(homeAddress)
        }
    }
}

/// Binding Refresh Request (MH type 0, RFC 6275 §6.1.2); may name BIDs (RFC 5648 §5.8).
public struct BindingRefreshRequest: Hashable, Sendable {
    public var options: [MobilityOption]

    public init(options: [MobilityOption] = []) { self.options = options }

    public init(parsing buffer: inout ByteBuffer) throws(MobilityParseError) {
        let (type, body) = try readMobilityHeaderFrame(&buffer)
        guard type == MobilityHeaderType.bindingRefreshRequest else { throw .unknownType(type) }
        try self.init(body: body)
    }

    init(body: ByteBuffer) throws(MobilityParseError) {
        var body = body
        let origin = body.readerIndex - 6
        body.moveReaderIndex(forwardBy: 2)
        options = try readMobilityOptions(&body, origin: origin)
    }

    public func write(to buffer: inout ByteBuffer) {
        writeMobilityHeader(type: MobilityHeaderType.bindingRefreshRequest, to: &buffer, options: options) {
            $0.writeInteger(UInt16(0))
        }
    }
}

/// Any Mobility Header message this stack handles.
public enum MobilityMessage: Hashable, Sendable {
    case bindingUpdate(BindingUpdate)
    case bindingAcknowledgement(BindingAcknowledgement)
    case bindingError(BindingError)
    case bindingRefreshRequest(BindingRefreshRequest)

    /// Parses a whole MH (structure only; see `init(parsing:source:destination:)` for the checksum).
    public init(parsing buffer: inout ByteBuffer) throws(MobilityParseError) {
        let (type, body) = try readMobilityHeaderFrame(&buffer)
        switch type {
        case MobilityHeaderType.bindingUpdate: self = .bindingUpdate(try BindingUpdate(body: body))
        case MobilityHeaderType.bindingAcknowledgement: self = .bindingAcknowledgement(try BindingAcknowledgement(body: body))
        case MobilityHeaderType.bindingError: self = .bindingError(try BindingError(body: body))
        case MobilityHeaderType.bindingRefreshRequest: self = .bindingRefreshRequest(try BindingRefreshRequest(body: body))
        default: throw .unknownType(type)
        }
    }

    /// Verifies the checksum against the carrying IPv6 header's addresses, then parses.
    public init(parsing buffer: inout ByteBuffer, source: IPv6Address, destination: IPv6Address) throws(MobilityParseError) {
        let received = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt16.self)
        if let received, buffer.readableBytes >= 8 {
            var copy = buffer
            copy.setInteger(UInt16(0), at: copy.readerIndex + 4)
            let computed = InternetChecksum.mobilityHeader(copy.readableBytesView, source: source, destination: destination)
            guard computed == received else {
                // Frame problems (length, type) are reported before a checksum mismatch.
                var probe = buffer
                _ = try readMobilityHeaderFrame(&probe)
                throw .badChecksum(received: received, computed: computed)
            }
        }
        try self.init(parsing: &buffer)
    }

    /// Writes the MH with a zero checksum.
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .bindingUpdate(let m): m.write(to: &buffer)
        case .bindingAcknowledgement(let m): m.write(to: &buffer)
        case .bindingError(let m): m.write(to: &buffer)
        case .bindingRefreshRequest(let m): m.write(to: &buffer)
        }
    }

    /// The options of whichever message this is.
    public var options: [MobilityOption] {
        switch self {
        case .bindingUpdate(let m): return m.options
        case .bindingAcknowledgement(let m): return m.options
        case .bindingError(let m): return m.options
        case .bindingRefreshRequest(let m): return m.options
        }
    }

    /// The complete MH, authenticated (when `authentication` is given) and checksummed for the
    /// inner IPv6 header `source → destination`.
    public func encode(source: IPv6Address, destination: IPv6Address, authentication: MobilityAuthenticationKey? = nil, careOfAddress: IPv6Address = .unspecified, homeAddress: IPv6Address = .unspecified) -> ByteBuffer {
        var buffer = ByteBuffer()
        write(to: &buffer)
        if let key = authentication {
            MobilityAuthenticator.sign(&buffer, key: key, careOfAddress: careOfAddress, homeAddress: homeAddress)
        }
        let checksum = InternetChecksum.mobilityHeader(buffer.readableBytesView, source: source, destination: destination)
        buffer.setInteger(checksum, at: buffer.readerIndex + 4)
        return buffer
    }
}
