import Testing
import Foundation
import TestSupport
import AudioCodec
@testable import Phone
import SDP

func tone(_ f: Double, rate: Int, seconds: Double, amplitude: Double = 0.5) -> [Int16] {
    ToneSource(frequencies: [f], amplitude: amplitude, sampleRate: rate, seconds: seconds).read(Int(seconds * Double(rate)))!
}

func snr(_ a: [Int16], _ b: [Int16]) -> Double {
    var sig = 0.0, noise = 0.0
    for i in 0..<min(a.count, b.count) { sig += Double(a[i]) * Double(a[i]); let d = Double(a[i]) - Double(b[i]); noise += d * d }
    return 10 * log10(sig / max(noise, 1))
}

func tool(_ name: String) -> String? {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
    return nil
}

@discardableResult
func run(_ path: String, _ args: [String]) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

@Suite struct G711Tests {
    @Test func knownCodeWords() {
        #expect(G711Codec.muLaw(0) == 0xFF)
        #expect(G711Codec.aLaw(0) == 0xD5)
        #expect(G711Codec.muLaw(-32768) == 0x00)
        #expect(G711Codec.muLaw(32767) == 0x80)
        #expect(G711Codec.muLawDecode(0x80) == 32124)
        #expect(G711Codec.aLawDecode(0xD5) == 8)
        #expect(G711Codec.aLawDecode(0xAA) == 32256)
    }

    @Test(arguments: [G711Codec.Law.mu, .a]) func roundTripQuality(law: G711Codec.Law) {
        var c = G711Codec(law: law)
        let x = tone(1000, rate: 8000, seconds: 0.2)
        var y: [Int16] = []
        for f in stride(from: 0, to: x.count, by: 160) { y += c.decode(c.encode(Array(x[f..<(f + 160)]))) }
        #expect(snr(x, y) > 33)   // G.711 gives ~38 dB on a loud tone
    }

    @Test func concealmentFadesOut() {
        var c = G711Codec(law: .mu)
        let x = tone(500, rate: 8000, seconds: 0.02)
        _ = c.decode(c.encode(x))
        let first = c.decode(nil)
        #expect(first.count == 160)
        #expect(SignalMeasure.rms(first) > 0.2)
        for _ in 0..<5 { _ = c.decode(nil) }
        #expect(SignalMeasure.rms(c.decode(nil)) == 0)
    }

    /// sox's μ-law/A-law encoder is an independent oracle for our code words.
    @Test(arguments: [("u-law", G711Codec.Law.mu), ("a-law", .a)]) func matchesSox(encoding: String, law: G711Codec.Law) throws {
        guard let sox = tool("sox") else { TestEnvironment.dependencyMissing("sox", install: "apt-get install sox; make deps"); return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("g711-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var x = tone(700, rate: 8000, seconds: 0.5, amplitude: 0.8)
        for i in 0..<x.count where i % 7 == 0 { x[i] = Int16(truncatingIfNeeded: i &* 977) }   // every code word range
        try WAVAudio(sampleRate: 8000, samples: x).write(to: dir.appendingPathComponent("in.wav").path)
        let out = dir.appendingPathComponent("out.raw").path
        #expect(try run(sox, ["-D", dir.appendingPathComponent("in.wav").path, "-t", "raw", "-e", encoding, "-b", "8", out]) == 0)
        let theirs = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        var c = G711Codec(law: law)
        let ours = c.encode(x)
        #expect(theirs.count == ours.count)
        let differing = zip(theirs, ours).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) code words differ from sox")
    }
}

@Suite struct OpusTests {
    @Test(arguments: [8000, 16000, 48000]) func toneSurvives(rate: Int) throws {
        let c = try OpusCodec(sampleRate: rate)
        let x = tone(440, rate: rate, seconds: 1)
        var y: [Int16] = []
        for f in stride(from: 0, to: x.count, by: c.samplesPerFrame) {
            let payload = c.encode(Array(x[f..<(f + c.samplesPerFrame)]))
            #expect(!payload.isEmpty && payload.count < 200)
            y += c.decode(payload)
        }
        #expect(c.rtpTimestampsPerFrame == 960)
        // codec delay shifts the signal: compare by correlation, not sample by sample
        let probe = Array(x[rate / 2..<(rate / 2 + rate / 10)])
        #expect(SignalMeasure.bestCorrelation(probe: probe, in: y).value > 0.95)
        #expect(SignalMeasure.toneShare(Array(y[(rate / 4)...]), frequency: 440, sampleRate: rate) > 0.9)
    }

    @Test func lossIsConcealedAndFECRecovers() throws {
        var s = OpusCodec.Settings()
        s.inbandFEC = true
        s.expectedLossPercent = 20
        let c = try OpusCodec(sampleRate: 16000, settings: s)
        let x = tone(300, rate: 16000, seconds: 0.5)
        var packets: [[UInt8]] = []
        for f in stride(from: 0, to: x.count, by: c.samplesPerFrame) { packets.append(c.encode(Array(x[f..<(f + c.samplesPerFrame)]))) }
        for p in packets.prefix(10) { _ = c.decode(p) }
        let concealed = c.decode(nil)
        #expect(concealed.count == c.samplesPerFrame)
        #expect(SignalMeasure.rms(concealed) > 0.05)
        let recovered = c.decodeRecovering(next: packets[12])
        #expect(recovered.count == c.samplesPerFrame)
        #expect(SignalMeasure.rms(recovered) > 0.05)
    }
}

@Suite struct AudioTests {
    @Test func wavRoundTripAndSoxReadsIt() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("t-\(UUID().uuidString).wav").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let x = tone(1000, rate: 16000, seconds: 0.25)
        try WAVAudio(sampleRate: 16000, samples: x).write(to: path)
        let back = try WAVAudio(contentsOf: path)
        #expect(back == WAVAudio(sampleRate: 16000, samples: x))
        if let soxi = tool("soxi") {
            let p = Process(); p.executableURL = URL(fileURLWithPath: soxi); p.arguments = ["-s", path]
            let pipe = Pipe(); p.standardOutput = pipe
            try p.run(); p.waitUntilExit()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "4000")
        }
        #expect(throws: WAVError.self) { try WAVAudio(parsing: Array("RIFF0000WAVEjunk".utf8)) }
    }

    @Test func recorderStreamsAndFixesSizes() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("r-\(UUID().uuidString).wav").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try WAVRecorder(path: path, sampleRate: 8000)
        r.append([1, 2, 3]); r.append([4, 5])
        r.close()
        #expect(try WAVAudio(contentsOf: path).samples == [1, 2, 3, 4, 5])
    }

    @Test func resamplerKeepsToneAndRejectsAlias() {
        var down = Resampler(from: 48000, to: 8000)
        let x = tone(440, rate: 48000, seconds: 0.5)
        var y: [Int16] = []
        for f in stride(from: 0, to: x.count, by: 960) { y += down.process(Array(x[f..<(f + 960)])) }
        #expect(abs(y.count - 4000) < 40)
        #expect(SignalMeasure.toneShare(Array(y[400...]), frequency: 440, sampleRate: 8000) > 0.95)
        #expect(abs(SignalMeasure.rms(Array(y[400...])) - SignalMeasure.rms(x)) < 0.02)
        // 6 kHz cannot exist at 8 kHz: it must be filtered, not folded to 2 kHz
        var d2 = Resampler(from: 48000, to: 8000)
        let alias = d2.process(tone(6000, rate: 48000, seconds: 0.5))
        #expect(SignalMeasure.rms(Array(alias[400...])) < 0.01)
        var up = Resampler(from: 8000, to: 48000)
        let u = up.process(tone(440, rate: 8000, seconds: 0.5))
        #expect(SignalMeasure.toneShare(Array(u[2400...]), frequency: 440, sampleRate: 48000) > 0.95)
    }

    @Test func measuresFindTheSignal() {
        let x = tone(523, rate: 8000, seconds: 0.5)
        let probe = Array(x[1000..<1400])
        let noisy = [Int16](repeating: 0, count: 300) + x.map { $0 / 2 }
        let c = SignalMeasure.bestCorrelation(probe: probe, in: noisy)
        #expect(c.value > 0.99)
        #expect(SignalMeasure.toneShare(x, frequency: 523, sampleRate: 8000) > 0.98)
        #expect(SignalMeasure.toneShare(x, frequency: 1500, sampleRate: 8000) < 0.01)
        #expect(SignalMeasure.mos(codec: "pcmu", lossRatio: 0, delaySeconds: 0.02) > 4.3)
        #expect(SignalMeasure.mos(codec: "pcmu", lossRatio: 0.05, delaySeconds: 0.1) < 4.0)
    }

    @Test func alsaNullDevice() throws {
        // ALSA's "null" PCM needs no sound card
        guard let dev = try? ALSADevice(name: "null", direction: .playback, sampleRate: 8000) else {
            TestEnvironment.dependencyMissing("ALSA null PCM", install: "apt-get install libasound2; make deps"); return
        }
        dev.write(tone(440, rate: 8000, seconds: 0.05))
        #expect(dev.sampleRate == 8000)
        // capture from the null PCM gives frames of silence at the asked size
        let mic = try ALSADevice(name: "null", direction: .capture, sampleRate: 16000)
        let frame = mic.read(320)
        #expect(frame?.count == 320)
        #expect(frame.map(SignalMeasure.rms) == 0)
        #expect(throws: ALSAError.self) { _ = try ALSADevice(name: "no-such-device-xyz", direction: .capture, sampleRate: 8000) }
    }
}

@Suite struct MediaCodecTests {
    func negotiated(_ encoding: String, clock: Int, pt: Int, remoteFmtp: String? = nil) -> NegotiatedAudio {
        NegotiatedAudio(format: AudioFormat(encoding: encoding, clockRate: clock, channels: encoding == "opus" ? 2 : 1, payloadType: pt),
                        remoteFmtp: remoteFmtp, telephoneEventPayloadType: 101, remoteAddress: "::1", remotePort: 4000,
                        remoteRTCPPort: 4001, ptime: 20, direction: .sendrecv)
    }

    @Test func timingFollowsTheCodec() throws {
        let u = try MediaCodec(negotiated: negotiated("PCMU", clock: 8000, pt: 0))
        #expect(u.codec.samplesPerFrame == 160)
        #expect(u.timestampsPerFrame == 160)
        let o = try MediaCodec(negotiated: negotiated("opus", clock: 48000, pt: 96))
        #expect(o.codec.sampleRate == 48000)
        #expect(o.rtpClockRate == 48000)
        #expect(o.timestampsPerFrame == 960)
        #expect(throws: (any Error).self) { _ = try MediaCodec(negotiated: negotiated("G729", clock: 8000, pt: 18)) }
    }

    @Test func opusBandwidthFollowsOursAndThePeersLimit() throws {
        let wide = try MediaCodec(negotiated: negotiated("opus", clock: 48000, pt: 96), opusRate: 16000)
        #expect(wide.codec.sampleRate == 16000)
        #expect(wide.codec.samplesPerFrame == 320)
        #expect(wide.timestampsPerFrame == 960)   // the RTP clock stays 48 kHz
        let limited = try MediaCodec(negotiated: negotiated("opus", clock: 48000, pt: 96, remoteFmtp: "maxplaybackrate=8000;useinbandfec=1"))
        #expect(limited.codec.sampleRate == 8000)
    }
}

import NIOCore
import SIP
import RTP
import WAV

@Suite struct ByteBufferWireTests {
    @Test func sipAndRTPThroughByteBuffers() throws {
        var buf = ByteBuffer()
        let text = "OPTIONS sip:bob@[::1]:5070 SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:5071;branch=z9hG4bKa\r\nFrom: <sip:a@[::1]>;tag=1\r\nTo: <sip:bob@[::1]>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        buf.writeString(text)
        let m = try SIPMessage(parsing: buf)
        var out = ByteBuffer()
        m.write(to: &out)
        #expect(try SIPMessage(parsing: out) == m)
        let p = RTPPacket(payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: [1, 2, 3])
        var rb = ByteBuffer()
        p.write(to: &rb)
        #expect(try RTPPacket(parsing: rb) == p)
    }
}
