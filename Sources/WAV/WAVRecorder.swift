import Foundation

/// Writes a mono 16-bit WAV file as audio arrives, fixing the sizes on `close()`.
public final class WAVRecorder: @unchecked Sendable {
    let handle: FileHandle
    public let sampleRate: Int
    public private(set) var sampleCount = 0
    let lock = NSLock()

    public init(path: String, sampleRate: Int) throws(WAVError) {
        guard FileManager.default.createFile(atPath: path, contents: Data(WAVAudio.header(sampleRate: sampleRate, dataBytes: 0))),
              let h = FileHandle(forUpdatingAtPath: path) else { throw .cannotWrite(path: path) }
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
