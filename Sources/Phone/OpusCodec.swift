import AudioCodec
import COpus

/// Why libopus refused.
public struct OpusError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var what: String
    public var description: String { "opus \(what): \(String(cString: opus_strerror(code)))" }
}

/// Opus through libopus (RFC 6716), packetised as RFC 7587 says: one Opus packet per RTP
/// payload, timestamps at 48 kHz whatever the internal rate.
///
/// The codec runs mono at `sampleRate` (8, 12, 16, 24 or 48 kHz: narrowband to
/// fullband). `decode(nil)` runs the decoder's packet-loss concealment; with in-band
/// FEC on, `decodeRecovering(next:)` rebuilds a lost frame from the packet after it.
public final class OpusCodec: AudioCodec, @unchecked Sendable {
    // @unchecked: the libopus encoder and decoder states are not thread-safe; one call's media loop is their only user.
    public let sampleRate: Int
    public let samplesPerFrame: Int
    let encoder: OpaquePointer
    let decoder: OpaquePointer

    /// Encoder knobs (RFC 7587 §6 maps them to fmtp: useinbandfec, usedtx, maxplaybackrate).
    public struct Settings: Sendable {
        public var bitrate: Int32 = 24000
        public var complexity: Int32 = 5
        public var inbandFEC = true
        public var expectedLossPercent: Int32 = 5
        public var dtx = false
        public init() {}
    }

    public init(sampleRate: Int = 48000, frameMs: Int = 20, settings: Settings = Settings()) throws(OpusError) {
        self.sampleRate = sampleRate
        self.samplesPerFrame = sampleRate * frameMs / 1000
        var err: Int32 = 0
        guard let enc = opus_encoder_create(Int32(sampleRate), 1, OPUS_APPLICATION_VOIP, &err), err == OPUS_OK else {
            throw OpusError(code: err, what: "encoder at \(sampleRate) Hz")
        }
        guard let dec = opus_decoder_create(Int32(sampleRate), 1, &err), err == OPUS_OK else {
            opus_encoder_destroy(enc)
            throw OpusError(code: err, what: "decoder at \(sampleRate) Hz")
        }
        encoder = enc
        decoder = dec
        _ = nautilus_opus_set_signal_voice(enc)
        _ = nautilus_opus_set_bitrate(enc, settings.bitrate)
        _ = nautilus_opus_set_complexity(enc, settings.complexity)
        _ = nautilus_opus_set_inband_fec(enc, settings.inbandFEC ? 1 : 0)
        _ = nautilus_opus_set_packet_loss_perc(enc, settings.expectedLossPercent)
        _ = nautilus_opus_set_dtx(enc, settings.dtx ? 1 : 0)
        let bandwidth: Int32
        switch sampleRate {
        case ...8000: bandwidth = OPUS_BANDWIDTH_NARROWBAND
        case ...12000: bandwidth = OPUS_BANDWIDTH_MEDIUMBAND
        case ...16000: bandwidth = OPUS_BANDWIDTH_WIDEBAND
        case ...24000: bandwidth = OPUS_BANDWIDTH_SUPERWIDEBAND
        default: bandwidth = OPUS_BANDWIDTH_FULLBAND
        }
        _ = nautilus_opus_set_max_bandwidth(enc, bandwidth)
    }

    deinit {
        opus_encoder_destroy(encoder)
        opus_decoder_destroy(decoder)
    }

    /// RTP timestamp units per frame (always 48 kHz clock, RFC 7587 §4.1).
    public var rtpTimestampsPerFrame: UInt32 { UInt32(samplesPerFrame * 48000 / sampleRate) }

    public func encode(_ samples: [Int16]) -> [UInt8] {
        var input = samples
        if input.count < samplesPerFrame { input += [Int16](repeating: 0, count: samplesPerFrame - input.count) }
        var out = [UInt8](repeating: 0, count: 1275)
        let n = opus_encode(encoder, input, Int32(samplesPerFrame), &out, Int32(out.count))
        return n > 0 ? Array(out[0..<Int(n)]) : []
    }

    public func decode(_ payload: [UInt8]?) -> [Int16] {
        var pcm = [Int16](repeating: 0, count: samplesPerFrame)
        let n: Int32
        if let payload, !payload.isEmpty {
            n = opus_decode(decoder, payload, Int32(payload.count), &pcm, Int32(samplesPerFrame), 0)
        } else {
            n = opus_decode(decoder, nil, 0, &pcm, Int32(samplesPerFrame), 0)
        }
        return n > 0 ? Array(pcm[0..<Int(n)]) : [Int16](repeating: 0, count: samplesPerFrame)
    }

    /// Rebuilds a lost frame from the in-band FEC data of the packet that follows it.
    public func decodeRecovering(next payload: [UInt8]) -> [Int16] {
        var pcm = [Int16](repeating: 0, count: samplesPerFrame)
        let n = opus_decode(decoder, payload, Int32(payload.count), &pcm, Int32(samplesPerFrame), 1)
        return n > 0 ? Array(pcm[0..<Int(n)]) : decode(nil)
    }
}
