// libFuzzer entry: SDP → offer/answer → media set-up. Every value a peer's description can
// choose (ptime, maxptime, rtpmap rates and channels, payload types, fmtp mode= and
// maxplaybackrate, rtcp port) flows into MediaPlan, the jitter buffer, the packetizer's
// timestamps and the telephone-event generator, both as answerer and as offerer.
import Timekeeping

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let sdp = try? SessionDescription(parsing: bytes) else { return 0 }
    let ours: [AudioFormat] = [.opus, .ilbc(mode: bytes.count % 2 == 0 ? 20 : 30), .pcmu, .pcma, .telephoneEvent]
    var negotiated: [NegotiatedAudio] = []
    // as answerer, in both codec orders
    for order in CodecOrder.allCases {
        if let (answer, n) = try? OfferAnswer.answer(sdp, supported: ours, address: "::1", port: 4000, sessionID: "1", order: order) {
            precondition((try? SessionDescription(parsing: answer.text)) != nil, "our answer does not parse")
            negotiated.append(n)
        }
    }
    // as offerer: the input is the answer to our offer
    let offer = OfferAnswer.offer(formats: ours, address: "::1", port: 4000, sessionID: "1")
    if let n = try? OfferAnswer.negotiated(offer: offer, answer: sdp) { negotiated.append(n) }
    for n in negotiated {
        precondition((1...65535).contains(n.remoteRTCPPort) || n.remotePort == 0, "RTCP port \(n.remoteRTCPPort)")
        for rate in [8000, 16000, 48000] {
            guard let plan = try? MediaPlan(n, opusRate: rate) else { continue }
            precondition(PacketTime.range.contains(plan.frameMs) || plan.frameMs == 30, "frame \(plan.frameMs) ms")
            precondition(plan.timestampsPerFrame > 0 && plan.samplesPerFrame > 0)
            // the jitter buffer and packetizer as CallMedia builds them, fed from the input
            var jb = JitterBuffer<[UInt8]>(clockRate: plan.rtpClockRate, frameDuration: plan.timestampsPerFrame,
                                           capacity: plan.jitterCapacity(maximumDelay: 0.5))
            var session = RTPSession(ssrc: 1, clockRate: plan.rtpClockRate, cname: "fuzz")
            var guardian = RTPSourceGuard(host: n.remoteAddress, port: n.remotePort)
            var offset: UInt32 = 0
            for (i, chunk) in stride(from: 0, to: bytes.count, by: 7).enumerated() {
                let ts = UInt32(bytes[chunk]) &* plan.timestampsPerFrame &+ offset
                _ = guardian.admit(host: n.remoteAddress, port: n.remotePort, ssrc: UInt32(bytes[chunk] & 3), now: .seconds(Double(i) * 0.02))
                jb.insert([bytes[chunk]], timestamp: ts, arrival: .seconds(Double(i) * 0.02))
                if i % 2 == 0 { _ = jb.pop() }
                let p = session.makePacket(payloadType: plan.payloadType, payload: [1], sampleOffset: offset, now: .seconds(Double(i) * 0.02))
                _ = try? session.receive(p.bytes, now: .seconds(Double(i) * 0.02))
                offset &+= plan.timestampsPerFrame
                if i > 64 { break }
            }
            precondition(jb.depth <= jb.capacity)
            if plan.telephoneEventPayloadType != nil {
                let events = telephoneEventPayloads(digit: "5", clockRate: 8000, durationMs: 120, packetMs: plan.eventPacketMs)
                precondition(!events.isEmpty && events.count < 100)
            }
        }
    }
    return 0
}
