import Testing
import Foundation
import SDP
@testable import Phone
import WAV

/// Values from files and peers that once trapped or allocated without bound (issue 14),
/// at the level of the Phone library.
@Suite struct HostileValueTests {
    @Test func wavWithAnAbsurdRateIsRefused() throws {
        var wav = WAVAudio(sampleRate: 8000, samples: [1, 2, 3, 4]).bytes
        // fmt chunk: the rate sits at offset 24
        for (i, b) in [UInt8(0x00), 0x28, 0x6B, 0xEE].enumerated() { wav[24 + i] = b }   // 4 GHz
        #expect(throws: WAVError.self) { try WAVAudio(parsing: wav) }
    }

    @Test func codecForAHugePacketTime() throws {
        let n = NegotiatedAudio(format: .pcmu, remoteFmtp: nil, telephoneEventPayloadType: 101, remoteAddress: "127.0.0.1",
                                remotePort: 4000, remoteRTCPPort: 4001, ptime: 600_000_000, direction: .sendrecv)
        let c = try MediaCodec(negotiated: n)
        #expect(c.codec.samplesPerFrame == 960)
        #expect(c.timestampsPerFrame == 960)
        #expect(c.frameMs == 120)
    }

    @Test func terminalTextEscapes() {
        #expect(TerminalText.escaped("a\u{1b}[31mb\r\n\u{9b}\u{202e}\\") == "a\\u{1b}[31mb\\u{d}\\u{a}\\u{9b}\\u{202e}\\\\")
        #expect(TerminalText.field("plain") == "plain")
        #expect(TerminalText.field("two words") == "\"two words\"")
        #expect(TerminalText.field("x=\"y\"") == "\"x=\\\"y\\\"\"")
        #expect(TerminalText.field("") == "\"\"")
        #expect(TerminalText.jsonSafe("{\"t\":\"a\u{9b}b\u{2028}\"}") == "{\"t\":\"a\\u009bb\\u2028\"}")
        #expect(CodecChoice.defaults.contains(.ilbc))
    }
}
