import NIOCore

/// Which destination addresses a node accepts in a live bit. Multicast, link-local and unspecified
/// are always refused; loopback only when `allowLoopback` (tests on one machine).
public struct DestinationPolicy: Hashable, Sendable {
    public var allowLoopback: Bool
    public init(allowLoopback: Bool = false) { self.allowLoopback = allowLoopback }
    public static let standard = DestinationPolicy()

    public func accepts(_ kind: AddressKind) -> Bool {
        kind == .unicast || (kind == .loopback && allowLoopback)
    }
}

/// Wire constants of the Xcast headers (docs/xcast.md §3).
public enum XcastWire {
    /// RFC 4727 experimental Routing Type (WIDE's choice).
    public static let routingType: UInt8 = 253
    /// The VERSION field.
    public static let version: UInt8 = 1
    /// Next Header values: Destination Options (the Ports header) and UDP (payload follows).
    public static let destinationOptions: UInt8 = 60
    public static let udp: UInt8 = 17
    /// The Ports option type (RFC 4727 experimental, top bits 010).
    public static let portsOption: UInt8 = 0x5E
    /// Most destinations one Routing header holds (Hdr Ext Len is 8 bits: 24 + 16 + 16·N ≤ 2048).
    public static let maxDestinations = 125
    /// Hop limit a sender puts on a new datagram.
    public static let defaultHopLimit: UInt8 = 16

    static func routingLength(_ n: Int) -> Int { 24 + XcastBitmap.wireLength(destinations: n) + 16 * n }
    static func portsLength(_ n: Int) -> Int { (4 + 2 * n + 7) / 8 * 8 }
    /// Octets of framing and headers in front of the payload for `n` destinations.
    public static func overhead(destinations n: Int) -> Int { XcastFraming.length + routingLength(n) + portsLength(n) }
}

/// A validated Xcast data datagram, read in place: no copy of the destination list or payload.
/// The relay's fast path parses with this, decides with `Brancher`, and writes per-next-hop
/// headers with `writeHeader(to:bitmap:hopLimit:)` in front of the untouched payload.
public struct XcastDatagram: Sendable {
    public let buffer: ByteBuffer
    public let hopLimit: UInt8
    public let anonymous: Bool
    public let stayXcast: Bool
    /// NBR_OF_DEST: destinations listed (live or not).
    public let count: Int
    public let bitmap: XcastBitmap
    public let channel: ChannelID
    let start: Int
    let routingStart: Int
    let routingLength: Int
    let portsStart: Int
    let portsLength: Int
    public let payloadStart: Int

    /// Validates every header field of the data datagram in `buffer`'s readable bytes.
    public init(parsing buffer: ByteBuffer, policy: DestinationPolicy = .standard) throws(XcastParseError) {
        self.buffer = buffer
        var reader = buffer
        start = buffer.readerIndex
        let framing = try XcastFraming(parsing: &reader)
        guard framing.type == .data else { throw .unknownMessageType(framing.type.rawValue) }
        guard framing.hopLimit > 0 else { throw .hopLimitExhausted }
        hopLimit = framing.hopLimit
        let r = reader.readerIndex
        routingStart = r
        guard reader.readableBytes >= 24 else { throw .truncated(needed: 24, available: reader.readableBytes) }
        let nextHeader = buffer.getInteger(at: r, as: UInt8.self)!
        let extLen = Int(buffer.getInteger(at: r + 1, as: UInt8.self)!)
        let type = buffer.getInteger(at: r + 2, as: UInt8.self)!
        let segmentsLeft = buffer.getInteger(at: r + 3, as: UInt8.self)!
        let flags = buffer.getInteger(at: r + 4, as: UInt8.self)!
        let n = Int(buffer.getInteger(at: r + 5, as: UInt8.self)! & 0x7F)
        guard type == XcastWire.routingType else { throw .unknownRoutingType(type) }
        guard segmentsLeft == 0 else { throw .segmentsLeftNotZero(segmentsLeft) }
        guard flags >> 4 == XcastWire.version else { throw .unknownVersion(flags >> 4) }
        guard flags & 0x02 == 0 else { throw .dscpListUnsupported }
        guard nextHeader == XcastWire.destinationOptions else { throw .missingPortsHeader(nextHeader: nextHeader) }
        guard n > 0 else { throw .zeroDestinations }
        guard n <= XcastWire.maxDestinations else { throw .tooManyDestinations(n) }
        anonymous = flags & 0x08 != 0
        stayXcast = flags & 0x04 != 0
        count = n
        let length = (extLen + 1) * 8
        let expected = XcastWire.routingLength(n)
        if length != expected {
            let extra = length - 24 - 16 * n
            if extra > XcastBitmap.wireLength(destinations: n), extra % 8 == 0 {
                throw .bitmapLongerThanList(bitmapBits: extra * 8, destinations: n)
            }
            throw .lengthMismatch(headerLength: length, expected: expected)
        }
        routingLength = length
        guard reader.readableBytes >= length else { throw .truncated(needed: length, available: reader.readableBytes) }
        channel = ChannelID(high: buffer.getInteger(at: r + 8, as: UInt64.self)!, low: buffer.getInteger(at: r + 16, as: UInt64.self)!)
        let w0 = buffer.getInteger(at: r + 24, as: UInt64.self)!
        let w1 = n > 64 ? buffer.getInteger(at: r + 32, as: UInt64.self)! : 0
        let bm = XcastBitmap(words: w0, w1)
        let wireBits = XcastBitmap.wireLength(destinations: n) * 8
        for i in n..<wireBits where bm[i] { throw .bitmapBitBeyondList(index: i, destinations: n) }
        guard !bm.isEmpty else { throw .noLiveDestinations }
        bitmap = bm
        // Ports header
        let p = r + length
        portsStart = p
        reader.moveReaderIndex(forwardBy: length)
        guard reader.readableBytes >= 4 else { throw .truncated(needed: 4, available: reader.readableBytes) }
        let portsNext = buffer.getInteger(at: p, as: UInt8.self)!
        let portsLen = (Int(buffer.getInteger(at: p + 1, as: UInt8.self)!) + 1) * 8
        let optType = buffer.getInteger(at: p + 2, as: UInt8.self)!
        let optLen = Int(buffer.getInteger(at: p + 3, as: UInt8.self)!)
        guard portsNext == XcastWire.udp else { throw .unexpectedPayloadHeader(portsNext) }
        guard optType == XcastWire.portsOption else { throw .missingPortsOption(type: optType) }
        guard optLen == 2 * n else { throw .portsCountMismatch(ports: optLen / 2, destinations: n) }
        guard portsLen == XcastWire.portsLength(n) else { throw .portsLengthMismatch(headerLength: portsLen, expected: XcastWire.portsLength(n)) }
        guard reader.readableBytes >= portsLen else { throw .truncated(needed: portsLen, available: reader.readableBytes) }
        portsLength = portsLen
        let padStart = p + 4 + 2 * n
        let padCount = p + portsLen - padStart
        if padCount == 1 {
            guard buffer.getInteger(at: padStart, as: UInt8.self)! == 0 else { throw .badPadding(offset: padStart - start) }
        } else if padCount >= 2 {
            guard buffer.getInteger(at: padStart, as: UInt8.self)! == 1,
                  Int(buffer.getInteger(at: padStart + 1, as: UInt8.self)!) == padCount - 2 else { throw .badPadding(offset: padStart - start) }
            for i in (padStart + 2)..<(p + portsLen) where buffer.getInteger(at: i, as: UInt8.self)! != 0 {
                throw .badPadding(offset: i - start)
            }
        }
        payloadStart = p + portsLen
        // Checksum over both headers
        let received = buffer.getInteger(at: r + 6, as: UInt16.self)!
        let computed = XcastChecksum.compute(buffer, start: r, count: length + portsLen, fieldIndex: r + 6)
        guard received == computed else { throw .badChecksum(received: received, computed: computed) }
        // Live destinations: allowed kind and a port
        for i in 0..<n where bm[i] {
            let a = IPv6Address(high: buffer.getInteger(at: r + 24 + wireBits / 8 + 16 * i, as: UInt64.self)!,
                                low: buffer.getInteger(at: r + 32 + wireBits / 8 + 16 * i, as: UInt64.self)!)
            guard policy.accepts(a.kind) else { throw .forbiddenDestination(index: i, kind: a.kind) }
            guard buffer.getInteger(at: p + 4 + 2 * i, as: UInt16.self)! != 0 else { throw .zeroPort(index: i) }
        }
    }

    var addressesStart: Int { routingStart + 24 + XcastBitmap.wireLength(destinations: count) }

    public func address(_ i: Int) -> IPv6Address {
        let at = addressesStart + 16 * i
        return IPv6Address(high: buffer.getInteger(at: at, as: UInt64.self)!, low: buffer.getInteger(at: at + 8, as: UInt64.self)!)
    }

    public func port(_ i: Int) -> UInt16 { buffer.getInteger(at: portsStart + 4 + 2 * i, as: UInt16.self)! }

    public func destination(_ i: Int) -> Endpoint { Endpoint(address: address(i), port: port(i)) }

    /// The payload (RTP or RTCP) as a slice sharing the datagram's storage.
    public var payload: ByteBuffer { buffer.getSlice(at: payloadStart, length: buffer.writerIndex - payloadStart)! }

    /// Octets of framing and headers in front of the payload.
    public var headerLength: Int { payloadStart - start }

    /// Writes this datagram's framing and headers with `bitmap` as the live set and `hopLimit`,
    /// zeroing the addresses of dead bits when A is set, and a fresh checksum. The payload is not written.
    public func writeHeader(to out: inout ByteBuffer, bitmap: XcastBitmap, hopLimit: UInt8) {
        XcastFraming(type: .data, hopLimit: hopLimit).write(to: &out)
        let r = out.writerIndex
        var headers = buffer.getSlice(at: routingStart, length: routingLength + portsLength)!
        out.writeBuffer(&headers)
        out.setInteger(bitmap.words.0, at: r + 24)
        if count > 64 { out.setInteger(bitmap.words.1, at: r + 32) }
        if anonymous {
            let a = r + 24 + XcastBitmap.wireLength(destinations: count)
            for i in 0..<count where !bitmap[i] {
                out.setInteger(UInt64(0), at: a + 16 * i)
                out.setInteger(UInt64(0), at: a + 16 * i + 8)
            }
        }
        out.setInteger(XcastChecksum.compute(out, start: r, count: routingLength + portsLength, fieldIndex: r + 6), at: r + 6)
    }
}

/// An Xcast data header as a value, for senders and tests: the destination list with its ports,
/// which of them are live, flags, channel and hop limit. `write(to:)` lays out the framing,
/// Routing header and Ports header (checksum computed); the payload follows.
public struct XcastHeader: Hashable, Sendable {
    public var hopLimit: UInt8
    public var anonymous: Bool
    public var stayXcast: Bool
    public var channel: ChannelID
    public var destinations: [Endpoint]
    public var bitmap: XcastBitmap

    public init(channel: ChannelID, destinations: [Endpoint], hopLimit: UInt8 = XcastWire.defaultHopLimit,
                anonymous: Bool = false, stayXcast: Bool = false, bitmap: XcastBitmap? = nil) {
        precondition((1...XcastWire.maxDestinations).contains(destinations.count), "1…125 destinations per header")
        self.channel = channel
        self.destinations = destinations
        self.hopLimit = hopLimit
        self.anonymous = anonymous
        self.stayXcast = stayXcast
        self.bitmap = bitmap ?? XcastBitmap(allOf: destinations.count)
    }

    /// Reads the header of a data datagram; `buffer`'s reader index ends at the payload.
    public init(parsing buffer: inout ByteBuffer, policy: DestinationPolicy = .standard) throws(XcastParseError) {
        let d = try XcastDatagram(parsing: buffer, policy: policy)
        hopLimit = d.hopLimit
        anonymous = d.anonymous
        stayXcast = d.stayXcast
        channel = d.channel
        destinations = (0..<d.count).map { d.destination($0) }
        bitmap = d.bitmap
        buffer.moveReaderIndex(to: d.payloadStart)
    }

    public func write(to out: inout ByteBuffer) {
        let n = destinations.count
        XcastFraming(type: .data, hopLimit: hopLimit).write(to: &out)
        let r = out.writerIndex
        out.writeInteger(XcastWire.destinationOptions)
        out.writeInteger(UInt8(XcastWire.routingLength(n) / 8 - 1))
        out.writeInteger(XcastWire.routingType)
        out.writeInteger(UInt8(0))
        out.writeInteger(XcastWire.version << 4 | (anonymous ? 0x08 : 0) | (stayXcast ? 0x04 : 0))
        out.writeInteger(UInt8(n))
        out.writeInteger(UInt16(0))
        out.writeInteger(channel.high)
        out.writeInteger(channel.low)
        out.writeInteger(bitmap.words.0)
        if n > 64 { out.writeInteger(bitmap.words.1) }
        for (i, d) in destinations.enumerated() {
            let hide = anonymous && !bitmap[i]
            out.writeInteger(hide ? 0 : d.address.high)
            out.writeInteger(hide ? 0 : d.address.low)
        }
        // Ports header
        out.writeInteger(XcastWire.udp)
        out.writeInteger(UInt8(XcastWire.portsLength(n) / 8 - 1))
        out.writeInteger(XcastWire.portsOption)
        out.writeInteger(UInt8(2 * n))
        for d in destinations { out.writeInteger(d.port) }
        let pad = XcastWire.portsLength(n) - 4 - 2 * n
        if pad == 1 { out.writeInteger(UInt8(0)) } else if pad >= 2 {
            out.writeInteger(UInt8(1))
            out.writeInteger(UInt8(pad - 2))
            out.writeRepeatingByte(0, count: pad - 2)
        }
        let total = XcastWire.routingLength(n) + XcastWire.portsLength(n)
        out.setInteger(XcastChecksum.compute(out, start: r, count: total, fieldIndex: r + 6), at: r + 6)
    }

    /// Splits a member list into the fewest headers' worth of destinations (at most `perPacket` each).
    public static func groups(_ destinations: [Endpoint], perPacket: Int = XcastWire.maxDestinations) -> [ArraySlice<Endpoint>] {
        let k = Swift.max(1, Swift.min(perPacket, XcastWire.maxDestinations))
        return stride(from: 0, to: destinations.count, by: k).map { destinations[$0..<Swift.min($0 + k, destinations.count)] }
    }
}
