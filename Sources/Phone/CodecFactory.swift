import AudioCodec
import ILBC
import SDP

/// The codecs this phone offers, by name as flags and SDP spell them.
public enum CodecChoice: String, Sendable, CaseIterable {
    case opus, pcmu, pcma, ilbc

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

    /// `opusRate` is the internal rate we want (8000 narrowband … 48000 fullband); a lower
    /// `maxplaybackrate` from the peer (RFC 7587 §6.1) lowers it further.
    public init(negotiated: NegotiatedAudio, opus settings: OpusCodec.Settings = OpusCodec.Settings(), opusRate: Int = 48000) throws {
        let ptime = negotiated.ptime > 0 ? negotiated.ptime : 20
        switch negotiated.format.encoding.lowercased() {
        case "pcmu":
            codec = G711Codec(law: .mu, frameMs: ptime)
            name = "PCMU"; rtpClockRate = 8000; timestampsPerFrame = UInt32(8 * ptime)
        case "pcma":
            codec = G711Codec(law: .a, frameMs: ptime)
            name = "PCMA"; rtpClockRate = 8000; timestampsPerFrame = UInt32(8 * ptime)
        case "opus":
            var rate = opusRate
            if let peer = negotiated.remoteFmtp.flatMap({ SDPMedia.fmtpValue($0, "maxplaybackrate") }).flatMap(Int.init) {
                rate = min(rate, [8000, 12000, 16000, 24000, 48000].first { $0 >= peer } ?? 48000)
            }
            let opus = try OpusCodec(sampleRate: rate, frameMs: ptime, settings: settings)
            codec = opus
            name = "opus"; rtpClockRate = 48000; timestampsPerFrame = opus.rtpTimestampsPerFrame
        case "ilbc":
            // RFC 3952 §5: 30 ms unless both sides can do 20 ms.
            let mode: ILBCMode = negotiated.ilbcMode == 20 ? .ms20 : .ms30
            codec = ILBCCodec(mode: mode)
            name = "iLBC"; rtpClockRate = 8000; timestampsPerFrame = UInt32(mode.samplesPerFrame)
        default:
            throw OfferAnswerError("no codec implementation for \(negotiated.format.encoding)")
        }
    }
}
