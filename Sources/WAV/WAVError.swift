/// Every way a WAV file can be one we do not read, or cannot be written.
public enum WAVError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not start with a RIFF header of form type WAVE (or is shorter than 12 octets).
    case notRIFFWAVE
    /// A chunk's declared size runs past the end of the file.
    case chunkOverrun(chunk: String, offset: Int, declaredSize: UInt32, available: Int)
    /// The `fmt ` chunk is shorter than the 16 octets of a PCM format.
    case fmtChunkTooShort(size: Int)
    /// No `fmt ` chunk before the end of the file.
    case missingFmtChunk
    /// No `data` chunk.
    case missingDataChunk
    /// The format tag is not integer PCM (1, or 1 inside WAVE_FORMAT_EXTENSIBLE).
    case notPCM(formatTag: Int)
    /// Only 16-bit samples are read.
    case unsupportedBitsPerSample(Int)
    /// The format says zero channels.
    case noChannels
    /// The sample rate is 0 or above `WAVAudio.maximumSampleRate` (it sizes the resampler's kernel).
    case sampleRateOutOfRange(Int)
    /// The file could not be created or opened for writing.
    case cannotWrite(path: String)

    public var description: String {
        switch self {
        case .notRIFFWAVE:
            "not a WAV file (no RIFF/WAVE header)"
        case let .chunkOverrun(chunk, offset, declaredSize, available):
            "malformed WAV file: the \"\(chunk)\" chunk at offset \(offset) says \(declaredSize) octets, but only \(available) follow"
        case let .fmtChunkTooShort(size):
            "malformed WAV file: the fmt chunk has \(size) octets, a PCM format needs 16"
        case .missingFmtChunk:
            "malformed WAV file: no fmt chunk"
        case .missingDataChunk:
            "malformed WAV file: no data chunk"
        case let .notPCM(formatTag):
            "the WAV file is not integer PCM (format tag \(formatTag)); only 16-bit PCM is read"
        case let .unsupportedBitsPerSample(bits):
            "the WAV file has \(bits)-bit samples; only 16-bit PCM is read"
        case .noChannels:
            "malformed WAV file: the format says 0 channels"
        case let .sampleRateOutOfRange(rate):
            "the WAV file's sample rate \(rate) Hz is outside 1...\(WAVAudio.maximumSampleRate)"
        case let .cannotWrite(path):
            "cannot open \"\(path)\" for writing"
        }
    }
}
