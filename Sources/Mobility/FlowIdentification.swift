import NIOCore

/// An inclusive range for one traffic-selector field; `end` nil means the single value `start`.
public struct SelectorRange<Value: Hashable & Comparable & Sendable>: Hashable, Sendable {
    public var start: Value
    public var end: Value?

    public init(_ start: Value, _ end: Value? = nil) {
        self.start = start
        self.end = end
    }

    /// Whether `v` lies in `start…(end ?? start)`.
    public func contains(_ v: Value) -> Bool { v >= start && v <= (end ?? start) }
}

/// Binary IPv6 traffic selector (RFC 6088 §3.2, format 2), describing downlink packets as
/// the home agent sees them: source = the correspondent side, destination = the mobile network.
public struct IPv6TrafficSelector: Hashable, Sendable {
    public var sourceAddress: SelectorRange<IPv6Address>?
    public var destinationAddress: SelectorRange<IPv6Address>?
    public var spi: SelectorRange<UInt32>?
    public var flowLabel: SelectorRange<UInt32>?
    public var sourcePort: SelectorRange<UInt16>?
    public var destinationPort: SelectorRange<UInt16>?
    public var trafficClass: SelectorRange<UInt8>?
    public var nextHeader: SelectorRange<UInt8>?

    public init(sourceAddress: SelectorRange<IPv6Address>? = nil, destinationAddress: SelectorRange<IPv6Address>? = nil,
                spi: SelectorRange<UInt32>? = nil, flowLabel: SelectorRange<UInt32>? = nil,
                sourcePort: SelectorRange<UInt16>? = nil, destinationPort: SelectorRange<UInt16>? = nil,
                trafficClass: SelectorRange<UInt8>? = nil, nextHeader: SelectorRange<UInt8>? = nil) {
        self.sourceAddress = sourceAddress
        self.destinationAddress = destinationAddress
        self.spi = spi
        self.flowLabel = flowLabel
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.trafficClass = trafficClass
        self.nextHeader = nextHeader
    }

    /// Whether a packet with these header fields matches every field present.
    public func matches(_ flow: FlowKey) -> Bool {
        if let r = sourceAddress, !r.contains(flow.source.asIPv6) { return false }
        if let r = destinationAddress, !r.contains(flow.destination.asIPv6) { return false }
        if let r = flowLabel, !r.contains(flow.flowLabel) { return false }
        if let r = nextHeader, !r.contains(flow.nextHeader) { return false }
        if let r = sourcePort { guard let p = flow.sourcePort, r.contains(p) else { return false } }
        if let r = destinationPort { guard let p = flow.destinationPort, r.contains(p) else { return false } }
        // Only the DSCP (upper six bits) takes part in the comparison.
        if let r = trafficClass {
            let dscp = flow.trafficClass & 0xFC
            guard dscp >= r.start & 0xFC, dscp <= (r.end ?? r.start) & 0xFC else { return false }
        }
        if spi != nil { return false }
        return true
    }

    var alignment: Int {
        if sourceAddress != nil || destinationAddress != nil { return 8 }
        if spi != nil || flowLabel != nil { return 4 }
        if sourcePort != nil || destinationPort != nil { return 2 }
        return 1
    }

    init(parsing data: inout ByteBuffer) throws(MobilityParseError) {
        guard let flags: UInt32 = data.readInteger() else { throw .badSubOption(type: 3, reason: "no flags word") }
        func has(_ i: Int) -> Bool { flags & (0x8000_0000 >> UInt32(i)) != 0 }
        // A range end without its start is malformed (RFC 6088 §3.1).
        for i in stride(from: 1, to: 16, by: 2) where has(i) && !has(i - 1) {
            throw .badSubOption(type: 3, reason: "range end flag \(i) without start")
        }
        func addr(_ i: Int) throws(MobilityParseError) -> SelectorRange<IPv6Address>? {
            guard has(i) else { return nil }
            guard let s = data.readIPv6Address() else { throw .badSubOption(type: 3, reason: "truncated") }
            var e: IPv6Address?
            if has(i + 1) { guard let x = data.readIPv6Address() else { throw .badSubOption(type: 3, reason: "truncated") }; e = x }
            return SelectorRange(s, e)
        }
        func int<T: FixedWidthInteger & Sendable>(_ i: Int, _: T.Type) throws(MobilityParseError) -> SelectorRange<T>? {
            guard has(i) else { return nil }
            guard let s: T = data.readInteger() else { throw .badSubOption(type: 3, reason: "truncated") }
            var e: T?
            if has(i + 1) { guard let x: T = data.readInteger() else { throw .badSubOption(type: 3, reason: "truncated") }; e = x }
            return SelectorRange(s, e)
        }
        sourceAddress = try addr(0)
        destinationAddress = try addr(2)
        spi = try int(4, UInt32.self)
        flowLabel = try int(6, UInt32.self).map { SelectorRange($0.start & 0xFFFFF, $0.end.map { $0 & 0xFFFFF }) }
        sourcePort = try int(8, UInt16.self)
        destinationPort = try int(10, UInt16.self)
        trafficClass = try int(12, UInt8.self)
        nextHeader = try int(14, UInt8.self)
    }

    func write(to buffer: inout ByteBuffer) {
        var flags: UInt32 = 0
        func mark<T>(_ r: SelectorRange<T>?, _ i: Int) {
            guard let r else { return }
            flags |= 0x8000_0000 >> UInt32(i)
            if r.end != nil { flags |= 0x8000_0000 >> UInt32(i + 1) }
        }
        mark(sourceAddress, 0); mark(destinationAddress, 2); mark(spi, 4); mark(flowLabel, 6)
        mark(sourcePort, 8); mark(destinationPort, 10); mark(trafficClass, 12); mark(nextHeader, 14)
        buffer.writeInteger(flags)
        func a(_ r: SelectorRange<IPv6Address>?) {
            guard let r else { return }
            buffer.writeIPv6Address(r.start)
            if let e = r.end { buffer.writeIPv6Address(e) }
        }
        func n<T: FixedWidthInteger>(_ r: SelectorRange<T>?) {
            guard let r else { return }
            buffer.writeInteger(r.start)
            if let e = r.end { buffer.writeInteger(e) }
        }
        a(sourceAddress); a(destinationAddress); n(spi); n(flowLabel)
        n(sourcePort); n(destinationPort); n(trafficClass); n(nextHeader)
    }
}

/// Binary IPv4 traffic selector (RFC 6088 §3.1, format 1).
public struct IPv4TrafficSelector: Hashable, Sendable {
    public var sourceAddress: SelectorRange<IPv4Address>?
    public var destinationAddress: SelectorRange<IPv4Address>?
    public var spi: SelectorRange<UInt32>?
    public var sourcePort: SelectorRange<UInt16>?
    public var destinationPort: SelectorRange<UInt16>?
    public var differentiatedServices: SelectorRange<UInt8>?
    public var `protocol`: SelectorRange<UInt8>?

    public init(sourceAddress: SelectorRange<IPv4Address>? = nil, destinationAddress: SelectorRange<IPv4Address>? = nil,
                spi: SelectorRange<UInt32>? = nil, sourcePort: SelectorRange<UInt16>? = nil,
                destinationPort: SelectorRange<UInt16>? = nil, differentiatedServices: SelectorRange<UInt8>? = nil,
                protocol: SelectorRange<UInt8>? = nil) {
        self.sourceAddress = sourceAddress
        self.destinationAddress = destinationAddress
        self.spi = spi
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.differentiatedServices = differentiatedServices
        self.protocol = `protocol`
    }

    /// Whether an IPv4 packet with these header fields matches.
    public func matches(_ flow: FlowKey) -> Bool {
        guard case .v4(let s) = flow.source, case .v4(let d) = flow.destination else { return false }
        if let r = sourceAddress, !r.contains(s) { return false }
        if let r = destinationAddress, !r.contains(d) { return false }
        if let r = `protocol`, !r.contains(flow.nextHeader) { return false }
        if let r = sourcePort { guard let p = flow.sourcePort, r.contains(p) else { return false } }
        if let r = destinationPort { guard let p = flow.destinationPort, r.contains(p) else { return false } }
        if let r = differentiatedServices {
            let ds = flow.trafficClass & 0xFC
            guard ds >= r.start & 0xFC, ds <= (r.end ?? r.start) & 0xFC else { return false }
        }
        if spi != nil { return false }
        return true
    }

    var alignment: Int {
        if sourceAddress != nil || destinationAddress != nil || spi != nil { return 4 }
        if sourcePort != nil || destinationPort != nil { return 2 }
        return 1
    }

    init(parsing data: inout ByteBuffer) throws(MobilityParseError) {
        guard let flags: UInt32 = data.readInteger() else { throw .badSubOption(type: 3, reason: "no flags word") }
        func has(_ i: Int) -> Bool { flags & (0x8000_0000 >> UInt32(i)) != 0 }
        for i in stride(from: 1, to: 14, by: 2) where has(i) && !has(i - 1) {
            throw .badSubOption(type: 3, reason: "range end flag \(i) without start")
        }
        func int<T: FixedWidthInteger & Sendable>(_ i: Int, _: T.Type) throws(MobilityParseError) -> SelectorRange<T>? {
            guard has(i) else { return nil }
            guard let s: T = data.readInteger() else { throw .badSubOption(type: 3, reason: "truncated") }
            var e: T?
            if has(i + 1) { guard let x: T = data.readInteger() else { throw .badSubOption(type: 3, reason: "truncated") }; e = x }
            return SelectorRange(s, e)
        }
        sourceAddress = try int(0, UInt32.self).map { SelectorRange(IPv4Address(value: $0.start), $0.end.map { IPv4Address(value: $0) }) }
        destinationAddress = try int(2, UInt32.self).map { SelectorRange(IPv4Address(value: $0.start), $0.end.map { IPv4Address(value: $0) }) }
        spi = try int(4, UInt32.self)
        sourcePort = try int(6, UInt16.self)
        destinationPort = try int(8, UInt16.self)
        differentiatedServices = try int(10, UInt8.self)
        `protocol` = try int(12, UInt8.self)
    }

    func write(to buffer: inout ByteBuffer) {
        var flags: UInt32 = 0
        func mark<T>(_ r: SelectorRange<T>?, _ i: Int) {
            guard let r else { return }
            flags |= 0x8000_0000 >> UInt32(i)
            if r.end != nil { flags |= 0x8000_0000 >> UInt32(i + 1) }
        }
        mark(sourceAddress, 0); mark(destinationAddress, 2); mark(spi, 4); mark(sourcePort, 6)
        mark(destinationPort, 8); mark(differentiatedServices, 10); mark(`protocol`, 12)
        buffer.writeInteger(flags)
        func n<T: FixedWidthInteger>(_ r: SelectorRange<T>?) {
            guard let r else { return }
            buffer.writeInteger(r.start)
            if let e = r.end { buffer.writeInteger(e) }
        }
        n(sourceAddress.map { SelectorRange($0.start.value, $0.end?.value) }); n(destinationAddress.map { SelectorRange($0.start.value, $0.end?.value) })
        n(spi); n(sourcePort); n(destinationPort); n(differentiatedServices); n(`protocol`)
    }
}

/// A Traffic Selector sub-option's content (RFC 6089 §4.2.1.4).
public enum TrafficSelector: Hashable, Sendable {
    case ipv4(IPv4TrafficSelector)
    case ipv6(IPv6TrafficSelector)
    /// A format this stack does not know; kept so the HA can answer FI status 133.
    case unsupported(format: UInt8, data: [UInt8])

    /// Whether a packet matches; unsupported formats never match.
    public func matches(_ flow: FlowKey) -> Bool {
        switch self {
        case .ipv4(let s): return s.matches(flow)
        case .ipv6(let s): return s.matches(flow)
        case .unsupported: return false
        }
    }

    var alignment: Int {
        switch self {
        case .ipv4(let s): return s.alignment
        case .ipv6(let s): return s.alignment
        case .unsupported: return 1
        }
    }
}

/// Flow Identification mobility option (RFC 6089 §4.2).
public struct FlowIdentification: Hashable, Sendable {
    public var fid: UInt16
    public var priority: UInt16
    /// 0 in a BU; the result in a BA.
    public var status: UInt8
    public var trafficSelector: TrafficSelector?
    /// BID Reference sub-option; nil when absent.
    public var bindingReferences: [UInt16]?

    public init(fid: UInt16, priority: UInt16, status: UInt8 = 0, trafficSelector: TrafficSelector? = nil, bindingReferences: [UInt16]? = nil) {
        self.fid = fid
        self.priority = priority
        self.status = status
        self.trafficSelector = trafficSelector
        self.bindingReferences = bindingReferences
    }

    /// FI status codes (RFC 6089 §4.2).
    public enum Status {
        public static let success: UInt8 = 0
        public static let administrativelyProhibited: UInt8 = 128
        public static let rejectedUnspecified: UInt8 = 129
        public static let malformed: UInt8 = 130
        public static let bidNotFound: UInt8 = 131
        public static let fidNotFound: UInt8 = 132
        public static let selectorFormatNotSupported: UInt8 = 133
    }

    /// The option is placed so its Traffic Selector sub-option (written first) is naturally aligned.
    var requiredAlignment: Int { max(2, trafficSelector?.alignment ?? 2) }

    init(parsing data: inout ByteBuffer) throws(MobilityParseError) {
        guard data.readableBytes >= 6,
              let fid: UInt16 = data.readInteger(), let pri: UInt16 = data.readInteger(),
              let _: UInt8 = data.readInteger(), let status: UInt8 = data.readInteger()
        else { throw .badOptionLength(type: MobilityOptionType.flowIdentification, length: data.readableBytes) }
        self.fid = fid
        self.priority = pri
        self.status = status
        while let type: UInt8 = data.readInteger() {
            if type == 0 { continue }
            guard let len: UInt8 = data.readInteger(), var sub = data.readSlice(length: Int(len)) else {
                throw .badSubOption(type: type, reason: "length past end of option")
            }
            switch type {
            case 1: continue
            case 2:
                guard bindingReferences == nil else { throw .badSubOption(type: 2, reason: "two BID references") }
                guard len % 2 == 0, len > 0 else { throw .badSubOption(type: 2, reason: "odd length \(len)") }
                var bids: [UInt16] = []
                while let b: UInt16 = sub.readInteger() { bids.append(b) }
                bindingReferences = bids
            case 3:
                guard trafficSelector == nil else { throw .badSubOption(type: 3, reason: "two traffic selectors") }
                guard let format: UInt8 = sub.readInteger(), let _: UInt8 = sub.readInteger() else {
                    throw .badSubOption(type: 3, reason: "shorter than format and reserved")
                }
                switch format {
                case 1: trafficSelector = .ipv4(try IPv4TrafficSelector(parsing: &sub))
                case 2: trafficSelector = .ipv6(try IPv6TrafficSelector(parsing: &sub))
                default: trafficSelector = .unsupported(format: format, data: sub.readBytes(length: sub.readableBytes) ?? [])
                }
                if case .unsupported = trafficSelector {} else if sub.readableBytes != 0 {
                    throw .badSubOption(type: 3, reason: "\(sub.readableBytes) octets after the selector fields")
                }
            default:
                continue
            }
        }
    }

    func write(to buffer: inout ByteBuffer) {
        let origin = buffer.writerIndex - 2
        buffer.writeInteger(fid)
        buffer.writeInteger(priority)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(status)
        if let ts = trafficSelector {
            buffer.writeInteger(UInt8(3))
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(UInt8(0))
            let start = buffer.writerIndex
            switch ts {
            case .ipv4(let s): buffer.writeInteger(UInt8(1)); buffer.writeInteger(UInt8(0)); s.write(to: &buffer)
            case .ipv6(let s): buffer.writeInteger(UInt8(2)); buffer.writeInteger(UInt8(0)); s.write(to: &buffer)
            case .unsupported(let f, let d): buffer.writeInteger(f); buffer.writeInteger(UInt8(0)); buffer.writeBytes(d)
            }
            buffer.setInteger(UInt8(truncatingIfNeeded: buffer.writerIndex - start), at: lengthIndex)
        }
        if let bids = bindingReferences {
            // Pad1s only: the PadN sub-option length is ambiguous in RFC 6089 (spec §8 point 4).
            while (buffer.writerIndex - origin) % 2 != 0 { buffer.writeInteger(UInt8(0)) }
            // A sub-option holds at most 127 BIDs (its Length is one octet).
            let written = bids.prefix(127)
            buffer.writeInteger(UInt8(2))
            buffer.writeInteger(UInt8(written.count * 2))
            for b in written { buffer.writeInteger(b) }
        }
    }
}

/// The header fields of one packet that flow policies and traffic selectors look at.
public struct FlowKey: Hashable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    /// Transport protocol after extension headers (IPv6 next header or IPv4 protocol).
    public var nextHeader: UInt8
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    public var trafficClass: UInt8
    public var flowLabel: UInt32

    public init(source: IPAddress, destination: IPAddress, nextHeader: UInt8, sourcePort: UInt16? = nil,
                destinationPort: UInt16? = nil, trafficClass: UInt8 = 0, flowLabel: UInt32 = 0) {
        self.source = source
        self.destination = destination
        self.nextHeader = nextHeader
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel
    }

    /// Reads the fields from an IPv6 or IPv4 packet; nil when too short to tell.
    public init?(packet: UnsafeRawBufferPointer) {
        guard packet.count >= 1 else { return nil }
        let version = packet[0] >> 4
        if version == 6 {
            guard packet.count >= 40 else { return nil }
            trafficClass = (packet[0] << 4) | (packet[1] >> 4)
            flowLabel = UInt32(packet[1] & 0x0F) << 16 | UInt32(packet[2]) << 8 | UInt32(packet[3])
            source = .v6(IPv6Address(octets: packet[8..<24])!)
            destination = .v6(IPv6Address(octets: packet[24..<40])!)
            var nh = packet[6]
            var offset = 40
            // Walk hop-by-hop, routing, destination options; a non-first fragment has no ports.
            var fragmentWithoutPorts = false
            while [0, 43, 60, 44].contains(nh), offset + 8 <= packet.count {
                if nh == 44 {
                    let fragOffset = (UInt16(packet[offset + 2]) << 8 | UInt16(packet[offset + 3])) >> 3
                    fragmentWithoutPorts = fragOffset != 0
                    nh = packet[offset]
                    offset += 8
                } else {
                    let next = packet[offset]
                    offset += (Int(packet[offset + 1]) + 1) * 8
                    nh = next
                }
            }
            nextHeader = nh
            if !fragmentWithoutPorts, [6, 17, 132].contains(nh), offset + 4 <= packet.count {
                sourcePort = UInt16(packet[offset]) << 8 | UInt16(packet[offset + 1])
                destinationPort = UInt16(packet[offset + 2]) << 8 | UInt16(packet[offset + 3])
            }
        } else if version == 4 {
            guard packet.count >= 20 else { return nil }
            trafficClass = packet[1]
            flowLabel = 0
            nextHeader = packet[9]
            source = .v4(IPv4Address(octets: packet[12..<16])!)
            destination = .v4(IPv4Address(octets: packet[16..<20])!)
            let ihl = Int(packet[0] & 0x0F) * 4
            let fragOffset = (UInt16(packet[6] & 0x1F) << 8) | UInt16(packet[7])
            if fragOffset == 0, [6, 17, 132].contains(nextHeader), ihl >= 20, ihl + 4 <= packet.count {
                sourcePort = UInt16(packet[ihl]) << 8 | UInt16(packet[ihl + 1])
                destinationPort = UInt16(packet[ihl + 2]) << 8 | UInt16(packet[ihl + 3])
            }
        } else {
            return nil
        }
    }
}
