import NIOCore

/// Mobility option type numbers (RFC 6275 §6.2 and the IANA registry).
public enum MobilityOptionType {
    public static let pad1: UInt8 = 0
    public static let padN: UInt8 = 1
    public static let bindingRefreshAdvice: UInt8 = 2
    public static let alternateCareOfAddress: UInt8 = 3
    public static let nonceIndices: UInt8 = 4
    public static let bindingAuthorizationData: UInt8 = 5
    public static let mobileNetworkPrefix: UInt8 = 6
    public static let linkLayerAddress: UInt8 = 7
    public static let mobileNodeIdentifier: UInt8 = 8
    public static let authentication: UInt8 = 9
    public static let replayProtection: UInt8 = 10
    public static let ipv4HomeAddress: UInt8 = 29
    public static let ipv4AddressAcknowledgement: UInt8 = 30
    public static let natDetection: UInt8 = 31
    public static let ipv4CareOfAddress: UInt8 = 32
    public static let bindingIdentifier: UInt8 = 35
    public static let flowSummary: UInt8 = 44
    public static let flowIdentification: UInt8 = 45
}

/// Binding Identifier option (RFC 5648 §4.3, BID-PRI from RFC 6089 §4.1).
public struct BindingIdentifier: Hashable, Sendable {
    /// 1…65535, unique per home address.
    public var bid: UInt16
    /// Per-BID status in a BA (0 = use the BA's status).
    public var status: UInt8
    /// H: simultaneous home and foreign binding.
    public var homeFlag: Bool
    /// 0…127, lower is preferred; 0 = sender predates RFC 6089.
    public var priority: UInt8
    /// The care-of address, only in a BU.
    public var careOfAddress: IPAddress?

    public init(bid: UInt16, status: UInt8 = 0, homeFlag: Bool = false, priority: UInt8 = 0, careOfAddress: IPAddress? = nil) {
        self.bid = bid
        self.status = status
        self.homeFlag = homeFlag
        self.priority = priority & 0x7F
        self.careOfAddress = careOfAddress
    }
}

/// MN-HA or MN-AAA Mobility Message Authentication option (RFC 4285 §5).
public struct MobilityAuthentication: Hashable, Sendable {
    /// 1 = MN-HA, 2 = MN-AAA.
    public var subtype: UInt8
    public var spi: UInt32
    public var authenticator: [UInt8]

    public static let mnHA: UInt8 = 1
    public static let mnAAA: UInt8 = 2

    public init(subtype: UInt8 = MobilityAuthentication.mnHA, spi: UInt32, authenticator: [UInt8] = [UInt8](repeating: 0, count: 12)) {
        self.subtype = subtype
        self.spi = spi
        self.authenticator = authenticator
    }
}

/// One mobility option. Pad1/PadN are consumed by the parser and produced by the writer.
public enum MobilityOption: Hashable, Sendable {
    /// Refresh interval in units of 4 s (RFC 6275 §6.2.4).
    case bindingRefreshAdvice(interval: UInt16)
    case alternateCareOfAddress(IPv6Address)
    case nonceIndices(home: UInt16, careOf: UInt16)
    case bindingAuthorizationData([UInt8])
    /// NEMO Mobile Network Prefix (RFC 3963 §4.3).
    case mobileNetworkPrefix(IPv6Prefix)
    case linkLayerAddress(code: UInt8, address: [UInt8])
    /// RFC 4283; subtype 1 = NAI.
    case mobileNodeIdentifier(subtype: UInt8, identifier: [UInt8])
    case authentication(MobilityAuthentication)
    /// 64-bit NTP timestamp (RFC 4285 §6).
    case replayProtection(UInt64)
    /// RFC 5555 §3.1.1.
    case ipv4HomeAddress(prefixLength: UInt8, requestPrefix: Bool, address: IPv4Address)
    /// RFC 5555 §3.2.1.
    case ipv4AddressAcknowledgement(status: UInt8, prefixLength: UInt8, address: IPv4Address)
    /// RFC 5555 §3.2.2; refresh time in seconds.
    case natDetection(udpRequired: Bool, refreshTime: UInt32)
    /// RFC 5555 §3.1.2.
    case ipv4CareOfAddress(IPv4Address)
    case bindingIdentifier(BindingIdentifier)
    /// RFC 6089 §4.2.2.
    case flowSummary([UInt16])
    case flowIdentification(FlowIdentification)
    /// Any other type, kept so it can be skipped and reported.
    case unknown(type: UInt8, data: [UInt8])

    /// NAI form of the Mobile Node Identifier.
    public static func nai(_ text: String) -> MobilityOption {
        .mobileNodeIdentifier(subtype: 1, identifier: Array(text.utf8))
    }

    var typeCode: UInt8 {
        switch self {
        case .bindingRefreshAdvice: return MobilityOptionType.bindingRefreshAdvice
        case .alternateCareOfAddress: return MobilityOptionType.alternateCareOfAddress
        case .nonceIndices: return MobilityOptionType.nonceIndices
        case .bindingAuthorizationData: return MobilityOptionType.bindingAuthorizationData
        case .mobileNetworkPrefix: return MobilityOptionType.mobileNetworkPrefix
        case .linkLayerAddress: return MobilityOptionType.linkLayerAddress
        case .mobileNodeIdentifier: return MobilityOptionType.mobileNodeIdentifier
        case .authentication: return MobilityOptionType.authentication
        case .replayProtection: return MobilityOptionType.replayProtection
        case .ipv4HomeAddress: return MobilityOptionType.ipv4HomeAddress
        case .ipv4AddressAcknowledgement: return MobilityOptionType.ipv4AddressAcknowledgement
        case .natDetection: return MobilityOptionType.natDetection
        case .ipv4CareOfAddress: return MobilityOptionType.ipv4CareOfAddress
        case .bindingIdentifier: return MobilityOptionType.bindingIdentifier
        case .flowSummary: return MobilityOptionType.flowSummary
        case .flowIdentification: return MobilityOptionType.flowIdentification
        case .unknown(let t, _): return t
        }
    }

    /// Alignment rule `x·n + y` as (x, y) (RFC 6275 §6.2 and the defining RFCs).
    var alignment: (Int, Int) {
        switch self {
        case .bindingRefreshAdvice, .nonceIndices: return (2, 0)
        case .alternateCareOfAddress: return (8, 6)
        case .bindingAuthorizationData: return (8, 2)
        case .mobileNetworkPrefix: return (8, 4)
        case .linkLayerAddress, .mobileNodeIdentifier, .unknown: return (1, 0)
        case .authentication(let a): return (8, (8 - (7 + a.authenticator.count) % 8) % 8)
        case .replayProtection: return (8, 2)
        case .ipv4HomeAddress, .ipv4AddressAcknowledgement, .natDetection, .ipv4CareOfAddress: return (4, 0)
        case .bindingIdentifier(let b): return b.careOfAddress == nil ? (2, 0) : (8, 2)
        case .flowSummary: return (2, 0)
        case .flowIdentification(let f): return (f.requiredAlignment, 0)
        }
    }

    /// Parses one option whose Type and Length octets were already read; `data` holds exactly Length octets.
    static func parse(type: UInt8, data: inout ByteBuffer) throws(MobilityParseError) -> MobilityOption {
        let length = data.readableBytes
        func expect(_ n: Int) throws(MobilityParseError) {
            if length != n { throw .badOptionLength(type: type, length: length) }
        }
        switch type {
        case MobilityOptionType.bindingRefreshAdvice:
            try expect(2)
            return .bindingRefreshAdvice(interval: data.readInteger()!)
        case MobilityOptionType.alternateCareOfAddress:
            try expect(16)
            return .alternateCareOfAddress(data.readIPv6Address()!)
        case MobilityOptionType.nonceIndices:
            try expect(4)
            return .nonceIndices(home: data.readInteger()!, careOf: data.readInteger()!)
        case MobilityOptionType.bindingAuthorizationData:
            return .bindingAuthorizationData(data.readBytes(length: length)!)
        case MobilityOptionType.mobileNetworkPrefix:
            try expect(18)
            data.moveReaderIndex(forwardBy: 1)
            let plen: UInt8 = data.readInteger()!
            guard plen <= 128 else { throw .badFieldValue("prefix length \(plen) > 128") }
            return .mobileNetworkPrefix(IPv6Prefix(address: data.readIPv6Address()!, length: plen))
        case MobilityOptionType.linkLayerAddress:
            guard length >= 1 else { throw .badOptionLength(type: type, length: length) }
            let code: UInt8 = data.readInteger()!
            return .linkLayerAddress(code: code, address: data.readBytes(length: length - 1)!)
        case MobilityOptionType.mobileNodeIdentifier:
            guard length >= 2 else { throw .badOptionLength(type: type, length: length) }
            let subtype: UInt8 = data.readInteger()!
            return .mobileNodeIdentifier(subtype: subtype, identifier: data.readBytes(length: length - 1)!)
        case MobilityOptionType.authentication:
            guard length >= 5 else { throw .badOptionLength(type: type, length: length) }
            let subtype: UInt8 = data.readInteger()!
            let spi: UInt32 = data.readInteger()!
            return .authentication(MobilityAuthentication(subtype: subtype, spi: spi, authenticator: data.readBytes(length: length - 5)!))
        case MobilityOptionType.replayProtection:
            try expect(8)
            return .replayProtection(data.readInteger()!)
        case MobilityOptionType.ipv4HomeAddress:
            try expect(6)
            let word: UInt16 = data.readInteger()!
            return .ipv4HomeAddress(prefixLength: UInt8(word >> 10), requestPrefix: word & 0x0200 != 0, address: data.readIPv4Address()!)
        case MobilityOptionType.ipv4AddressAcknowledgement:
            try expect(6)
            let status: UInt8 = data.readInteger()!
            let pl: UInt8 = data.readInteger()!
            return .ipv4AddressAcknowledgement(status: status, prefixLength: pl >> 2, address: data.readIPv4Address()!)
        case MobilityOptionType.natDetection:
            try expect(6)
            let word: UInt16 = data.readInteger()!
            return .natDetection(udpRequired: word & 0x8000 != 0, refreshTime: data.readInteger()!)
        case MobilityOptionType.ipv4CareOfAddress:
            try expect(6)
            data.moveReaderIndex(forwardBy: 2)
            return .ipv4CareOfAddress(data.readIPv4Address()!)
        case MobilityOptionType.bindingIdentifier:
            guard length == 4 || length == 8 || length == 20 else { throw .badOptionLength(type: type, length: length) }
            let bid: UInt16 = data.readInteger()!
            let status: UInt8 = data.readInteger()!
            let flags: UInt8 = data.readInteger()!
            var coa: IPAddress?
            if length == 8 { coa = .v4(data.readIPv4Address()!) }
            if length == 20 { coa = .v6(data.readIPv6Address()!) }
            return .bindingIdentifier(BindingIdentifier(bid: bid, status: status, homeFlag: flags & 0x80 != 0, priority: flags & 0x7F, careOfAddress: coa))
        case MobilityOptionType.flowSummary:
            guard length >= 2, length % 2 == 0 else { throw .badOptionLength(type: type, length: length) }
            var fids: [UInt16] = []
            while let f: UInt16 = data.readInteger() { fids.append(f) }
            return .flowSummary(fids)
        case MobilityOptionType.flowIdentification:
            return .flowIdentification(try FlowIdentification(parsing: &data))
        default:
            return .unknown(type: type, data: data.readBytes(length: length)!)
        }
    }

    /// Writes Type, Length and data (no padding).
    func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(typeCode)
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt8(0))
        let start = buffer.writerIndex
        switch self {
        case .bindingRefreshAdvice(let i): buffer.writeInteger(i)
        case .alternateCareOfAddress(let a): buffer.writeIPv6Address(a)
        case .nonceIndices(let h, let c): buffer.writeInteger(h); buffer.writeInteger(c)
        case .bindingAuthorizationData(let d): buffer.writeBytes(d)
        case .mobileNetworkPrefix(let p):
            buffer.writeInteger(UInt8(0)); buffer.writeInteger(p.length); buffer.writeIPv6Address(p.address)
        case .linkLayerAddress(let code, let a): buffer.writeInteger(code); buffer.writeBytes(a)
        case .mobileNodeIdentifier(let s, let id): buffer.writeInteger(s); buffer.writeBytes(id)
        case .authentication(let a):
            buffer.writeInteger(a.subtype); buffer.writeInteger(a.spi); buffer.writeBytes(a.authenticator)
        case .replayProtection(let t): buffer.writeInteger(t)
        case .ipv4HomeAddress(let pl, let p, let a):
            buffer.writeInteger(UInt16(pl & 0x3F) << 10 | (p ? 0x0200 : 0)); buffer.writeIPv4Address(a)
        case .ipv4AddressAcknowledgement(let s, let pl, let a):
            buffer.writeInteger(s); buffer.writeInteger((pl & 0x3F) << 2); buffer.writeIPv4Address(a)
        case .natDetection(let f, let r): buffer.writeInteger(UInt16(f ? 0x8000 : 0)); buffer.writeInteger(r)
        case .ipv4CareOfAddress(let a): buffer.writeInteger(UInt16(0)); buffer.writeIPv4Address(a)
        case .bindingIdentifier(let b):
            buffer.writeInteger(b.bid); buffer.writeInteger(b.status)
            buffer.writeInteger((b.homeFlag ? 0x80 : 0) | (b.priority & 0x7F))
            switch b.careOfAddress {
            case .v4(let a): buffer.writeIPv4Address(a)
            case .v6(let a): buffer.writeIPv6Address(a)
            case nil: break
            }
        case .flowSummary(let fids): for f in fids { buffer.writeInteger(f) }
        case .flowIdentification(let f): f.write(to: &buffer)
        case .unknown(_, let d): buffer.writeBytes(d)
        }
        buffer.setInteger(UInt8(truncatingIfNeeded: buffer.writerIndex - start), at: lengthIndex)
    }
}

/// Inserts Pad1/PadN so the next octet lands at `offset ≡ y (mod x)` measured from `origin`.
func writePadding(to buffer: inout ByteBuffer, origin: Int, alignment: (Int, Int)) {
    let (x, y) = alignment
    guard x > 1 else { return }
    let offset = buffer.writerIndex - origin
    let pad = ((y - offset) % x + x) % x
    writePad(pad, to: &buffer)
}

func writePad(_ count: Int, to buffer: inout ByteBuffer) {
    if count == 1 {
        buffer.writeInteger(UInt8(0))
    } else if count >= 2 {
        buffer.writeInteger(UInt8(1))
        buffer.writeInteger(UInt8(count - 2))
        buffer.writeRepeatingByte(0, count: count - 2)
    }
}

extension ByteBuffer {
    mutating func readIPv6Address() -> IPv6Address? {
        guard let h: UInt64 = readInteger(), let l: UInt64 = readInteger() else { return nil }
        return IPv6Address(high: h, low: l)
    }

    mutating func readIPv4Address() -> IPv4Address? {
        guard let v: UInt32 = readInteger() else { return nil }
        return IPv4Address(value: v)
    }

    mutating func writeIPv6Address(_ a: IPv6Address) {
        writeInteger(a.high)
        writeInteger(a.low)
    }

    mutating func writeIPv4Address(_ a: IPv4Address) {
        writeInteger(a.value)
    }
}
