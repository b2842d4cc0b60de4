import AudioCodec
import Foundation
import ILBC
import Testing

@Suite("Codec API and bit layout")
struct APITests {
    @Test("parsing and writing a frame gives back the same bytes", arguments: [20, 30])
    func frameRoundTrip(mode: Int) throws {
        let file = try ILBCFile(parsing: Shared.bytes("sp_en_f4_fast.\(mode).lbc"))
        for frame in file.frames {
            let parameters = try FrameParameters(parsing: frame, mode: file.mode)
            var written: [UInt8] = []
            parameters.write(to: &written)
            #expect(written == frame)
        }
        #expect(file.serialized() == (try Shared.bytes("sp_en_f4_fast.\(mode).lbc")))
    }

    @Test("the bit layout adds up to 304 and 400 bits")
    func frameSizes() {
        #expect(ILBCMode.ms20.bytesPerFrame * 8 == 304)
        #expect(ILBCMode.ms30.bytesPerFrame * 8 == 400)
        #expect(ILBCMode(bytesPerFrame: 38) == .ms20)
        #expect(ILBCMode(bytesPerFrame: 50) == .ms30)
        #expect(ILBCMode(bytesPerFrame: 40) == nil)
        #expect(ILBCFile.header(for: .ms30) == Array("#!iLBC30\n".utf8))
    }

    /// Drives any codec through the protocol, as the softphone does.
    func run(_ codec: inout some AudioCodec, _ samples: [Int16], lose: Set<Int> = []) throws -> [Int16] {
        var out: [Int16] = []
        let n = codec.samplesPerFrame
        for (index, start) in stride(from: 0, to: samples.count - n + 1, by: n).enumerated() {
            let payload = try codec.encode(Array(samples[start..<(start + n)]))
            out += try codec.decode(lose.contains(index) ? nil : payload)
        }
        return out
    }

    @Test("through the AudioCodec protocol the codec matches the reference chain", arguments: ILBCMode.allCases)
    func protocolRoundTrip(mode: ILBCMode) throws {
        let input = try Shared.samples("sp_en_us_m1.pcm")
        var codec = ILBCCodec(mode: mode)
        #expect(codec.sampleRate == 8000 && codec.samplesPerFrame == mode.samplesPerFrame)
        let decoded = try run(&codec, input)
        let reference = try Shared.samples("sp_en_us_m1.\(mode.rawValue).out.pcm")
        #expect(snr(reference, decoded) >= 40)

        // nil = lost: the same frames lost as in the shared loss pattern give the reference's
        // concealment.
        let pattern = lossPattern(String(decoding: try Shared.bytes("sp_en_us_m1.\(mode.rawValue).loss.txt"), as: UTF8.self))
        let lost = Set(pattern.indices.filter { !pattern[$0] })
        var lossy = ILBCCodec(mode: mode)
        let concealed = try run(&lossy, input, lose: lost)
        #expect(snr(try Shared.samples("sp_en_us_m1.\(mode.rawValue).loss.out.pcm"), concealed) >= 30)
    }

    @Test("instances are independent values: copies continue identically, threads do not interfere")
    func valueSemantics() async throws {
        let input = try Shared.samples("sp_es_f1.pcm")
        let file = try ILBCFile(parsing: Shared.bytes("sp_es_f1.30.lbc"))
        var decoder = ILBCDecoder(mode: .ms30)
        for frame in file.frames.prefix(50) { _ = decoder.decode(frame) }
        var copy = decoder
        let rest = file.frames.dropFirst(50)
        let a = rest.flatMap { decoder.decode($0) }
        let b = rest.flatMap { copy.decode($0) }
        #expect(a == b)

        let sequential = encodeSamples(input, mode: .ms30).frames
        let parallel = await withTaskGroup(of: [[UInt8]].self) { group in
            for _ in 0..<4 { group.addTask { encodeSamples(input, mode: .ms30).frames } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for result in parallel { #expect(result == sequential) }
    }
}

@Suite("RTP payload (RFC 3952)")
struct RTPPayloadTests {
    @Test("payloads split into whole frames of the negotiated mode")
    func split() throws {
        let file = try ILBCFile(parsing: Shared.bytes("sp_es_f1.20.lbc"))
        let payload = Array(file.frames[10..<13].joined())
        let frames = try RTPPayload.frames(in: payload, mode: .ms20)
        #expect(frames.map { Array($0) } == Array(file.frames[10..<13]))
        #expect(throws: FrameError.wrongSize(expected: 38, got: 39)) { try RTPPayload.frames(in: payload.dropLast(75).map { $0 }, mode: .ms20) }
        #expect(throws: FrameError.wrongSize(expected: 50, got: 0)) { try RTPPayload.frames(in: [], mode: .ms30) }
        // 950 bytes are 25 frames of 20 ms or 19 of 30 ms: the negotiated mode decides.
        let ambiguous = [UInt8](repeating: 0, count: 950)
        #expect(try RTPPayload.frames(in: ambiguous, mode: .ms20).count == 25)
        #expect(try RTPPayload.frames(in: ambiguous, mode: .ms30).count == 19)
    }

    @Test("SDP mode parameter and offer/answer")
    func sdpMode() {
        #expect(RTPPayload.mode(fmtp: "mode=20") == .ms20)
        #expect(RTPPayload.mode(fmtp: " mode = 20 ") == .ms20)
        #expect(RTPPayload.mode(fmtp: "foo=1; mode=20") == .ms20)
        #expect(RTPPayload.mode(fmtp: "mode=30") == .ms30)
        #expect(RTPPayload.mode(fmtp: "") == .ms30)
        #expect(RTPPayload.mode(fmtp: "mode=25") == .ms30)
        #expect(RTPPayload.negotiated(offer: .ms20, answer: .ms20) == .ms20)
        #expect(RTPPayload.negotiated(offer: .ms20, answer: .ms30) == .ms30)
        #expect(RTPPayload.negotiated(offer: .ms30, answer: .ms20) == .ms30)
    }
}
