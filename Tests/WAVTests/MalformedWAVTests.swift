import Testing
import WAV

/// Headers that lie: each fails with a `WAVError` naming what is wrong, never a trap or a huge allocation.
@Suite struct MalformedWAVTests {
    /// A well-formed mono 8 kHz file of four samples: fmt chunk at 12, its rate at 24, data chunk at 36.
    let good = WAVAudio(sampleRate: 8000, samples: [1, -2, 3, -4]).bytes

    func patched(_ bytes: [UInt8], at offset: Int, le32 value: UInt32) -> [UInt8] {
        var b = bytes
        for k in 0..<4 { b[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) }
        return b
    }

    func patched(_ bytes: [UInt8], at offset: Int, le16 value: UInt16) -> [UInt8] {
        var b = bytes
        b[offset] = UInt8(truncatingIfNeeded: value); b[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
        return b
    }

    @Test func wellFormedRoundTrips() throws {
        let back = try WAVAudio(parsing: good)
        #expect(back == WAVAudio(sampleRate: 8000, samples: [1, -2, 3, -4]))
        #expect(good.count == 44 + 8)
    }

    @Test func emptyAndNotRIFF() {
        #expect(throws: WAVError.notRIFFWAVE) { try WAVAudio(parsing: []) }
        #expect(throws: WAVError.notRIFFWAVE) { try WAVAudio(parsing: Array("RIFF".utf8)) }
        #expect(throws: WAVError.notRIFFWAVE) { try WAVAudio(parsing: Array("RIFF\0\0\0\0AVI LIST".utf8)) }
    }

    @Test func truncatedAnywhereFailsCleanly() {
        // every prefix of a good file is either refused with a WAVError or read as fewer samples
        for n in 0..<good.count {
            do {
                let wav = try WAVAudio(parsing: Array(good[0..<n]))
                // Read only once the data chunk has begun: its samples are those the prefix holds.
                #expect(n >= 44 && wav.samples == Array([Int16(1), -2, 3, -4].prefix((n - 44) / 2)),
                        "a \(n)-octet prefix was read as \(wav.samples)")
            } catch {
                _ = error as WAVError
            }
        }
    }

    @Test func truncatedFmtChunk() {
        #expect(throws: WAVError.chunkOverrun(chunk: "fmt ", offset: 12, declaredSize: 16, available: 10)) {
            try WAVAudio(parsing: Array(good[0..<30]))
        }
    }

    /// A recording cut short, or a stream's placeholder size (0xFFFFFFFF, as ffmpeg and arecord
    /// write to a pipe): the samples are the rest of the file, nothing is lost.
    @Test func dataChunkLongerThanTheFileReadsTheRest() throws {
        let whole = try WAVAudio(parsing: good)
        #expect(try WAVAudio(parsing: patched(good, at: 40, le32: 100)).samples == whole.samples)
        #expect(try WAVAudio(parsing: patched(good, at: 40, le32: .max)).samples == whole.samples)
        #expect(whole.samples == [1, -2, 3, -4])
        #expect(try WAVAudio(parsing: Array(patched(good, at: 40, le32: .max).dropLast(2))).samples == [1, -2, 3])
    }

    @Test func hugeSizesDoNotOverflow() {
        #expect(throws: WAVError.chunkOverrun(chunk: "fmt ", offset: 12, declaredSize: .max - 1, available: 32)) {
            try WAVAudio(parsing: patched(good, at: 16, le32: .max - 1))
        }
        // the RIFF size is ignored, even at its largest
        #expect(throws: Never.self) { try WAVAudio(parsing: patched(good, at: 4, le32: .max)) }
    }

    @Test func fmtChunkTooShort() {
        // a fmt chunk of 4 octets followed by the rest of the old fmt body read as a chunk
        #expect(throws: WAVError.fmtChunkTooShort(size: 4)) { try WAVAudio(parsing: patched(good, at: 16, le32: 4)) }
    }

    @Test func missingChunks() {
        var noData = good
        noData.replaceSubrange(36..<40, with: Array("junk".utf8))
        #expect(throws: WAVError.missingDataChunk) { try WAVAudio(parsing: noData) }
        var noFmt = good
        noFmt.replaceSubrange(12..<16, with: Array("junk".utf8))
        #expect(throws: WAVError.missingFmtChunk) { try WAVAudio(parsing: noFmt) }
    }

    @Test func nonPCMFormats() {
        #expect(throws: WAVError.notPCM(formatTag: 3)) { try WAVAudio(parsing: patched(good, at: 20, le16: 3)) }       // IEEE float
        #expect(throws: WAVError.notPCM(formatTag: 6)) { try WAVAudio(parsing: patched(good, at: 20, le16: 6)) }       // A-law
        #expect(throws: WAVError.unsupportedBitsPerSample(24)) { try WAVAudio(parsing: patched(good, at: 34, le16: 24)) }
        #expect(throws: WAVError.noChannels) { try WAVAudio(parsing: patched(good, at: 22, le16: 0)) }
    }

    @Test func sampleRatesOutOfRange() {
        #expect(throws: WAVError.sampleRateOutOfRange(0)) { try WAVAudio(parsing: patched(good, at: 24, le32: 0)) }
        #expect(throws: WAVError.sampleRateOutOfRange(4_000_000_000)) { try WAVAudio(parsing: patched(good, at: 24, le32: 4_000_000_000)) }
    }

    @Test func manyChannelsAreMixedWithoutOverflow() throws {
        // 65535 channels of full-scale samples: one frame, averaged
        var b = patched(good, at: 22, le16: .max)
        b = patched(b, at: 40, le32: 2 * 65535)
        b = Array(b[0..<44]) + [UInt8](repeating: 0x80, count: 2 * 65535).enumerated().map { $0.offset % 2 == 0 ? 0x00 : 0x80 }
        let wav = try WAVAudio(parsing: b)
        #expect(wav.samples == [-32768])
        #expect(wav.fileChannels == 65535)
    }

    @Test func errorsSayWhatIsWrong() {
        let e = WAVError.chunkOverrun(chunk: "data", offset: 36, declaredSize: 100, available: 8)
        #expect(e.description.contains("data") && e.description.contains("100") && e.description.contains("8"))
        #expect(WAVError.notPCM(formatTag: 3).description.contains("not integer PCM"))
    }
}
