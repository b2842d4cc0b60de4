// libFuzzer entry: RTP, RTCP and telephone-event parsing, writing, and the receive path
// (statistics and jitter buffer) fed with whatever parses.
import Timekeeping

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    fuzzRTPBuffer(bytes)
    if let p = try? RTPPacket(parsing: bytes) {
        let again = try? RTPPacket(parsing: p.bytes)
        precondition(again == p, "RTP round trip changed the packet")
        var stats = ReceptionStatistics(clockRate: 8000)
        var jb = JitterBuffer<[UInt8]>(clockRate: 8000, frameDuration: 160)
        // the same packet, then neighbours with shifted numbers
        for k in 0..<4 {
            var q = p
            q.sequenceNumber &+= UInt16(k * 7919 % 65536)
            q.timestamp &+= UInt32(k) &* 0x9E37_79B9
            stats.record(q, arrival: .seconds(Double(k) * 0.02))
            jb.insert(q.payload, timestamp: q.timestamp, arrival: .seconds(Double(k) * 0.02))
            _ = jb.pop()
        }
        _ = stats.reportBlock(now: .seconds(1))
        _ = try? TelephoneEvent(parsing: p.payload)
        var rx = TelephoneEventReceiver()
        _ = rx.receive(p)
    }
    if let packets = try? RTCPPacket.parseCompound(bytes) {
        let again = try? RTCPPacket.parseCompound(RTCPPacket.compound(packets))
        precondition(again != nil, "written RTCP does not parse")
    }
    var session = RTPSession(ssrc: 1, clockRate: 8000, cname: "fuzz", random: { 1 })
    _ = try? session.receive(bytes, now: .epoch)
    return 0
}
