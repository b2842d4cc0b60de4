#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import Synchronization
import WAV

/// Something that gives mono 16-bit audio in frames.
public protocol AudioSource: AnyObject {
    var sampleRate: Int { get }
    /// The next `count` samples, or nil at the end of the audio.
    func read(_ count: Int) -> [Int16]?
}

/// Something that takes mono 16-bit audio.
public protocol AudioSink: AnyObject {
    var sampleRate: Int { get }
    func write(_ samples: [Int16])
    func close()
}

/// A sine tone (or several summed), endless or for a set number of seconds.
public final class ToneSource: AudioSource, Sendable {
    public let sampleRate: Int
    let frequencies: [Double]
    let amplitude: Double
    /// Samples given so far.
    let position = Mutex(0)
    let total: Int?

    public init(frequencies: [Double], amplitude: Double = 0.5, sampleRate: Int, seconds: Double? = nil) {
        self.frequencies = frequencies
        self.amplitude = amplitude
        self.sampleRate = sampleRate
        self.total = seconds.map { Int($0 * Double(sampleRate)) }
    }

    /// The two tones of a DTMF digit (ITU-T Q.23).
    public static func dtmf(_ digit: Character, sampleRate: Int, seconds: Double = 0.1) -> ToneSource? {
        let rows: [Double] = [697, 770, 852, 941], cols: [Double] = [1209, 1336, 1477, 1633]
        let keys = Array("123A456B789C*0#D")
        guard let i = keys.firstIndex(of: digit) else { return nil }
        return ToneSource(frequencies: [rows[i / 4], cols[i % 4]], amplitude: 0.4, sampleRate: sampleRate, seconds: seconds)
    }

    public func read(_ count: Int) -> [Int16]? {
        let start: Int? = position.withLock { n in
            if let total, n >= total { return nil }
            defer { n += count }
            return n
        }
        guard let n = start else { return nil }
        var out = [Int16](repeating: 0, count: count)
        let scale = 32767 * amplitude / Double(max(1, frequencies.count))
        for i in 0..<count {
            let t = Double(n + i) / Double(sampleRate)
            var v = 0.0
            for f in frequencies { v += sin(2 * .pi * f * t) }
            out[i] = Int16(clamping: Int((v * scale).rounded()))
        }
        return out
    }
}

/// Samples from a WAV file, resampled to `sampleRate`.
public final class WAVFileSource: AudioSource, Sendable {
    public let sampleRate: Int
    let samples: [Int16]
    /// Samples given so far.
    let position = Mutex(0)

    public init(path: String, sampleRate: Int) throws {
        let wav = try WAVAudio(contentsOf: path)
        self.sampleRate = sampleRate
        if wav.sampleRate == sampleRate {
            samples = wav.samples
        } else {
            var r = Resampler(from: wav.sampleRate, to: sampleRate)
            samples = r.process(wav.samples + [Int16](repeating: 0, count: 64))
        }
    }

    public func read(_ count: Int) -> [Int16]? {
        let start: Int? = position.withLock { offset in
            guard offset < samples.count else { return nil }
            defer { offset += count }
            return offset
        }
        guard let offset = start else { return nil }
        var out = Array(samples[offset..<min(samples.count, offset + count)])
        if out.count < count { out += [Int16](repeating: 0, count: count - out.count) }
        return out
    }
}

/// Silence forever (a call with nothing to say still sends packets).
public final class SilenceSource: AudioSource {
    public let sampleRate: Int
    public init(sampleRate: Int) { self.sampleRate = sampleRate }
    public func read(_ count: Int) -> [Int16]? { [Int16](repeating: 0, count: count) }
}

/// Records into a WAV file, resampling from the codec rate to the file rate.
public final class WAVFileSink: AudioSink, Sendable {
    public let sampleRate: Int
    let recorder: WAVRecorder
    /// Held while a block is resampled and appended, so blocks reach the file in order.
    let resampler: Mutex<Resampler>

    public init(path: String, inputRate: Int, fileRate: Int? = nil) throws {
        sampleRate = inputRate
        recorder = try WAVRecorder(path: path, sampleRate: fileRate ?? inputRate)
        resampler = Mutex(Resampler(from: inputRate, to: fileRate ?? inputRate))
    }

    public func write(_ samples: [Int16]) { resampler.withLock { recorder.append($0.process(samples)) } }
    public func close() { recorder.close() }
}
