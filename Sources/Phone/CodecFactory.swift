import AudioCodec
import ILBC
import SDP

/// The codecs this phone offers, by name as flags and SDP spell them.
public enum CodecChoice: String, Sendable, CaseIterable {
    case opus, pcmu, pcma, ilbc

    /// What the phone offers and accepts without `--codec`: every codec it has, iLBC included.
    public static let defaults: [CodecChoice] = [.opus, .ilbc, .pcmu, .pcma]

    public var format: AudioFormat {
        switch self {
        case .opus: return .opus
        case .pcmu: return .pcmu
        case .pcma: return .pcma
        case .ilbc: return .ilbc()
        }
    }
}

/// A codec instance for what offer/answer agreed, plus its RTP timing.
public struct MediaCodec {
    public var codec: any AudioCodec
    public var name: String
    /// RTP clock rate (48000 for Opus whatever the internal rate).
    public var rtpClockRate: Int
    /// RTP timestamp units per frame.
    public var timestampsPerFrame: UInt32
    /// Audio per frame (and per packet) in milliseconds, at least 10.
    public var frameMs: Int { max(10, codec.samplesPerFrame * 1000 / codec.sampleRate) }

    /// The checked numbers this codec runs with (frame time, RTP timing, payload types).
    public var plan: MediaPlan

    /// `opusRate` is the internal rate we want (8000 narrowband … 48000 fullband); a lower
    /// `maxplaybackrate` from the peer (RFC 7587 §6.1) lowers it further. Every value from
    /// the peer's SDP goes through `MediaPlan`, which bounds it, before any codec is built.
    public init(negotiated: NegotiatedAudio, opus settings: OpusCodec.Settings = OpusCodec.Settings(), opusRate: Int = 48000) throws {
        let plan = try MediaPlan(negotiated, opusRate: opusRate)
        self.plan = plan
        rtpClockRate = plan.rtpClockRate
        timestampsPerFrame = plan.timestampsPerFrame
        switch plan.codec {
        case .pcmu:
            codec = G711Codec(law: .mu, frameMs: plan.frameMs); name = "PCMU"
        case .pcma:
            codec = G711Codec(law: .a, frameMs: plan.frameMs); name = "PCMA"
        case .opus:
            codec = try OpusCodec(sampleRate: plan.codecRate, frameMs: plan.frameMs, settings: settings); name = "opus"
        case .ilbc:
            codec = ILBCCodec(mode: plan.ilbcMode == 20 ? .ms20 : .ms30); name = "iLBC"
        }
    }
}
