import Timekeeping

/// What a receiver knows about one source (RFC 3550 §6.4.1 and Appendix A.1, A.3, A.8):
/// extended highest sequence number, expected and lost packets, interarrival jitter.
public struct ReceptionStatistics: Sendable, Hashable {
    public let clockRate: Int
    public private(set) var ssrc: UInt32?
    public private(set) var packetsReceived: UInt64 = 0
    public private(set) var octetsReceived: UInt64 = 0
    public private(set) var duplicatesOrLate: UInt64 = 0
    var baseSequence: UInt32 = 0
    var maxSequence: UInt16 = 0
    var cycles: UInt32 = 0
    var started = false
    var seen: Set<UInt32> = []
    /// Jitter in timestamp units, scaled by 16 as in RFC 3550 A.8.
    var jitterQ4: Double = 0
    /// Arrival and RTP timestamp of the previous packet: transit differences come from these (A.8).
    var lastArrival: Instant?
    var lastTimestamp: UInt32 = 0
    var expectedPrior: UInt64 = 0
    var receivedPrior: UInt64 = 0
    /// Middle 32 bits of the last SR's NTP time and when it arrived.
    public private(set) var lastSR: UInt32 = 0
    var lastSRArrival: Instant?

    public init(clockRate: Int) { self.clockRate = clockRate }

    /// Counts one packet that arrived at `arrival`.
    public mutating func record(_ p: RTPPacket, arrival: Instant) {
        if !started {
            started = true
            ssrc = p.ssrc
            baseSequence = UInt32(p.sequenceNumber)
            maxSequence = p.sequenceNumber
        } else {
            let delta = p.sequenceNumber &- maxSequence
            if delta != 0 && delta < 0x8000 {
                if p.sequenceNumber < maxSequence { cycles &+= 0x10000 }
                maxSequence = p.sequenceNumber
            }
        }
        let ext = extendedSequence(for: p.sequenceNumber)
        guard seen.insert(ext).inserted else { duplicatesOrLate += 1; return }
        // keep the last 2048 sequence numbers; UInt64 so a sender that wrapped the cycle count
        // up to 2^32 (three packets per wrap) cannot make `+ 2048` overflow
        if seen.count > 4096 { let high = UInt64(extendedHighest); seen = Set(seen.filter { UInt64($0) + 2048 > high }) }
        packetsReceived += 1
        octetsReceived += UInt64(p.payload.count)
        // jitter is the smoothed difference of transit times in timestamp units (A.8): the
        // difference of two transits is the arrival spacing minus the timestamp spacing, taken
        // from differences so an arrival far from the epoch loses no precision
        if let last = lastArrival {
            var d = (arrival - last).secondsValue * Double(clockRate) - (Double(p.timestamp) - Double(lastTimestamp))
            if d < 0 { d = -d }
            // ignore timestamp wrap jumps
            if d < Double(UInt32.max / 2) { jitterQ4 += d - jitterQ4 / 16 }
        }
        lastArrival = arrival
        lastTimestamp = p.timestamp
    }

    func extendedSequence(for seq: UInt16) -> UInt32 {
        // the cycle count that puts `seq` closest to the highest sequence seen
        let high = Int64(extendedHighest)
        var best = Int64(cycles | UInt32(seq))
        for c in [Int64(cycles) - 0x10000, Int64(cycles) + 0x10000] where c >= 0 {
            let cand = c | Int64(seq)
            if abs(cand - high) < abs(best - high) { best = cand }
        }
        return UInt32(truncatingIfNeeded: best)
    }

    /// Extended highest sequence number received.
    public var extendedHighest: UInt32 { cycles | UInt32(maxSequence) }

    public var expected: UInt64 { started ? UInt64(extendedHighest) - UInt64(baseSequence) + 1 : 0 }
    /// Cumulative number of packets lost (may be negative with duplicates, RFC 3550 §6.4.1).
    public var cumulativeLost: Int64 { Int64(expected) - Int64(packetsReceived) }
    /// Interarrival jitter in timestamp units.
    public var jitter: Double { jitterQ4 / 16 }
    /// Interarrival jitter in seconds.
    public var jitterSeconds: Double { jitter / Double(clockRate) }
    /// Lost fraction over the whole session.
    public var lossRatio: Double { expected == 0 ? 0 : Swift.max(0, Double(cumulativeLost) / Double(expected)) }

    /// Notes a sender report from this source for LSR/DLSR.
    public mutating func recordSenderReport(ntpTimestamp: UInt64, arrival: Instant) {
        lastSR = UInt32((ntpTimestamp >> 16) & 0xFFFF_FFFF)
        lastSRArrival = arrival
    }

    /// A report block for the interval since the previous one (A.3).
    public mutating func reportBlock(now: Instant) -> RTCPReportBlock? {
        guard let ssrc else { return nil }
        let expectedInterval = expected - expectedPrior
        let receivedInterval = packetsReceived - receivedPrior
        expectedPrior = expected
        receivedPrior = packetsReceived
        let lostInterval = Int64(expectedInterval) - Int64(receivedInterval)
        let fraction: UInt8 = expectedInterval == 0 || lostInterval <= 0 ? 0 : UInt8(Swift.min(255, (lostInterval << 8) / Int64(expectedInterval)))
        // a peer that sent one SR and then fell silent for 18 h would push this past 2^32: clamp
        let dlsr = lastSRArrival.map { UInt32(Swift.min(Double(UInt32.max), Swift.max(0, (now - $0).secondsValue * 65536))) } ?? 0
        return RTCPReportBlock(ssrc: ssrc, fractionLost: fraction, cumulativeLost: Int32(clamping: cumulativeLost),
                               highestSequence: extendedHighest, jitter: UInt32(Swift.min(Double(UInt32.max), Swift.max(0, jitter))), lastSR: lastSR, delaySinceLastSR: dlsr)
    }
}
