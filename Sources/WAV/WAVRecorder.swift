import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes a mono 16-bit WAV file as audio arrives, fixing the sizes on `close()`.
public final class WAVRecorder: Sendable {
    private struct State {
        let fd: Int32
        var sampleCount = 0
        var closed = false
        /// The errno of the first failed write: later audio is not written (a full disk), the
        /// header still counts what was.
        var writeError: Int32?
    }
    public let sampleRate: Int
    private let state: Mutex<State>
    public var sampleCount: Int { state.withLock { $0.sampleCount } }

    public init(path: String, sampleRate: Int) throws(WAVError) {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotWrite(path: path) }
        guard Self.writeAll(fd, WAVAudio.header(sampleRate: sampleRate, dataBytes: 0)) == nil else {
            Glibc.close(fd)
            throw .cannotWrite(path: path)
        }
        state = Mutex(State(fd: fd))
        self.sampleRate = sampleRate
    }

    public func append(_ samples: [Int16]) {
        var o = [UInt8](); o.reserveCapacity(samples.count * 2)
        for s in samples { let u = UInt16(bitPattern: s); o.append(UInt8(u & 0xFF)); o.append(UInt8(u >> 8)) }
        state.withLock { s in
            guard !s.closed, s.writeError == nil else { return }
            if let e = Self.writeAll(s.fd, o) { s.writeError = e; return }
            s.sampleCount += samples.count
        }
    }

    public func close() {
        let rate = sampleRate
        state.withLock { s in
            guard !s.closed else { return }
            s.closed = true
            if lseek(s.fd, 0, SEEK_SET) == 0 {
                _ = Self.writeAll(s.fd, WAVAudio.header(sampleRate: rate, dataBytes: s.sampleCount * 2))
            }
            Glibc.close(s.fd)
        }
    }

    /// Writes every byte (retrying short writes and EINTR); nil, or the errno that stopped it.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return nil
    }
}
