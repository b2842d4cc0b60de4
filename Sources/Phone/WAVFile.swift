import Foundation

/// Why a file is not a WAV file we can read.
public struct WAVError: Error, Sendable, CustomStringConvertible {
    public var detail: String
    public init(_ detail: String) { self.detail = detail }
    public var description: String { detail }
}

/// 16-bit PCM WAV audio (RIFF/WAVE, format 1 or WAVE_FORMAT_EXTENSIBLE with PCM), mixed to mono.
public struct WAVAudio: Sendable, Equatable {
    public var sampleRate: Int
    public var samples: [Int16]

    public init(sampleRate: Int, samples: [Int16]) {
        self.sampleRate = sampleRate
        self.samples = samples
    }

    public init(contentsOf path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try self.init(parsing: [UInt8](data))
    }

    public init(parsing b: [UInt8]) throws(WAVError) {
        func le32(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24 }
        func le16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        guard b.count >= 12, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WAVE".utf8) else {
            throw WAVError("not a RIFF/WAVE file")
        }
        var i = 12
        var channels = 0, rate = 0, bits = 0, format = 0
        var pcm: ArraySlice<UInt8>?
        while i + 8 <= b.count {
            let id = String(decoding: b[i..<(i + 4)], as: UTF8.self)
            let size = le32(i + 4)
            let body = i + 8
            guard size >= 0 else { throw WAVError("chunk \(id) has a negative size") }
            let end = Swift.min(b.count, body + size)
            if id == "fmt " {
                guard size >= 16, body + 16 <= b.count else { throw WAVError("fmt chunk too short") }
                format = le16(body)
                channels = le16(body + 2)
                rate = le32(body + 4)
                bits = le16(body + 14)
                if format == 0xFFFE, size >= 26 { format = le16(body + 24) }
            } else if id == "data" {
                pcm = b[body..<end]
            }
            i = body + size + (size & 1)
        }
        guard format == 1, bits == 16, channels >= 1, rate > 0 else {
            throw WAVError("only 16-bit PCM WAV is read (this one: format \(format), \(bits) bits, \(channels) channels)")
        }
        // the rate feeds the resampler's kernel size: a header saying 4 GHz must not allocate without bound
        guard rate <= 384_000 else { throw WAVError("sample rate \(rate) Hz is over 384000") }
        guard let pcm else { throw WAVError("no data chunk") }
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
        sampleRate = rate
        samples = out
    }

    /// The file's octets: mono 16-bit PCM.
    public var bytes: [UInt8] {
        var o = WAVAudio.header(sampleRate: sampleRate, dataBytes: samples.count * 2)
        o.reserveCapacity(o.count + samples.count * 2)
        for s in samples { let u = UInt16(bitPattern: s); o.append(UInt8(u & 0xFF)); o.append(UInt8(u >> 8)) }
        return o
    }

    public func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func header(sampleRate: Int, dataBytes: Int) -> [UInt8] {
        var o: [UInt8] = []
        func p32(_ v: Int) { for k in 0..<4 { o.append(UInt8((v >> (8 * k)) & 0xFF)) } }
        func p16(_ v: Int) { o.append(UInt8(v & 0xFF)); o.append(UInt8((v >> 8) & 0xFF)) }
        o += Array("RIFF".utf8); p32(36 + dataBytes); o += Array("WAVE".utf8)
        o += Array("fmt ".utf8); p32(16); p16(1); p16(1); p32(sampleRate); p32(sampleRate * 2); p16(2); p16(16)
        o += Array("data".utf8); p32(dataBytes)
        return o
    }
}

/// Writes a mono 16-bit WAV file as audio arrives, fixing the sizes on `close()`.
public final class WAVRecorder: @unchecked Sendable {
    let handle: FileHandle
    public let sampleRate: Int
    public private(set) var sampleCount = 0
    let lock = NSLock()

    public init(path: String, sampleRate: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(WAVAudio.header(sampleRate: sampleRate, dataBytes: 0))),
              let h = FileHandle(forUpdatingAtPath: path) else { throw WAVError("cannot open \(path) for writing") }
        handle = h
        self.sampleRate = sampleRate
        handle.seekToEndOfFile()
    }

    public func append(_ samples: [Int16]) {
        lock.lock(); defer { lock.unlock() }
        var o = [UInt8](); o.reserveCapacity(samples.count * 2)
        for s in samples { let u = UInt16(bitPattern: s); o.append(UInt8(u & 0xFF)); o.append(UInt8(u >> 8)) }
        handle.write(Data(o))
        sampleCount += samples.count
    }

    public func close() {
        lock.lock(); defer { lock.unlock() }
        handle.seek(toFileOffset: 0)
        handle.write(Data(WAVAudio.header(sampleRate: sampleRate, dataBytes: sampleCount * 2)))
        try? handle.close()
    }
}
