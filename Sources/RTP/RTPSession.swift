import Timekeeping

/// One RTP session endpoint (RFC 3550): our sending source, the remote sources we hear,
/// and RTCP reports at the interval of §6.3 (simplified: 5 s minimum, randomised).
///
/// Sans-I/O: `makePacket` stamps outgoing payloads, `receive` takes RTP or RTCP octets,
/// `rtcpDue(now:)` says when to send the compound report `makeReport(now:wallClock:)` builds.
/// Every `now` is the caller's injected clock (`InstantClock`).
public struct RTPSession: Sendable {
    public let ssrc: UInt32
    public let clockRate: Int
    public var cname: String
    public private(set) var sequenceNumber: UInt16
    public private(set) var timestampBase: UInt32
    public private(set) var packetsSent: UInt32 = 0
    public private(set) var octetsSent: UInt32 = 0
    var lastRTPTimestamp: UInt32 = 0
    var lastSendTime: Instant?
    /// Most remote sources tracked; packets from further SSRCs are not counted.
    public static let maximumSources = 16
    /// Receivers per remote SSRC.
    public private(set) var sources: [UInt32: ReceptionStatistics] = [:]
    /// What the far end reports about our stream.
    public private(set) var remoteReports: [RTCPReportBlock] = []
    public private(set) var remoteGoodbye = false
    var nextReportAt: Instant?
    /// The first report goes out within this interval (scaled by `random`), later ones every `reportInterval` (scaled).
    public static let initialReportInterval: Duration = .milliseconds(2500)
    public static let reportInterval: Duration = .seconds(5)
    /// A factor around 1 that spreads the report intervals (RFC 3550 §6.3.1).
    var random: @Sendable () -> Double

    public init(ssrc: UInt32, clockRate: Int, cname: String, initialSequence: UInt16 = 0, initialTimestamp: UInt32 = 0,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0.5...1.5) }) {
        self.ssrc = ssrc
        self.clockRate = clockRate
        self.cname = cname
        self.sequenceNumber = initialSequence
        self.timestampBase = initialTimestamp
        self.random = random
    }

    /// The next outgoing packet for `payload` whose first sample is `sampleOffset` samples into the stream.
    public mutating func makePacket(payloadType: UInt8, payload: [UInt8], sampleOffset: UInt32, marker: Bool = false, now: Instant) -> RTPPacket {
        let ts = timestampBase &+ sampleOffset
        let p = RTPPacket(payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: ts, ssrc: ssrc, marker: marker, payload: payload)
        sequenceNumber &+= 1
        packetsSent &+= 1
        octetsSent &+= UInt32(payload.count)
        lastRTPTimestamp = ts
        lastSendTime = now
        return p
    }

    public enum Received: Sendable {
        case rtp(RTPPacket)
        case rtcp([RTCPPacket])
    }

    /// Takes octets from the network (RTP or RTCP).
    public mutating func receive(_ bytes: [UInt8], now: Instant, isRTCP: Bool? = nil) throws(RTPParseError) -> Received {
        if isRTCP ?? RTPPacket.looksLikeRTCP(bytes) {
            let packets = try RTCPPacket.parseCompound(bytes)
            for p in packets {
                switch p {
                case .senderReport(let s, let ntp, _, _, _, let reports):
                    if sources[s] != nil || sources.count < RTPSession.maximumSources {
                        sources[s, default: ReceptionStatistics(clockRate: clockRate)].recordSenderReport(ntpTimestamp: ntp, arrival: now)
                    }
                    remoteReports += reports.filter { $0.ssrc == ssrc }
                case .receiverReport(_, let reports):
                    remoteReports += reports.filter { $0.ssrc == ssrc }
                case .goodbye:
                    remoteGoodbye = true
                default: break
                }
            }
            if remoteReports.count > 64 { remoteReports.removeFirst(remoteReports.count - 64) }
            return .rtcp(packets)
        }
        let p = try RTPPacket(parsing: bytes)
        // bounded: a flood of invented SSRCs must not grow the table (RFC 3550 §8.2)
        if sources[p.ssrc] != nil || sources.count < RTPSession.maximumSources {
            sources[p.ssrc, default: ReceptionStatistics(clockRate: clockRate)].record(p, arrival: now)
        }
        return .rtp(p)
    }

    /// True when an RTCP report should go out now.
    public mutating func rtcpDue(now: Instant) -> Bool {
        guard let at = nextReportAt else { nextReportAt = now + scaled(RTPSession.initialReportInterval); return false }
        return now >= at
    }

    /// `interval` times the random factor (saturating: the factor is injected).
    func scaled(_ interval: Duration) -> Duration { .saturatingSeconds(interval.secondsValue * random()) }

    /// SR (if we sent since the last report) or RR, plus SDES CNAME; `goodbye` adds BYE.
    /// `wallClock` (Unix time) stamps the SR's NTP timestamp; pass the same clock's `now`.
    public mutating func makeReport(now: Instant, wallClock: Instant, goodbye: Bool = false) -> [UInt8] {
        nextReportAt = now + scaled(RTPSession.reportInterval)
        var blocks: [RTCPReportBlock] = []
        for k in sources.keys.sorted() {
            if let b = sources[k]?.reportBlock(now: now) { blocks.append(b) }
        }
        var packets: [RTCPPacket] = []
        if packetsSent > 0 {
            let ntp = RTCPPacket.ntpTimestamp(wallClock)
            // the RTP timestamp that corresponds to `now`: the last one sent plus the time since
            let elapsed = lastSendTime.map { (now - $0).secondsValue } ?? 0
            let units = (elapsed * Double(clockRate)).rounded(.towardZero)
            let ts = lastRTPTimestamp &+ UInt32(truncatingIfNeeded: Int64(exactly: units) ?? 0)
            packets.append(.senderReport(ssrc: ssrc, ntpTimestamp: ntp, rtpTimestamp: ts, packetCount: packetsSent, octetCount: octetsSent, reports: blocks))
        } else {
            packets.append(.receiverReport(ssrc: ssrc, reports: blocks))
        }
        packets.append(.sourceDescription([(ssrc, [(1, cname)])]))
        if goodbye { packets.append(.goodbye(ssrcs: [ssrc], reason: nil)) }
        return RTCPPacket.compound(packets)
    }
}
