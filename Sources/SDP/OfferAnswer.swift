/// An audio format the local side can use, in order of preference.
public struct AudioFormat: Sendable, Hashable {
    /// Encoding name as in rtpmap: "opus", "PCMU", "PCMA", "iLBC", "telephone-event".
    public var encoding: String
    public var clockRate: Int
    public var channels: Int
    /// Payload type we offer (static types keep theirs; dynamic ones are 96…127).
    public var payloadType: Int
    /// fmtp parameters we send, e.g. "mode=20" (iLBC) or "useinbandfec=1" (Opus).
    public var fmtp: String?

    public init(encoding: String, clockRate: Int, channels: Int = 1, payloadType: Int, fmtp: String? = nil) {
        self.encoding = encoding
        self.clockRate = clockRate
        self.channels = channels
        self.payloadType = payloadType
        self.fmtp = fmtp
    }

    public static let pcmu = AudioFormat(encoding: "PCMU", clockRate: 8000, payloadType: 0)
    public static let pcma = AudioFormat(encoding: "PCMA", clockRate: 8000, payloadType: 8)
    /// Opus is always signalled as 48000/2 (RFC 7587 §7).
    public static let opus = AudioFormat(encoding: "opus", clockRate: 48000, channels: 2, payloadType: 111, fmtp: "useinbandfec=1")
    public static func ilbc(mode: Int = 30) -> AudioFormat {
        AudioFormat(encoding: "iLBC", clockRate: 8000, payloadType: 97, fmtp: "mode=\(mode)")
    }
    public static let telephoneEvent = AudioFormat(encoding: "telephone-event", clockRate: 8000, payloadType: 101, fmtp: "0-16")

    /// RTP payload types (7 bits).
    public static let payloadTypes = 0...127

    func matches(_ map: SDPRTPMap) -> Bool {
        map.encoding.lowercased() == encoding.lowercased() && map.clockRate == clockRate
    }

    var rtpmap: String {
        "\(payloadType) \(encoding)/\(clockRate)" + (channels > 1 ? "/\(channels)" : "")
    }
}

/// Which side's codec preference an answer follows.
public enum CodecOrder: String, Sendable, CaseIterable {
    /// The offerer's order (RFC 3264 §6.1): the first codec in the offer we support.
    case offerer
    /// Our own order: the first of our codecs the offer lists.
    case local
}

/// What both sides agreed on for the audio stream, from the local side's point of view.
public struct NegotiatedAudio: Sendable, Hashable {
    /// The codec, with the payload type both use for it (the offerer's number).
    public var format: AudioFormat
    /// fmtp the remote side sent for that codec.
    public var remoteFmtp: String?
    public var telephoneEventPayloadType: Int?
    public var remoteAddress: String
    public var remotePort: Int
    public var remoteRTCPPort: Int
    /// Packet time in milliseconds.
    public var ptime: Int
    /// What this side does with the stream.
    public var direction: SDPDirection

    public init(format: AudioFormat, remoteFmtp: String?, telephoneEventPayloadType: Int?, remoteAddress: String,
                remotePort: Int, remoteRTCPPort: Int, ptime: Int, direction: SDPDirection) {
        self.format = format
        self.remoteFmtp = remoteFmtp
        self.telephoneEventPayloadType = telephoneEventPayloadType
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.remoteRTCPPort = remoteRTCPPort
        self.ptime = ptime
        self.direction = direction
    }

    /// iLBC frame length: 30 ms if either side asked for mode=30 (RFC 3952 §5).
    public var ilbcMode: Int? {
        guard format.encoding.lowercased() == "ilbc" else { return nil }
        let modes = [format.fmtp, remoteFmtp].compactMap { $0 }.compactMap { SDPMedia.fmtpValue($0, "mode") }.compactMap { Int($0) }
        return modes.contains(30) || modes.isEmpty ? 30 : 20
    }
}

/// Why no audio could be agreed.
public struct OfferAnswerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var detail: String
    public init(_ detail: String) { self.detail = detail }
    public var description: String { detail }
}

extension SDPMedia {
    /// A value out of `a=b;c=d` fmtp text.
    public static func fmtpValue(_ fmtp: String, _ key: String) -> String? {
        for part in fmtp.split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].trimmingCharacters(in: " ") == key { return kv[1].trimmingCharacters(in: " ") }
        }
        return nil
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}

/// RFC 3264 offer/answer for one audio stream.
public enum OfferAnswer {
    /// Builds an offer listing `formats` in preference order (telephone-event last if given).
    public static func offer(formats: [AudioFormat], address: String, port: Int, ptime: Int = 20,
                             direction: SDPDirection = .sendrecv, sessionID: String, version: UInt64 = 1) -> SessionDescription {
        var m = SDPMedia(port: port, formats: formats.map { String($0.payloadType) })
        for f in formats {
            m.attributes.append(SDPAttribute("rtpmap", f.rtpmap))
            if let fmtp = f.fmtp { m.attributes.append(SDPAttribute("fmtp", "\(f.payloadType) \(fmtp)")) }
        }
        m.attributes.append(SDPAttribute("ptime", String(ptime)))
        m.setDirection(direction)
        return SessionDescription(origin: SDPOrigin(sessionID: sessionID, sessionVersion: version, address: address),
                                  connection: SDPConnection(address: address), media: [m])
    }

    /// Answers an offer: the first audio stream gets the offerer's most preferred codec we
    /// support, with the offerer's payload type; other streams are refused with port 0.
    ///
    /// `order`: `.offerer` (the default, RFC 3264 §6.1 "SHOULD") picks the first codec in the
    /// offer's m= line that we support; `.local` picks the first of `supported` that the offer lists.
    public static func answer(_ offer: SessionDescription, supported: [AudioFormat], address: String, port: Int,
                              direction: SDPDirection = .sendrecv, sessionID: String, version: UInt64 = 1,
                              order: CodecOrder = .offerer)
        throws(OfferAnswerError) -> (SessionDescription, NegotiatedAudio) {
        var answer = SessionDescription(origin: SDPOrigin(sessionID: sessionID, sessionVersion: version, address: address),
                                        connection: SDPConnection(address: address))
        var negotiated: NegotiatedAudio?
        for m in offer.media {
            guard negotiated == nil, m.media == "audio", m.port != 0, m.proto.hasPrefix("RTP/") else {
                answer.media.append(SDPMedia(media: m.media, port: 0, proto: m.proto, formats: m.formats.isEmpty ? ["0"] : [m.formats[0]]))
                continue
            }
            var chosen: AudioFormat?
            var events: AudioFormat?
            // payload types are 7 bits (RFC 3550 §5.1): a larger number in the offer names nothing we can send
            let offered = m.formats.compactMap { fmt -> (Int, SDPRTPMap)? in
                guard let pt = Int(fmt), AudioFormat.payloadTypes.contains(pt), let map = m.rtpmap(pt) else { return nil }
                return (pt, map)
            }
            let candidates: [(Int, SDPRTPMap)]
            switch order {
            case .offerer: candidates = offered
            case .local:
                candidates = supported.flatMap { f in offered.filter { f.matches($0.1) } }
                    + offered.filter { $0.1.encoding.lowercased() == "telephone-event" }
            }
            for (pt, map) in candidates {
                if chosen == nil, var f = supported.first(where: { $0.matches(map) && $0.encoding.lowercased() != "telephone-event" }) {
                    f.payloadType = pt
                    if f.encoding.lowercased() == "ilbc" {
                        // answer mode=30 if the offer said 30 or nothing (RFC 3952 §5)
                        let offered = m.fmtp(pt).flatMap { SDPMedia.fmtpValue($0, "mode") }
                        let ours = f.fmtp.flatMap { SDPMedia.fmtpValue($0, "mode") }
                        f.fmtp = "mode=" + (offered == "20" && ours == "20" ? "20" : "30")
                    }
                    chosen = f
                }
                if events == nil, map.encoding.lowercased() == "telephone-event", map.clockRate == 8000,
                   var e = supported.first(where: { $0.matches(map) }) {
                    e.payloadType = pt
                    events = e
                }
            }
            guard let chosen, let conn = offer.connection(for: m) else {
                answer.media.append(SDPMedia(media: m.media, port: 0, proto: m.proto, formats: [m.formats.first ?? "0"]))
                continue
            }
            let dir = m.direction.answer(wanting: direction)
            let formats = [chosen] + (events.map { [$0] } ?? [])
            var am = SDPMedia(port: port, proto: m.proto, formats: formats.map { String($0.payloadType) })
            for f in formats {
                am.attributes.append(SDPAttribute("rtpmap", f.rtpmap))
                if let fmtp = f.fmtp { am.attributes.append(SDPAttribute("fmtp", "\(f.payloadType) \(fmtp)")) }
            }
            // (iLBC's packet time is its mode whatever a=ptime says; the answer echoes the offer's
            // ptime as before: pjsua2 packs two frames per packet when told a=ptime:30 with mode=30)
            let ptime = PacketTime.negotiate(requested: m.ptime, maximum: m.maxptime, encoding: chosen.encoding)
            am.attributes.append(SDPAttribute("ptime", String(ptime)))
            am.setDirection(dir)
            answer.media.append(am)
            negotiated = NegotiatedAudio(format: chosen, remoteFmtp: m.fmtp(chosen.payloadType),
                                         telephoneEventPayloadType: events?.payloadType,
                                         remoteAddress: conn.address, remotePort: m.port,
                                         remoteRTCPPort: m.effectiveRTCPPort, ptime: ptime, direction: dir)
        }
        guard let negotiated else { throw OfferAnswerError("no audio codec in common with the offer") }
        return (answer, negotiated)
    }

    /// What the offerer learns from the answer.
    public static func negotiated(offer: SessionDescription, answer: SessionDescription) throws(OfferAnswerError) -> NegotiatedAudio {
        guard let om = offer.media.first(where: { $0.media == "audio" }),
              let am = answer.media.first(where: { $0.media == "audio" }) else { throw OfferAnswerError("no audio stream in answer") }
        guard am.port != 0 else { throw OfferAnswerError("the answer refused the audio stream") }
        guard let conn = answer.connection(for: am) else { throw OfferAnswerError("the answer has no connection address") }
        var format: AudioFormat?
        var events: Int?
        for fmt in am.formats {
            guard let pt = Int(fmt), AudioFormat.payloadTypes.contains(pt), let map = am.rtpmap(pt) else { continue }
            if map.encoding.lowercased() == "telephone-event" { events = events ?? pt; continue }
            if format == nil, let opt = om.formats.compactMap({ Int($0) }).first(where: { om.rtpmap($0).map { $0.encoding.lowercased() == map.encoding.lowercased() && $0.clockRate == map.clockRate } ?? false }) {
                format = AudioFormat(encoding: map.encoding, clockRate: map.clockRate, channels: map.channels, payloadType: pt, fmtp: om.fmtp(opt))
            }
        }
        guard let format else { throw OfferAnswerError("the answer chose no codec we offered") }
        let dir: SDPDirection
        switch am.direction {
        case .sendonly: dir = .recvonly
        case .recvonly: dir = .sendonly
        case let d: dir = d
        }
        return NegotiatedAudio(format: format, remoteFmtp: am.fmtp(format.payloadType), telephoneEventPayloadType: events,
                               remoteAddress: conn.address, remotePort: am.port, remoteRTCPPort: am.effectiveRTCPPort,
                               ptime: PacketTime.negotiate(requested: am.ptime ?? om.ptime, maximum: am.maxptime, encoding: format.encoding),
                               direction: om.direction == .sendonly && dir == .sendrecv ? .sendonly : dir)
    }
}
