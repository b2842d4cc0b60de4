/// The `fmt ` chunk of a WAV file we read: 16-bit integer PCM, 1 or more channels, a bounded rate.
struct WAVFormat: Sendable, Equatable {
    var channels: Int
    var sampleRate: Int

    init(parsing body: ArraySlice<UInt8>) throws(WAVError) {
        guard body.count >= 16 else { throw .fmtChunkTooShort(size: body.count) }
        let base = body.startIndex
        func le16(_ i: Int) -> Int { Int(body[base + i]) | Int(body[base + i + 1]) << 8 }
        var tag = le16(0)
        // WAVE_FORMAT_EXTENSIBLE names the real format in the first two octets of its SubFormat GUID
        if tag == 0xFFFE, body.count >= 26 { tag = le16(24) }
        guard tag == 1 else { throw .notPCM(formatTag: tag) }
        let bits = le16(14)
        guard bits == 16 else { throw .unsupportedBitsPerSample(bits) }
        channels = le16(2)
        guard channels >= 1 else { throw .noChannels }
        // a UInt32 always fits Int on the 64-bit platforms we build for; Int(exactly:) says so without trapping
        let rate32 = WAVAudio.le32(body, base + 4)
        guard let rate = Int(exactly: rate32), rate >= 1, rate <= WAVAudio.maximumSampleRate else {
            throw .sampleRateOutOfRange(Int(clamping: rate32))
        }
        sampleRate = rate
    }
}
