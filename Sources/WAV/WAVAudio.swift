import FoundationEssentials

/// 16-bit PCM WAV audio (RIFF/WAVE, format 1 or WAVE_FORMAT_EXTENSIBLE with PCM), mixed to mono.
///
/// Every size and offset read from the file is checked before it is used: a malformed header
/// throws a `WAVError`, it never traps or allocates by what the header claims.
public struct WAVAudio: Sendable, Equatable {
    /// The highest sample rate read; the rate sizes the resampler's kernel, so a header saying
    /// 4 GHz must not allocate without bound.
    public static let maximumSampleRate = 384_000

    public var sampleRate: Int
    /// Mono samples (a file's channels are averaged).
    public var samples: [Int16]
    /// How many channels the file had before they were mixed to mono (1 for audio made in memory).
    public var fileChannels: Int

    public init(sampleRate: Int, samples: [Int16]) {
        self.sampleRate = sampleRate
        self.samples = samples
        fileChannels = 1
    }

    /// Reads a file; throws the file system's error if it cannot be read, a `WAVError` if it is not one we read.
    public init(contentsOf path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try self.init(parsing: [UInt8](data))
    }

    public init(parsing b: [UInt8]) throws(WAVError) {
        guard b.count >= 12, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WAVE".utf8) else {
            throw .notRIFFWAVE
        }
        // The RIFF size field is ignored: writers that stream often leave it wrong.
        var format: WAVFormat?
        var pcm: ArraySlice<UInt8>?
        var offset = 12
        while b.count - offset >= 8 {
            let id = WAVAudio.chunkName(b[offset..<(offset + 4)])
            let declared = WAVAudio.le32(b[...], offset + 4)
            let body = offset + 8
            let available = b.count - body
            guard let size = Int(exactly: declared), size <= available else {
                // A data chunk that says more than the file holds is a stream's placeholder size
                // (0xFFFFFFFF from ffmpeg or arecord writing to a pipe) or a recording cut short:
                // its samples are the rest of the file. Any other chunk that overruns is an error.
                guard id == "data" else {
                    throw .chunkOverrun(chunk: id, offset: offset, declaredSize: declared, available: available)
                }
                pcm = b[body...]
                break
            }
            if id == "fmt " {
                format = try WAVFormat(parsing: b[body..<(body + size)])
            } else if id == "data" {
                pcm = b[body..<(body + size)]
            }
            // sizes are odd only with a pad octet after the body; a missing last pad ends the loop
            offset = body + size + (size & 1)
        }
        guard let format else { throw .missingFmtChunk }
        guard let pcm else { throw .missingDataChunk }
        let channels = format.channels
        let frames = pcm.count / (2 * channels)
        var out = [Int16](repeating: 0, count: frames)
        let base = pcm.startIndex
        for f in 0..<frames {
            var sum = 0
            for c in 0..<channels {
                let k = base + (f * channels + c) * 2
                sum += Int(Int16(bitPattern: UInt16(pcm[k]) | UInt16(pcm[k + 1]) << 8))
            }
            out[f] = Int16(sum / channels)
        }
        sampleRate = format.sampleRate
        samples = out
        fileChannels = channels
    }

    /// The file's octets: mono 16-bit PCM. Sizes beyond the 4 GiB a RIFF header can say are clamped.
    public var bytes: [UInt8] {
        var o = WAVAudio.header(sampleRate: sampleRate, dataBytes: samples.count * 2)
        o.reserveCapacity(o.count + samples.count * 2)
        for s in samples { let u = UInt16(bitPattern: s); o.append(UInt8(u & 0xFF)); o.append(UInt8(u >> 8)) }
        return o
    }

    public func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A 44-octet mono 16-bit PCM header; sizes that do not fit 32 bits are clamped to the largest that does.
    public static func header(sampleRate: Int, dataBytes: Int) -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(44)
        func p32(_ v: Int) { let u = UInt32(clamping: v); for k in 0..<4 { o.append(UInt8(truncatingIfNeeded: u >> (8 * k))) } }
        func p16(_ v: Int) { let u = UInt16(clamping: v); o.append(UInt8(truncatingIfNeeded: u)); o.append(UInt8(truncatingIfNeeded: u >> 8)) }
        let (riffSize, overflow) = dataBytes.addingReportingOverflow(36)
        let (byteRate, rateOverflow) = sampleRate.multipliedReportingOverflow(by: 2)
        o += Array("RIFF".utf8); p32(overflow ? Int.max : riffSize); o += Array("WAVE".utf8)
        o += Array("fmt ".utf8); p32(16); p16(1); p16(1); p32(sampleRate); p32(rateOverflow ? Int.max : byteRate); p16(2); p16(16)
        o += Array("data".utf8); p32(dataBytes)
        return o
    }

    /// The little-endian 32-bit value at index `i` of `b` (an index of the slice, not an offset from its start).
    static func le32(_ b: ArraySlice<UInt8>, _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    /// A chunk id for messages: printable ASCII kept, anything else shown as "?".
    static func chunkName(_ id: ArraySlice<UInt8>) -> String {
        String(id.map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "?" })
    }
}
