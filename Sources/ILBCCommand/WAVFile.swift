/// A 16-bit PCM WAV file (RIFF/WAVE with a `fmt ` and a `data` chunk).
struct WAVFile {
    var sampleRate: Int
    var channels: Int
    var bitsPerSample: Int
    var samples: [Int16]

    init(samples: [Int16], sampleRate: Int = 8000) {
        self.samples = samples
        self.sampleRate = sampleRate
        channels = 1
        bitsPerSample = 16
    }

    /// Parses `bytes`; requires PCM format (plain or WAVE_FORMAT_EXTENSIBLE).
    init(parsing bytes: [UInt8]) throws(WAVError) {
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        func tag(_ i: Int) -> String { String(decoding: bytes[i..<(i + 4)], as: UTF8.self) }
        guard bytes.count >= 12, tag(0) == "RIFF", tag(8) == "WAVE" else { throw .notWAV }
        var format: (code: Int, channels: Int, rate: Int, bits: Int)?
        var data: ArraySlice<UInt8>?
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = tag(offset)
            let size = u32(offset + 4)
            let body = offset + 8
            let end = min(body + size, bytes.count)
            if id == "fmt " {
                guard size >= 16, body + 16 <= bytes.count else { throw .malformed("short fmt chunk") }
                var code = u16(body)
                if code == 0xFFFE && size >= 40 && body + 26 <= bytes.count { code = u16(body + 24) }
                format = (code, u16(body + 2), u32(body + 4), u16(body + 14))
            } else if id == "data" {
                data = bytes[body..<end]
            }
            offset = body + size + (size & 1)
        }
        guard let format else { throw .malformed("no fmt chunk") }
        guard let data else { throw .malformed("no data chunk") }
        sampleRate = format.rate
        channels = format.channels
        bitsPerSample = format.bits
        guard format.code == 1, format.bits == 16 else {
            throw .unsupported(rate: format.rate, channels: format.channels, bits: format.bits, pcm: format.code == 1)
        }
        let base = data.startIndex
        samples = (0..<(data.count / 2)).map { i in
            Int16(bitPattern: UInt16(data[base + 2 * i]) | UInt16(data[base + 2 * i + 1]) << 8)
        }
    }

    func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(44 + 2 * samples.count)
        func u16(_ v: Int) { out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func u32(_ v: Int) { u16(v & 0xFFFF); u16((v >> 16) & 0xFFFF) }
        let dataSize = 2 * samples.count * channels
        out += Array("RIFF".utf8); u32(36 + dataSize); out += Array("WAVE".utf8)
        out += Array("fmt ".utf8); u32(16); u16(1); u16(channels); u32(sampleRate)
        u32(sampleRate * channels * 2); u16(channels * 2); u16(16)
        out += Array("data".utf8); u32(dataSize)
        for s in samples { u16(Int(UInt16(bitPattern: s))) }
        return out
    }
}

enum WAVError: Error, CustomStringConvertible {
    case notWAV
    case malformed(String)
    case unsupported(rate: Int, channels: Int, bits: Int, pcm: Bool)

    var description: String {
        switch self {
        case .notWAV: "not a WAV file (no RIFF/WAVE header)"
        case let .malformed(why): "malformed WAV file: \(why)"
        case let .unsupported(rate, channels, bits, pcm):
            "the WAV file is \(pcm ? "" : "not integer PCM, ")\(rate) Hz, \(channels) channel(s), \(bits)-bit"
        }
    }
}
