import Testing
@testable import RTP
import Timekeeping

/// Packets a third party or a hostile peer can send (issue 14): none may crash the
/// receiver, grow its memory without bound or get into the call.
@Suite struct HostileRTPTests {
    @Test func sequenceCyclesUpTo2To32DoNotOverflow() {
        // three packets per wrap: 65536 wraps take the cycle count to 2^32, where `seq + 2048`
        // once overflowed (a remote crash in seconds at a few hundred thousand packets)
        var stats = ReceptionStatistics(clockRate: 8000)
        var t = 0.0
        for _ in 0..<65_535 {
            for seq: UInt16 in [0xFFF0, 0x0005, 0x7FFF] {
                stats.record(RTPPacket(payloadType: 0, sequenceNumber: seq, timestamp: 0, ssrc: 1, payload: []), arrival: .seconds(t))
                t += 0.001
            }
        }
        // near the top of the extended range, with more than 4096 remembered numbers
        for seq in stride(from: 0xF000, through: 0xFFFF, by: 1) {
            stats.record(RTPPacket(payloadType: 0, sequenceNumber: UInt16(seq), timestamp: 0, ssrc: 1, payload: []), arrival: .seconds(t))
        }
        #expect(stats.packetsReceived > 0)
    }

    @Test func delaySinceAnOldSenderReportIsClamped() {
        var stats = ReceptionStatistics(clockRate: 8000)
        stats.record(RTPPacket(payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 1, payload: []), arrival: .seconds(0))
        stats.recordSenderReport(ntpTimestamp: 1 << 40, arrival: .seconds(0))
        // one SR, then 20 hours without another: 72000 s * 65536 is over 2^32
        #expect(stats.reportBlock(now: .seconds(72_000))?.delaySinceLastSR == UInt32.max)
    }

    @Test func jitterBufferHoldsAtMostItsCapacity() {
        var jb = JitterBuffer<[UInt8]>(clockRate: 8000, frameDuration: 160, capacity: 50)
        for i in 0..<100_000 {
            jb.insert([1], timestamp: UInt32(i) &* 160, arrival: .seconds(0))
        }
        #expect(jb.depth == 50)
        #expect(jb.statistics.overflowed > 0)
    }

    @Test func framesOffThePlayoutGridDoNotLinger() {
        // a steady stream plus, from the same sender, frames 7 units off the grid: those were
        // never played and stayed in the buffer for good (a leak, and now they would fill its capacity)
        var jb = JitterBuffer<[UInt8]>(clockRate: 8000, frameDuration: 160, capacity: 10_000)
        for i in 0..<300 {
            jb.insert([1], timestamp: UInt32(i * 160), arrival: .seconds(Double(i) * 0.02))
            jb.insert([2], timestamp: UInt32(i * 160 + 7), arrival: .seconds(Double(i) * 0.02))
            _ = jb.pop()
        }
        #expect(jb.depth < 20, "\(jb.depth) frames held")
    }

    @Test func sourcesAreBounded() throws {
        var s = RTPSession(ssrc: 9, clockRate: 8000, cname: "x")
        for ssrc in UInt32(0)..<10_000 {
            _ = try s.receive(RTPPacket(payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: ssrc, payload: [0]).bytes, now: .seconds(0))
        }
        #expect(s.sources.count == RTPSession.maximumSources)
    }

    @Test func telephoneEventsWithZeroOrHugePacketTimeEnd() {
        // packetMs 0 once looped forever; a huge one overflowed `clockRate * packetMs`
        for ms in [0, -20, 600_000_000, Int.max] {
            let p = telephoneEventPayloads(digit: "1", clockRate: 8000, durationMs: 120, packetMs: ms)
            #expect(!p.isEmpty && p.count < 20)
        }
        #expect(telephoneEventPayloads(digit: "1", clockRate: Int.max, durationMs: Int.max, packetMs: 20).count < 500)
    }

    @Test func guardAcceptsOnlyTheNegotiatedAddress() {
        var g = RTPSourceGuard(host: "192.0.2.7", port: 5000)
        #expect(g.admit(host: "198.51.100.9", port: 5000, ssrc: 1, now: .seconds(0)) == .wrongAddress)
        #expect(g.admit(host: "192.0.2.7", port: 5002, ssrc: 1, now: .seconds(0)) == .wrongAddress)
        #expect(g.admit(host: "192.0.2.7", port: 5000, ssrc: 1, now: .seconds(0)) == .accept)
        #expect(g.admit(host: "::ffff:192.0.2.7", port: 5000, ssrc: 1, now: .seconds(0.02)) == .accept)
        let fromPeer = g.admitRTCP(host: "192.0.2.7")
        let fromOther = g.admitRTCP(host: "198.51.100.9")
        #expect(fromPeer)
        #expect(!fromOther)
        #expect(g.droppedWrongAddress == 3)
    }

    @Test func ssrcIsLockedUntilTheOldOneFallsSilent() {
        var g = RTPSourceGuard(host: "2001:db8::7", port: 5000, ssrcTimeout: .seconds(2))
        #expect(g.admit(host: "2001:DB8::7", port: 5000, ssrc: 1, now: .seconds(0)) == .accept)
        #expect(g.admit(host: "2001:db8::7", port: 5000, ssrc: 2, now: .seconds(0.5)) == .foreignSSRC)
        #expect(g.admit(host: "2001:db8::7", port: 5000, ssrc: 1, now: .seconds(1.0)) == .accept)
        #expect(g.admit(host: "2001:db8::7", port: 5000, ssrc: 2, now: .seconds(2.9)) == .foreignSSRC)
        // the locked source has been silent for 2 s: the new one takes over, counted
        #expect(g.admit(host: "2001:db8::7", port: 5000, ssrc: 2, now: .seconds(3.1)) == .accept)
        #expect(g.lockedSSRC == 2)
        #expect(g.ssrcChanges == 1)
        #expect(g.droppedForeignSSRC == 2)
        #expect(g.admit(host: "2001:db8::7", port: 5000, ssrc: 1, now: .seconds(3.2)) == .foreignSSRC)
    }
}
