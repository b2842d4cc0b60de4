import Timekeeping

/// One reception report block (RFC 3550 §6.4.1).
public struct RTCPReportBlock: Sendable, Hashable {
    public var ssrc: UInt32
    /// Fraction lost since the last report, in 1/256.
    public var fractionLost: UInt8
    /// Cumulative packets lost (24-bit signed).
    public var cumulativeLost: Int32
    public var highestSequence: UInt32
    /// Interarrival jitter in timestamp units.
    public var jitter: UInt32
    public var lastSR: UInt32
    public var delaySinceLastSR: UInt32

    public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, highestSequence: UInt32, jitter: UInt32,
                lastSR: UInt32 = 0, delaySinceLastSR: UInt32 = 0) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.highestSequence = highestSequence
        self.jitter = jitter
        self.lastSR = lastSR
        self.delaySinceLastSR = delaySinceLastSR
    }

    init(_ b: [UInt8], _ i: Int) {
        ssrc = be32(b, i)
        fractionLost = b[i + 4]
        var lost = Int32(b[i + 5]) << 16 | Int32(b[i + 6]) << 8 | Int32(b[i + 7])
        if lost & 0x80_0000 != 0 { lost -= 0x100_0000 }
        cumulativeLost = lost
        highestSequence = be32(b, i + 8)
        jitter = be32(b, i + 12)
        lastSR = be32(b, i + 16)
        delaySinceLastSR = be32(b, i + 20)
    }

    func write(to out: inout [UInt8]) {
        put32(&out, ssrc)
        out.append(fractionLost)
        let lost = UInt32(bitPattern: Swift.max(-0x80_0000, Swift.min(0x7F_FFFF, cumulativeLost))) & 0xFF_FFFF
        out.append(UInt8(lost >> 16)); out.append(UInt8((lost >> 8) & 0xFF)); out.append(UInt8(lost & 0xFF))
        put32(&out, highestSequence)
        put32(&out, jitter)
        put32(&out, lastSR)
        put32(&out, delaySinceLastSR)
    }
}

/// One RTCP packet of a compound packet (RFC 3550 §6.4–§6.6).
public enum RTCPPacket: Sendable, Hashable {
    case senderReport(ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32, reports: [RTCPReportBlock])
    case receiverReport(ssrc: UInt32, reports: [RTCPReportBlock])
    /// SDES chunks: SSRC and its items (type, text); CNAME is type 1.
    case sourceDescription([(ssrc: UInt32, items: [(type: UInt8, text: String)])])
    case goodbye(ssrcs: [UInt32], reason: String?)
    /// Any other packet type, kept as its octets after the common header.
    case other(type: UInt8, count: UInt8, body: [UInt8])

    public static func == (a: RTCPPacket, b: RTCPPacket) -> Bool { a.bytes == b.bytes }
    public func hash(into h: inout Hasher) { h.combine(bytes) }

    /// Parses a compound RTCP packet into its parts.
    public static func parseCompound(_ b: [UInt8]) throws(RTPParseError) -> [RTCPPacket] {
        var out: [RTCPPacket] = []
        var i = 0
        guard b.count >= 4 else { throw RTPParseError(.tooShort, "RTCP needs at least 4 octets") }
        while i < b.count {
            guard b.count - i >= 4 else { throw RTPParseError(.tooShort, "trailing \(b.count - i) octets") }
            guard b[i] >> 6 == 2 else { throw RTPParseError(.badVersion, "RTCP version \(b[i] >> 6)") }
            let count = b[i] & 0x1F
            let padding = b[i] & 0x20 != 0
            let type = b[i + 1]
            let length = (Int(be16(b, i + 2)) + 1) * 4
            guard i + length <= b.count else { throw RTPParseError(.badLength, "RTCP packet of \(length) octets overruns \(b.count - i)") }
            var body = Array(b[(i + 4)..<(i + length)])
            if padding {
                guard let p = body.last, p > 0, Int(p) <= body.count else { throw RTPParseError(.badPadding, "bad RTCP padding") }
                body.removeLast(Int(p))
            }
            out.append(try parseOne(type: type, count: count, body: body))
            i += length
        }
        return out
    }

    static func parseOne(type: UInt8, count: UInt8, body: [UInt8]) throws(RTPParseError) -> RTCPPacket {
        switch type {
        case 200:
            guard body.count >= 24 + 24 * Int(count) else { throw RTPParseError(.badLength, "SR too short for \(count) reports") }
            let ntp = UInt64(be32(body, 4)) << 32 | UInt64(be32(body, 8))
            return .senderReport(ssrc: be32(body, 0), ntpTimestamp: ntp, rtpTimestamp: be32(body, 12), packetCount: be32(body, 16),
                                 octetCount: be32(body, 20), reports: (0..<Int(count)).map { RTCPReportBlock(body, 24 + 24 * $0) })
        case 201:
            guard body.count >= 4 + 24 * Int(count) else { throw RTPParseError(.badLength, "RR too short for \(count) reports") }
            return .receiverReport(ssrc: be32(body, 0), reports: (0..<Int(count)).map { RTCPReportBlock(body, 4 + 24 * $0) })
        case 202:
            var chunks: [(ssrc: UInt32, items: [(type: UInt8, text: String)])] = []
            var i = 0
            for _ in 0..<count {
                guard i + 4 <= body.count else { throw RTPParseError(.badLength, "SDES chunk cut short") }
                let ssrc = be32(body, i)
                i += 4
                var items: [(type: UInt8, text: String)] = []
                while true {
                    guard i < body.count else { throw RTPParseError(.badLength, "SDES items not terminated") }
                    let t = body[i]
                    if t == 0 { i += 1; break }
                    guard i + 2 <= body.count, i + 2 + Int(body[i + 1]) <= body.count else { throw RTPParseError(.badLength, "SDES item overruns") }
                    let len = Int(body[i + 1])
                    items.append((t, String(decoding: body[(i + 2)..<(i + 2 + len)], as: UTF8.self)))
                    i += 2 + len
                }
                i = (i + 3) & ~3
                chunks.append((ssrc, items))
            }
            return .sourceDescription(chunks)
        case 203:
            guard body.count >= 4 * Int(count) else { throw RTPParseError(.badLength, "BYE too short") }
            let ssrcs = (0..<Int(count)).map { be32(body, 4 * $0) }
            var reason: String? = nil
            let r = 4 * Int(count)
            if r < body.count {
                let len = Int(body[r])
                guard r + 1 + len <= body.count else { throw RTPParseError(.badLength, "BYE reason overruns") }
                reason = String(decoding: body[(r + 1)..<(r + 1 + len)], as: UTF8.self)
            }
            return .goodbye(ssrcs: ssrcs, reason: reason)
        default:
            return .other(type: type, count: count, body: body)
        }
    }

    public func write(to out: inout [UInt8]) {
        var body: [UInt8] = []
        let type: UInt8
        let count: Int
        switch self {
        case .senderReport(let ssrc, let ntp, let ts, let pc, let oc, let reports):
            type = 200; count = reports.count
            put32(&body, ssrc); put32(&body, UInt32(ntp >> 32)); put32(&body, UInt32(ntp & 0xFFFF_FFFF))
            put32(&body, ts); put32(&body, pc); put32(&body, oc)
            for r in reports.prefix(31) { r.write(to: &body) }
        case .receiverReport(let ssrc, let reports):
            type = 201; count = reports.count
            put32(&body, ssrc)
            for r in reports.prefix(31) { r.write(to: &body) }
        case .sourceDescription(let chunks):
            type = 202; count = chunks.count
            for c in chunks.prefix(31) {
                put32(&body, c.ssrc)
                for item in c.items {
                    let text = Array(item.text.utf8.prefix(255))
                    body.append(item.type); body.append(UInt8(text.count)); body.append(contentsOf: text)
                }
                body.append(0)
                while body.count % 4 != 0 { body.append(0) }
            }
        case .goodbye(let ssrcs, let reason):
            type = 203; count = ssrcs.count
            for s in ssrcs.prefix(31) { put32(&body, s) }
            if let reason {
                let text = Array(reason.utf8.prefix(255))
                body.append(UInt8(text.count)); body.append(contentsOf: text)
                while body.count % 4 != 0 { body.append(0) }
            }
        case .other(let t, let c, let b):
            type = t; count = Int(c)
            body = b
            while body.count % 4 != 0 { body.append(0) }
        }
        out.append(0x80 | UInt8(Swift.min(count, 31)))
        out.append(type)
        put16(&out, UInt16(body.count / 4))
        out.append(contentsOf: body)
    }

    public var bytes: [UInt8] { var o: [UInt8] = []; write(to: &o); return o }

    public static func compound(_ packets: [RTCPPacket]) -> [UInt8] {
        var o: [UInt8] = []
        for p in packets { p.write(to: &o) }
        return o
    }
}

extension RTCPPacket {
    /// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
    public static let ntpUnixOffset: Int64 = 2_208_988_800

    /// The 64-bit NTP timestamp of a Unix-time `instant` (RFC 3550 §4): seconds since 1900 in the high
    /// 32 bits (modulo 2^32, as NTP eras wrap), the fraction of a second in the low 32 bits.
    public static func ntpTimestamp(_ instant: Instant) -> UInt64 {
        let ns = instant.nanoseconds
        // floor division, so an instant before 1970 still has a fraction in 0..<1 s
        var seconds = ns / 1_000_000_000, fraction = ns % 1_000_000_000
        if fraction < 0 { seconds -= 1; fraction += 1_000_000_000 }
        let ntpSeconds = UInt64(UInt32(truncatingIfNeeded: seconds &+ ntpUnixOffset))
        return ntpSeconds << 32 | (UInt64(fraction) << 32) / 1_000_000_000
    }
}
