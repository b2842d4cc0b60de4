import Foundation
import Synchronization

/// Writes a mono 16-bit WAV file as audio arrives, fixing the sizes on `close()`.
public final class WAVRecorder: Sendable {
    private struct State: @unchecked Sendable {    // FileHandle: used only under the mutex
        let handle: FileHandle
        var sampleCount = 0
    }
    public let sampleRate: Int
    private let state: Mutex<State>
    public var sampleCount: Int { state.withLock { $0.sampleCount } }

    public init(path: String, sampleRate: Int) throws(WAVError) {
        guard FileManager.default.createFile(atPath: path, contents: Data(WAVAudio.header(sampleRate: sampleRate, dataBytes: 0))),
              let h = FileHandle(forUpdatingAtPath: path) else { throw .cannotWrite(path: path) }
        h.seekToEndOfFile()
        state = Mutex(State(handle: h))
        self.sampleRate = sampleRate
    }

    public func append(_ samples: [Int16]) {
        var o = [UInt8](); o.reserveCapacity(samples.count * 2)
        for s in samples { let u = UInt16(bitPattern: s); o.append(UInt8(u & 0xFF)); o.append(UInt8(u >> 8)) }
        state.withLock { s in
            s.handle.write(Data(o))
            s.sampleCount += samples.count
        }
    }

    public func close() {
        let rate = sampleRate
        state.withLock { s in
            s.handle.seek(toFileOffset: 0)
            s.handle.write(Data(WAVAudio.header(sampleRate: rate, dataBytes: s.sampleCount * 2)))
            try? s.handle.close()
        }
    }
}
