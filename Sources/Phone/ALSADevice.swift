import CALSA

/// Why ALSA refused.
public struct ALSAError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var what: String
    public var description: String { "ALSA \(what): \(String(cString: snd_strerror(code)))" }
}

/// An ALSA PCM device opened by name ("default", "hw:0,0", "plughw:1", "null", …) for
/// mono 16-bit audio at one rate, blocking reads or writes of whole frames.
public final class ALSADevice: AudioSource, AudioSink, @unchecked Sendable {
    // @unchecked: the PCM handle is not thread-safe; each device is read or written by one call's media loop only.
    public enum Direction: Sendable { case capture, playback }
    public let sampleRate: Int
    public let name: String
    let pcm: OpaquePointer
    let direction: Direction

    public init(name: String, direction: Direction, sampleRate: Int, latencyMs: Int = 60) throws(ALSAError) {
        var handle: OpaquePointer?
        let stream = direction == .capture ? SND_PCM_STREAM_CAPTURE : SND_PCM_STREAM_PLAYBACK
        var rc = snd_pcm_open(&handle, name, stream, 0)
        guard rc >= 0, let handle else { throw ALSAError(code: rc, what: "open '\(name)'") }
        rc = snd_pcm_set_params(handle, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, 1, UInt32(sampleRate), 1, UInt32(latencyMs * 1000))
        guard rc >= 0 else {
            snd_pcm_close(handle)
            throw ALSAError(code: rc, what: "set 16-bit mono \(sampleRate) Hz on '\(name)'")
        }
        self.pcm = handle
        self.name = name
        self.sampleRate = sampleRate
        self.direction = direction
    }

    deinit { snd_pcm_close(pcm) }

    public func read(_ count: Int) -> [Int16]? {
        var buf = [Int16](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buf.withUnsafeMutableBufferPointer { p in snd_pcm_readi(pcm, p.baseAddress! + got, snd_pcm_uframes_t(count - got)) }
            if n < 0 {
                // overrun: recover and go on
                guard snd_pcm_recover(pcm, Int32(n), 1) >= 0 else { return nil }
                continue
            }
            got += Int(n)
        }
        return buf
    }

    public func write(_ samples: [Int16]) {
        var done = 0
        while done < samples.count {
            let n = samples.withUnsafeBufferPointer { p in snd_pcm_writei(pcm, p.baseAddress! + done, snd_pcm_uframes_t(samples.count - done)) }
            if n < 0 {
                guard snd_pcm_recover(pcm, Int32(n), 1) >= 0 else { return }
                continue
            }
            done += Int(n)
        }
    }

    public func close() { snd_pcm_drain(pcm) }
}
