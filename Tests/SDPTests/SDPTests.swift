import Testing
import Foundation
import TestSupport
@testable import SDP

/// SDP body of a file holding a SIP message (everything after the first empty line).
func sdpBody(_ bytes: [UInt8]) -> [UInt8] {
    for i in 0..<(bytes.count - 3) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
        return Array(bytes[(i + 4)...])
    }
    for i in 0..<(bytes.count - 1) where bytes[i] == 10 && bytes[i + 1] == 10 { return Array(bytes[(i + 2)...]) }
    return []
}

func sharedBytes(_ path: String) throws -> [UInt8] {
    let shared = try SharedFolder.root()
    return [UInt8](try Data(contentsOf: shared.appendingPathComponent(path)))
}

@Suite struct SDPParsingTests {
    @Test func ipv6WithoutBrackets() throws {
        let sdp = try SessionDescription(parsing: sdpBody(try sharedBytes("vectors/sip-torture/ipv6-in-sdp.dat")))
        #expect(sdp.origin.connection == SDPConnection(addressType: "IP6", address: "2001:db8::20"))
        #expect(sdp.connection?.address == "2001:db8::20")
        #expect(sdp.connection?.addressType == "IP6")
    }

    @Test func perStreamFamilies() throws {
        let sdp = try SessionDescription(parsing: sdpBody(try sharedBytes("vectors/sip-torture/mult-ip-in-sdp.dat")))
        #expect(sdp.connection == nil)
        #expect(sdp.media.count == 2)
        #expect(sdp.connection(for: sdp.media[0]) == SDPConnection(addressType: "IP4", address: "192.0.2.1"))
        #expect(sdp.connection(for: sdp.media[1]) == SDPConnection(addressType: "IP6", address: "2001:db8::1"))
    }

    @Test func baresipOffer() throws {
        let sdp = try SessionDescription(parsing: sdpBody(try sharedBytes("peers/sip/captures/baresip-invite.txt")))
        let m = try #require(sdp.media.first)
        #expect(m.port == 30016)
        #expect(m.formats == ["96", "0", "8", "101"])
        #expect(m.rtpmap(96) == SDPRTPMap(encoding: "opus", clockRate: 48000, channels: 2))
        #expect(m.rtpmap(0)?.encoding == "PCMU")
        #expect(m.fmtp(101) == "0-15")
        #expect(m.ptime == 20)
        #expect(m.direction == .sendrecv)
        // round trip through our writer
        #expect(try SessionDescription(parsing: sdp.text) == sdp)
    }

    @Test func linphoneStaticTypesWithoutRtpmap() throws {
        let sdp = try SessionDescription(parsing: sdpBody(try sharedBytes("peers/sip/captures/linphone-invite.txt")))
        let m = try #require(sdp.media.first)
        #expect(m.rtpmap(8)?.encoding == "PCMA")
        #expect(m.rtpmap(18)?.encoding == "G729")
    }

    @Test(arguments: ["", "x", "v=1\r\n", "v=0\r\ns=-\r\n", "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nm=audio port RTP/AVP 0\r\n",
                      "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP5 x\r\n", "v=0\r\no=- 1 x IN IP4 1.2.3.4\r\ns=-\r\n",
                      // found by the fuzzer: a port field of only "/" crashed the parser
                      "v=0\no=- 1 2 IN IP4 1.2.3.4\ns=-\nm=audio / RTP/AVP 0\n", "v=0\no=- 1 2 IN IP4 1.2.3.4\ns=-\nm=audio 4/2/3 RTP/AVP 0\n"])
    func badDescriptionsAreRefused(text: String) {
        #expect(throws: SDPParseError.self) { _ = try SessionDescription(parsing: text) }
    }
}

@Suite struct OfferAnswerTests {
    @Test func answerPicksOffererPreferenceAndKeepsPayloadType() throws {
        let offer = try SessionDescription(parsing: sdpBody(try sharedBytes("peers/sip/captures/baresip-invite.txt")))
        let (answer, neg) = try OfferAnswer.answer(offer, supported: [.pcmu, .opus, .telephoneEvent], address: "::1", port: 40000, sessionID: "7")
        #expect(neg.format.encoding == "opus")
        #expect(neg.format.payloadType == 96)
        #expect(neg.telephoneEventPayloadType == 101)
        #expect(neg.remoteAddress == "127.0.0.1")
        #expect(neg.remotePort == 30016)
        #expect(neg.remoteRTCPPort == 30017)
        let m = try #require(answer.media.first)
        #expect(m.formats == ["96", "101"])
        #expect(answer.connection?.addressType == "IP6")
        // the offerer's view of that answer agrees
        let back = try OfferAnswer.negotiated(offer: offer, answer: try SessionDescription(parsing: answer.text))
        #expect(back.format.payloadType == 96)
        #expect(back.remotePort == 40000)
        #expect(back.remoteAddress == "::1")
    }

    @Test func onlyPCMUInCommon() throws {
        let offer = OfferAnswer.offer(formats: [.opus, .pcmu, .pcma], address: "127.0.0.1", port: 5000, sessionID: "1")
        let (_, neg) = try OfferAnswer.answer(offer, supported: [.pcma], address: "127.0.0.1", port: 6000, sessionID: "2")
        #expect(neg.format.encoding == "PCMA")
        #expect(neg.format.payloadType == 8)
    }

    @Test func noCommonCodecFails() {
        let offer = OfferAnswer.offer(formats: [.opus], address: "127.0.0.1", port: 5000, sessionID: "1")
        #expect(throws: OfferAnswerError.self) { try OfferAnswer.answer(offer, supported: [.pcmu], address: "127.0.0.1", port: 6000, sessionID: "2") }
    }

    @Test func holdDirections() throws {
        for (offered, answered) in [(SDPDirection.sendonly, SDPDirection.recvonly), (.inactive, .inactive), (.recvonly, .sendonly), (.sendrecv, .sendrecv)] {
            let offer = OfferAnswer.offer(formats: [.pcmu], address: "127.0.0.1", port: 5000, direction: offered, sessionID: "1")
            let (answer, neg) = try OfferAnswer.answer(offer, supported: [.pcmu], address: "127.0.0.1", port: 6000, sessionID: "2")
            #expect(neg.direction == answered)
            #expect(answer.media[0].direction == answered)
            let back = try OfferAnswer.negotiated(offer: offer, answer: answer)
            #expect(back.direction == offered)
        }
    }

    @Test func ilbcModeFollowsRFC3952() throws {
        func mode(offer: Int, local: Int) throws -> Int? {
            let o = OfferAnswer.offer(formats: [.ilbc(mode: offer)], address: "127.0.0.1", port: 5000, sessionID: "1")
            let (a, neg) = try OfferAnswer.answer(o, supported: [.ilbc(mode: local)], address: "127.0.0.1", port: 6000, sessionID: "2")
            #expect(a.media[0].fmtp(97) == "mode=\(neg.ilbcMode!)")
            return neg.ilbcMode
        }
        #expect(try mode(offer: 20, local: 20) == 20)
        #expect(try mode(offer: 30, local: 20) == 30)
        #expect(try mode(offer: 20, local: 30) == 30)
        // the pjsua2 capture offers iLBC mode=30
        let pj = try SessionDescription(parsing: sdpBody(try sharedBytes("peers/sip/captures/pjsua2-invite-ilbc.txt")))
        let (_, neg) = try OfferAnswer.answer(pj, supported: [.ilbc(mode: 20), .pcmu], address: "127.0.0.1", port: 6000, sessionID: "2")
        #expect(neg.format.payloadType == 96)
        #expect(neg.ilbcMode == 30)
        #expect(neg.remoteRTCPPort == 40001)
    }

    @Test func secondStreamRefused() throws {
        var offer = OfferAnswer.offer(formats: [.pcmu], address: "127.0.0.1", port: 5000, sessionID: "1")
        offer.media.append(SDPMedia(media: "video", port: 5002, formats: ["31"]))
        let (answer, _) = try OfferAnswer.answer(offer, supported: [.pcmu], address: "127.0.0.1", port: 6000, sessionID: "2")
        #expect(answer.media.count == 2)
        #expect(answer.media[1].port == 0)
    }
}
