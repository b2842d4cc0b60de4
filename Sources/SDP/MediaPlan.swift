/// How a negotiated audio stream runs: codec, frame timing, RTP numbers, all checked.
///
/// Built from `NegotiatedAudio` (itself from a peer's SDP) before any codec, packetizer or
/// jitter buffer exists, so every number the network chose is bounded here and nothing
/// downstream does arithmetic on raw SDP values. `MediaCodec`, `CallMedia` and the phone
/// fuzzer all start from this.
public struct MediaPlan: Sendable, Hashable {
    public enum Codec: String, Sendable, CaseIterable { case pcmu, pcma, opus, ilbc }

    public var codec: Codec
    /// RTP clock rate (48000 for Opus whatever its internal rate, 8000 otherwise).
    public var rtpClockRate: Int
    /// Audio per packet in milliseconds (iLBC: its mode; others: the negotiated ptime).
    public var frameMs: Int
    /// RTP timestamp units per packet.
    public var timestampsPerFrame: UInt32
    /// Rate the codec itself runs at (Opus: 8000…48000 after the peer's maxplaybackrate).
    public var codecRate: Int
    /// Samples per frame at `codecRate`.
    public var samplesPerFrame: Int
    /// iLBC mode (20 or 30), nil for other codecs.
    public var ilbcMode: Int?
    public var payloadType: UInt8
    public var telephoneEventPayloadType: UInt8?
    /// Packet time for telephone events (RFC 4733: one update per packet time).
    public var eventPacketMs: Int

    /// Opus internal rates, narrowband to fullband.
    public static let opusRates = [8000, 12000, 16000, 24000, 48000]

    /// - Parameter opusRate: the Opus rate we want; a lower `maxplaybackrate` from the peer
    ///   (RFC 7587 §6.1) lowers it further.
    public init(_ n: NegotiatedAudio, opusRate: Int = 48000) throws(OfferAnswerError) {
        guard AudioFormat.payloadTypes.contains(n.format.payloadType) else {
            throw OfferAnswerError("payload type \(n.format.payloadType) is not 0…127")
        }
        payloadType = UInt8(n.format.payloadType)
        if let te = n.telephoneEventPayloadType, AudioFormat.payloadTypes.contains(te), te != n.format.payloadType {
            telephoneEventPayloadType = UInt8(te)
        } else {
            telephoneEventPayloadType = nil
        }
        // NegotiatedAudio is public and may be built by hand: clamp again
        let ptime = PacketTime.negotiate(requested: n.ptime, maximum: nil, encoding: n.format.encoding)
        switch n.format.encoding.lowercased() {
        case "pcmu", "pcma":
            codec = n.format.encoding.lowercased() == "pcmu" ? .pcmu : .pcma
            rtpClockRate = 8000; codecRate = 8000; frameMs = ptime; ilbcMode = nil
        case "opus":
            codec = .opus
            var rate = MediaPlan.opusRates.last { $0 <= opusRate } ?? 8000
            if let peer = n.remoteFmtp.flatMap({ SDPMedia.fmtpValue($0, "maxplaybackrate") }).flatMap({ Int($0) }) {
                rate = Swift.min(rate, MediaPlan.opusRates.first { $0 >= peer } ?? 48000)
            }
            rtpClockRate = 48000; codecRate = rate; frameMs = ptime; ilbcMode = nil
        case "ilbc":
            // RFC 3952 §5: 30 ms unless both sides can do 20 ms
            let mode = n.ilbcMode == 20 ? 20 : 30
            codec = .ilbc
            rtpClockRate = 8000; codecRate = 8000; frameMs = mode; ilbcMode = mode
        default:
            throw OfferAnswerError("no codec implementation for \(n.format.encoding)")
        }
        samplesPerFrame = codecRate / 1000 * frameMs
        timestampsPerFrame = UInt32(rtpClockRate / 1000 * frameMs)
        eventPacketMs = PacketTime.negotiate(requested: n.ptime, maximum: nil, encoding: "telephone-event")
    }

    /// Jitter buffer bound in frames: four times its maximum delay, at least 256 frames (a
    /// receiver whose loop stalled catches up through it; only a flood reaches the bound).
    /// With payloads capped at `maximumPayload` that is at most ~400 kB per call.
    public func jitterCapacity(maximumDelay: Double) -> Int {
        let frames = maximumDelay.isFinite && maximumDelay > 0 ? Int(Swift.min(maximumDelay, 10) * 1000) / frameMs : 0
        return Swift.max(256, 4 * frames)
    }

    /// Largest payload a voice packet of ours may carry (Opus: 1275 octets per frame).
    public static let maximumPayload = 1500
}
