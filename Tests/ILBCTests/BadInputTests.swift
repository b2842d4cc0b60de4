import AudioCodec
import Foundation
import ILBC
import Testing

/// Broken, hostile and mismatched input: a clear error or concealment, never a crash.
@Suite("Bad input")
struct BadInputTests {
    @Test("a file that ends in a partial frame is refused with the frame count")
    func truncatedFile() throws {
        var bytes = try Shared.bytes("sp_de_f3.20.lbc")
        bytes.removeLast(5)
        #expect(throws: StorageFormatError.truncated(mode: .ms20, frames: 296, extraBytes: 33)) {
            try ILBCFile(parsing: bytes)
        }
    }

    @Test("headers: missing, unknown mode, and a 20 ms header over 30 ms frames")
    func headers() throws {
        #expect(throws: StorageFormatError.missingHeader) { try ILBCFile(parsing: Array("RIFF....".utf8)) }
        #expect(throws: StorageFormatError.missingHeader) { try ILBCFile(parsing: []) }
        #expect(throws: StorageFormatError.unknownMode("25")) { try ILBCFile(parsing: Array("#!iLBC25\n".utf8)) }

        let thirty = try ILBCFile(parsing: Shared.bytes("sp_de_f3.30.lbc"))
        // 3 frames of 50 bytes are not a whole number of 38-byte frames: refused.
        let three = ILBCFile.header(for: .ms20) + thirty.frames.prefix(3).flatMap { $0 }
        #expect(throws: StorageFormatError.truncated(mode: .ms20, frames: 3, extraBytes: 36)) {
            try ILBCFile(parsing: three)
        }
        // 19 frames of 50 bytes = 25 frames of 38: parses, decodes as (garbage) 20 ms frames.
        let nineteen = ILBCFile.header(for: .ms20) + thirty.frames.prefix(19).flatMap { $0 }
        let wrong = try ILBCFile(parsing: nineteen)
        #expect(wrong.mode == .ms20 && wrong.frames.count == 25)
        let decoded = decodeFile(wrong, enhancer: true)
        #expect(decoded.count == 25 * 160)
    }

    @Test("payloads of the wrong size: the codec API throws, the decoder conceals")
    func wrongPayloadSize() throws {
        var codec = ILBCCodec(mode: .ms20)
        #expect(throws: AudioCodecError.wrongPayloadSize(expected: [38], got: 50)) {
            try codec.decode([UInt8](repeating: 0, count: 50))
        }
        #expect(throws: AudioCodecError.wrongPayloadSize(expected: [38], got: 37)) {
            try codec.decode([UInt8](repeating: 0, count: 37))
        }
        #expect(throws: AudioCodecError.wrongSampleCount(expected: 160, got: 240)) {
            try codec.encode([Int16](repeating: 0, count: 240))
        }
        var decoder = ILBCDecoder(mode: .ms30)
        var out = [Int16](repeating: 0, count: 240)
        let concealed = out.withUnsafeMutableBufferPointer { decoder.decode([UInt8](repeating: 0x55, count: 38), into: $0) }
        #expect(concealed)
        #expect(throws: FrameError.wrongSize(expected: 50, got: 49)) {
            try FrameParameters(parsing: [UInt8](repeating: 0, count: 49), mode: .ms30)
        }
    }

    @Test("all-ones frames carry the empty-frame flag and are concealed", arguments: ILBCMode.allCases)
    func allOnes(mode: ILBCMode) throws {
        let ones = [UInt8](repeating: 0xFF, count: mode.bytesPerFrame)
        #expect(throws: FrameError.emptyFrameFlag) { try FrameParameters(parsing: ones, mode: mode) }
        var decoder = ILBCDecoder(mode: mode)
        var out = [Int16](repeating: 0, count: mode.samplesPerFrame)
        for _ in 0..<20 {
            let concealed = out.withUnsafeMutableBufferPointer { decoder.decode(ones, into: $0) }
            #expect(concealed)
        }
        // With the flag cleared the start position is 3 (20 ms: valid, decoded) or 7 (30 ms:
        // impossible, concealed); either way no crash.
        var flagless = ones
        flagless[flagless.count - 1] &= 0xFE
        let concealed = out.withUnsafeMutableBufferPointer { decoder.decode(flagless, into: $0) }
        #expect(concealed == (mode == .ms30))
        if mode == .ms30 {
            #expect(throws: FrameError.invalidStartPosition(7)) { try FrameParameters(parsing: flagless, mode: mode) }
        }
    }

    @Test("random payloads and random losses decode without a crash", arguments: ILBCMode.allCases, [true, false])
    func randomFrames(mode: ILBCMode, enhancer: Bool) {
        var generator = SplitMix64(seed: UInt64(mode.rawValue) * 7 + (enhancer ? 1 : 0))
        var decoder = ILBCDecoder(mode: mode, enhancer: enhancer)
        var out = [Int16](repeating: 0, count: mode.samplesPerFrame)
        var concealedCount = 0
        for _ in 0..<3000 {
            var payload = (0..<mode.bytesPerFrame).map { _ in UInt8.random(in: 0...255, using: &generator) }
            payload[payload.count - 1] &= 0xFE
            let lost = Int.random(in: 0..<10, using: &generator) == 0
            let concealed = out.withUnsafeMutableBufferPointer { decoder.decode(lost ? nil : payload, into: $0) }
            if concealed { concealedCount += 1 }
        }
        #expect(concealedCount > 0 && concealedCount < 3000)
    }
}

/// Deterministic generator so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
