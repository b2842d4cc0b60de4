import Testing
@testable import SDP

/// Values a peer's SDP may hold that once trapped or allocated without bound (issue 14):
/// each is clamped or ignored by negotiation, before any codec or buffer exists.
@Suite struct HostileSDPTests {
    static func offer(_ mLine: String, _ attributes: [String]) -> SessionDescription {
        let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n\(mLine)\r\n"
            + attributes.map { "a=\($0)\r\n" }.joined()
        return try! SessionDescription(parsing: text)
    }
    static let ours: [AudioFormat] = [.opus, .ilbc(), .pcmu, .pcma, .telephoneEvent]

    func answer(_ o: SessionDescription, order: CodecOrder = .offerer) throws -> (SessionDescription, NegotiatedAudio) {
        try OfferAnswer.answer(o, supported: Self.ours, address: "192.0.2.1", port: 4000, sessionID: "1", order: order)
    }

    @Test(arguments: [("600000000", 120), ("99999999999999999999999", 120), ("121", 120), ("0", 10), ("5", 10),
                      ("25", 20), ("30.5", 30), ("-20", 20), ("abc", 20)])
    func ptimeIsClamped(written: String, used: Int) throws {
        let (sdp, n) = try answer(Self.offer("m=audio 5000 RTP/AVP 0 101", ["rtpmap:101 telephone-event/8000", "ptime:\(written)"]))
        #expect(n.ptime == used)
        #expect(sdp.media[0].ptime == used)
        let plan = try MediaPlan(n)
        #expect(plan.frameMs == used)
        #expect(plan.timestampsPerFrame == UInt32(8 * used))
        #expect(plan.samplesPerFrame == 8 * used)
        #expect(plan.eventPacketMs == used)
        #expect(plan.telephoneEventPayloadType == 101)
    }

    @Test func maxptimeAndOpusFrameSizes() throws {
        let (_, n) = try answer(Self.offer("m=audio 5000 RTP/AVP 111", ["rtpmap:111 opus/48000/2", "ptime:100", "maxptime:50"]))
        #expect(n.ptime == 40)   // min(100, 50) → 50 → the largest Opus frame ≤ 50
        #expect(try MediaPlan(n).timestampsPerFrame == 48 * 40)
        let (_, big) = try answer(Self.offer("m=audio 5000 RTP/AVP 111", ["rtpmap:111 opus/48000/2", "ptime:600000000"]))
        #expect(big.ptime == 60)
    }

    @Test func payloadTypesAbove127AreIgnored() throws {
        // once: UInt8(1000) trapped when the first packet was stamped
        #expect(throws: OfferAnswerError.self) { try answer(Self.offer("m=audio 5000 RTP/AVP 1000", ["rtpmap:1000 PCMU/8000"])) }
        let (_, n) = try answer(Self.offer("m=audio 5000 RTP/AVP 300 8 4000", ["rtpmap:300 opus/48000/2", "rtpmap:4000 telephone-event/8000"]))
        #expect(n.format.payloadType == 8)
        #expect(n.telephoneEventPayloadType == nil)
    }

    @Test func absurdClockRatesAndChannelsNameNoFormat() throws {
        let m = Self.offer("m=audio 5000 RTP/AVP 96 97 98", ["rtpmap:96 PCMU/9223372036854775807", "rtpmap:97 PCMA/0", "rtpmap:98 opus/48000/100000"]).media[0]
        #expect(m.rtpmap(96) == nil)
        #expect(m.rtpmap(97) == nil)
        #expect(m.rtpmap(98) == nil)
    }

    @Test func rtcpPortOutOfRangeFallsBack() throws {
        let (_, n) = try answer(Self.offer("m=audio 5000 RTP/AVP 0", ["rtcp:99999999"]))
        #expect(n.remoteRTCPPort == 5001)
        let (_, top) = try answer(Self.offer("m=audio 65535 RTP/AVP 0", []))
        #expect(top.remoteRTCPPort == 65535)
    }

    @Test func fmtpValuesAreBounded() throws {
        let (_, ilbc) = try answer(Self.offer("m=audio 5000 RTP/AVP 97", ["rtpmap:97 iLBC/8000", "fmtp:97 mode=99999999999999999999"]))
        #expect(try MediaPlan(ilbc).ilbcMode == 30)
        let (_, opus) = try answer(Self.offer("m=audio 5000 RTP/AVP 111", ["rtpmap:111 opus/48000/2", "fmtp:111 maxplaybackrate=-7;sprop-maxcapturerate=99999999999999999999"]))
        #expect(try MediaPlan(opus).codecRate == 8000)
        let (_, wide) = try answer(Self.offer("m=audio 5000 RTP/AVP 111", ["rtpmap:111 opus/48000/2", "fmtp:111 maxplaybackrate=99999999999999999999"]))
        #expect(try MediaPlan(wide).codecRate == 48000)
    }

    @Test func handBuiltNegotiationIsClampedToo() throws {
        let n = NegotiatedAudio(format: .pcmu, remoteFmtp: nil, telephoneEventPayloadType: 500, remoteAddress: "192.0.2.7",
                                remotePort: 5000, remoteRTCPPort: 5001, ptime: Int.max, direction: .sendrecv)
        let plan = try MediaPlan(n)
        #expect(plan.frameMs == 120)
        #expect(plan.telephoneEventPayloadType == nil)
    }

    // Issue 13 item 12: the answer follows the offerer's order unless configured otherwise.
    @Test func answerFollowsOffererOrderByDefault() throws {
        let o = Self.offer("m=audio 5000 RTP/AVP 0 97 111", ["rtpmap:97 iLBC/8000", "rtpmap:111 opus/48000/2"])
        #expect(try answer(o).1.format.encoding == "PCMU")
        #expect(try answer(o, order: .local).1.format.encoding == "opus")
        let ilbcFirst = Self.offer("m=audio 5000 RTP/AVP 97 0", ["rtpmap:97 iLBC/8000"])
        #expect(try answer(ilbcFirst).1.format.encoding == "iLBC")
        #expect(try answer(ilbcFirst, order: .local).1.format.encoding == "iLBC")   // opus is not offered
    }
}
