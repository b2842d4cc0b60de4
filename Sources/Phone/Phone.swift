import FoundationEssentials
import NIOCore
import NIOPosix
import SIP
import Timekeeping
import SDP
import RTP

/// Everything a softphone needs to know, from an account file and flags.
public struct PhoneConfiguration: Sendable {
    public var user = "softphone"
    public var displayName: String?
    /// Domain of our address of record; defaults to the listen address.
    public var domain: String?
    public var password: String?
    public var authUser: String?
    /// Registrar URI, e.g. "sip:127.0.0.1:5160"; nil means no registration.
    public var registrar: String?
    public var registrationExpires = 3600
    public var outboundProxy: String?
    public var listenHost = "127.0.0.1"
    /// 0 picks a free port.
    public var listenPort = 5060
    public var udp = true
    public var tcp = true
    /// Transport for URIs that name none.
    public var defaultTransport: SIPTransportKind = .udp
    /// Offered in this order; an answer follows the offerer's order unless `codecOrder` is `.local`.
    public var codecs: [CodecChoice] = CodecChoice.defaults
    public var codecOrder: CodecOrder = .offerer
    /// Digest realm credentials may answer (nil: only challenges from the registrar or outbound proxy).
    public var authRealm: String?
    /// Most calls at once (a further INVITE gets 486 Busy Here).
    public var maximumCalls = 8
    /// Most inbound SIP/TCP connections at once (further ones are closed).
    public var maximumTCPConnections = 64
    /// Seconds of silence after which an inbound SIP/TCP connection is closed.
    public var tcpIdleTimeout = 120
    /// Opus encoder knobs (bitrate, complexity, in-band FEC, expected loss, DTX).
    public var opus = OpusCodec.Settings()
    /// Opus internal rate: 8000 (narrowband), 12000, 16000 (wideband), 24000, 48000 (fullband).
    public var opusRate = 48000
    public var ptime = 20
    /// iLBC frame mode we offer and accept: 20 or 30 ms (RFC 3952: 30 unless both say 20).
    public var ilbcMode = 30
    /// Test aid: drop this share (percent) of our outgoing voice packets, as a lossy network would.
    public var rtpSendLossPercent = 0.0
    public var rtpPorts: ClosedRange<Int> = 16384...32767
    /// Answer every incoming call at once.
    public var autoAnswer = false
    public var playFile: String?
    public var recordFile: String?
    /// Send a tone of this frequency when no file or device gives audio.
    public var toneHz: Double?
    public var captureDevice: String?
    public var playbackDevice: String?
    public init() {}
}

/// What the phone reports, one event per line in `--json` mode.
public enum PhoneEvent: Sendable, Equatable {
    case listening(host: String, port: Int)
    case registered(expires: Int)
    case registrationFailed(status: Int, reason: String)
    case unregistered
    /// `name`: the caller's display name, as the caller wrote it (printing escapes it).
    case incomingCall(call: String, from: String, name: String?)
    case ringing(call: String, status: Int)
    case answered(call: String, codec: String)
    case established(call: String)
    case dtmf(call: String, digit: String)
    case message(from: String, text: String)
    case requestResult(id: String, status: Int, reason: String)
    case ended(call: String, reason: CallEndReason, statistics: CallStatistics?)
    case mediaEnded(call: String)
    /// A re-INVITE changed the stream; `direction` is what this side now does.
    case mediaUpdated(call: String, direction: String)
    case error(String)
}

/// The softphone: a SIP user agent core driven by SwiftNIO sockets and timers, with one
/// `CallMedia` per call. All state lives on one event loop.
public final class Phone: @unchecked Sendable {
    // @unchecked: the mutable state is confined to `loop` (every action hops onto it); `start()` sets `transport` and `port` first.
    public let configuration: PhoneConfiguration
    let group: EventLoopGroup
    let ownsGroup: Bool
    let loop: EventLoop
    var ua: UserAgent!
    var transport: SIPTransport!
    var timer: Scheduled<Void>?
    /// Where every `now` handed to the user agent comes from (`SystemClock` in the softphone).
    let clock: any InstantClock
    var media: [CallHandle: CallMedia] = [:]
    var offers: [CallHandle: SessionDescription] = [:]
    var callCount = 0
    public let events: AsyncStream<PhoneEvent>
    let continuation: AsyncStream<PhoneEvent>.Continuation

    public init(configuration: PhoneConfiguration, group: EventLoopGroup? = nil, clock: any InstantClock = SystemClock()) {
        self.configuration = configuration
        self.clock = clock
        self.ownsGroup = group == nil
        // One thread: every channel (SIP over UDP and TCP, each call's RTP/RTCP) and timer runs on
        // `loop`, so a second event loop thread would only sit idle holding its stack.
        self.group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.loop = self.group.next()
        (events, continuation) = AsyncStream.makeStream(of: PhoneEvent.self)
    }

    /// The port SIP listens on (useful with port 0).
    public private(set) var port = 0

    /// Binds the SIP sockets.
    public func start() throws {
        let c = configuration
        transport = SIPTransport(group: group, loop: loop, host: c.listenHost, port: c.listenPort,
                                 maximumInbound: c.maximumTCPConnections, idleTimeout: .seconds(Int64(c.tcpIdleTimeout)),
                                 onMessage: { [weak self] bytes, from in self?.received(bytes, from: from) },
                                 onError: { [weak self] why in self?.emit(.error(why)) })
        try transport.start(udp: c.udp, tcp: c.tcp)
        port = transport.port
        var uc = UserAgentConfiguration(user: c.user, domain: c.domain ?? c.listenHost, contactHost: SIPHost(address: c.listenHost),
                                        contactPort: port, defaultTransport: c.defaultTransport, password: c.password)
        uc.displayName = c.displayName
        uc.authUser = c.authUser
        uc.registrationExpires = c.registrationExpires
        uc.authRealm = c.authRealm
        uc.maximumCalls = c.maximumCalls
        if let r = c.registrar { uc.registrar = try SIPURI(parsing: r) }
        if let p = c.outboundProxy {
            let u = try SIPURI(parsing: p)
            uc.outboundProxy = SIPEndpoint(u.transport == "tcp" ? .tcp : .udp, u.host.address, u.port ?? 5060)
        }
        uc.userAgentName = "Nautilus softphone 1.0"
        let cfg = uc
        try loop.submit { self.ua = UserAgent(configuration: cfg) }.wait()
        emit(.listening(host: c.listenHost, port: port))
    }

    var now: Instant { clock.now() }

    func emit(_ e: PhoneEvent) { continuation.yield(e) }

    func onLoop(_ body: @escaping () -> [UserAgentOutput]) {
        loop.execute { self.process(body()) }
    }

    func received(_ bytes: [UInt8], from: SIPEndpoint) {
        loop.execute { self.process(self.ua.receive(bytes: bytes, from: from, now: self.now)) }
    }

    func process(_ outputs: [UserAgentOutput]) {
        for o in outputs {
            switch o {
            case .send(let m, let to): transport.send(m.bytes, to: to)
            case .event(let e): handle(e)
            }
        }
        timer?.cancel()
        if let d = ua.nextDeadline {
            // a deadline from a peer's value (Expires: 2^62) must not overflow the nanoseconds
            let delay: Duration = min(max(.zero, d - now), .seconds(86_400))
            timer = loop.scheduleTask(in: .nanoseconds(delay.wholeNanoseconds + 1000)) { [weak self] in
                guard let self else { return }
                self.process(self.ua.advance(to: self.now))
            }
        }
    }

    // MARK: actions

    public func register() { onLoop { self.ua.register(now: self.now) } }
    public func unregister() { onLoop { self.ua.register(now: self.now, expires: 0) } }

    /// Calls `uri`; the handle comes back in events.
    public func call(_ uri: String) throws {
        let target = try SIPURI(parsing: uri)
        loop.execute {
            CallMedia.bind(loop: self.loop, host: self.configuration.listenHost, ports: self.configuration.rtpPorts, clock: self.clock).whenComplete { r in
                switch r {
                case .success(let m):
                    let offer = OfferAnswer.offer(formats: self.formats, address: self.sdpAddress, port: m.localPort,
                                                  ptime: self.configuration.ptime, sessionID: String(UInt32.random(in: 1...UInt32.max)))
                    let (handle, out) = self.ua.call(target, sdp: offer.bytes, now: self.now)
                    self.media[handle] = m
                    self.offers[handle] = offer
                    self.process(out)
                case .failure(let error):
                    self.emit(.error("cannot open RTP ports: \(error)"))
                    self.emit(.ended(call: "", reason: .mediaFailure("no RTP port"), statistics: nil))
                }
            }
        }
    }

    public func hangUp(_ handle: CallHandle? = nil) {
        onLoop {
            let handles = handle.map { [$0] } ?? self.ua.activeCalls
            return handles.flatMap { self.ua.hangUp($0, now: self.now) }
        }
    }

    public func sendMessage(_ uri: String, text: String) throws {
        let target = try SIPURI(parsing: uri)
        onLoop { self.ua.sendMessage(to: target, text: text, now: self.now).1 }
    }

    public func sendOptions(_ uri: String) throws {
        let target = try SIPURI(parsing: uri)
        onLoop { self.ua.sendOptions(to: target, now: self.now).1 }
    }

    /// Puts every call on hold (re-INVITE offering sendonly, RFC 3264 §8.4) or takes it off.
    public func hold(_ on: Bool = true) {
        loop.execute {
            for h in self.ua.activeCalls {
                guard let m = self.media[h], let old = self.offers[h] else { continue }
                let offer = OfferAnswer.offer(formats: self.formats, address: self.sdpAddress, port: m.localPort,
                                              ptime: self.configuration.ptime, direction: on ? .sendonly : .sendrecv,
                                              sessionID: old.origin.sessionID, version: old.origin.sessionVersion + 1)
                self.offers[h] = offer
                self.process(self.ua.reinvite(h, sdp: offer.bytes, now: self.now))
            }
        }
    }

    public func sendDTMF(_ digits: String) {
        loop.execute { for m in self.media.values { m.queueDTMF(digits) } }
    }

    /// Whether a request of ours still awaits its final answer (a BYE being retransmitted, say).
    public func hasPendingRequests() async -> Bool {
        (try? await loop.submit { self.ua?.hasPendingRequests ?? false }.get()) ?? false
    }

    /// Hangs up, closes sockets and stops the event loops.
    public func shutdown() {
        try? loop.submit {
            self.timer?.cancel()
            for (h, m) in self.media { _ = m.stop(); self.media[h] = nil }
            self.transport?.close()
        }.wait()
        continuation.finish()
        if ownsGroup { try? group.syncShutdownGracefully() }
    }

    var formats: [AudioFormat] {
        configuration.codecs.map { choice -> AudioFormat in
            if choice == .ilbc { return .ilbc(mode: configuration.ilbcMode) }
            guard choice == .opus else { return choice.format }
            // RFC 7587 §6.1: tell the peer what we decode and want
            var f = choice.format
            var params: [String] = []
            if configuration.opusRate < 48000 { params.append("maxplaybackrate=\(configuration.opusRate)") }
            if configuration.opus.inbandFEC { params.append("useinbandfec=1") }
            if configuration.opus.dtx { params.append("usedtx=1") }
            f.fmtp = params.isEmpty ? nil : params.joined(separator: ";")
            return f
        } + [.telephoneEvent]
    }
    var sdpAddress: String { configuration.listenHost == "::" ? "::1" : (configuration.listenHost == "0.0.0.0" ? "127.0.0.1" : configuration.listenHost) }

    // MARK: user agent events

    func handle(_ e: UserAgentEvent) {
        switch e {
        case .registered(let exp): emit(.registered(expires: exp))
        case .registrationFailed(let s, let r): emit(.registrationFailed(status: s, reason: r))
        case .unregistered: emit(.unregistered)
        case .incomingCall(let h, let from, let offer):
            emit(.incomingCall(call: h, from: from.uri.description, name: from.displayName))
            if configuration.autoAnswer { answerIncoming(h, offer: offer) }
            else { pendingIncoming.append((h, offer)) }
        case .ringing(let h, let s): emit(.ringing(call: h, status: s))
        case .answered(let h, let sdp): callerGotAnswer(h, sdp: sdp)
        case .established(let h): emit(.established(call: h))
        case .reoffer(let h, let sdp): answerReoffer(h, sdp: sdp)
        case .ended(let h, let reason):
            let stats = media.removeValue(forKey: h)?.stop()
            offers[h] = nil
            emit(.ended(call: h, reason: reason, statistics: stats))
        case .messageReceived(let from, _, let body):
            emit(.message(from: from.uri.description, text: String(decoding: body, as: UTF8.self)))
        case .requestCompleted(let id, let s, let r, _):
            emit(.requestResult(id: id, status: s, reason: r))
        }
    }

    var pendingIncoming: [(CallHandle, [UInt8])] = []

    /// Answers the oldest call that rang while auto-answer was off.
    public func answerNext() {
        loop.execute {
            guard !self.pendingIncoming.isEmpty else { return }
            let (h, offer) = self.pendingIncoming.removeFirst()
            self.answerIncoming(h, offer: offer)
        }
    }

    func sourceAndSink(rate: Int) -> (AudioSource?, AudioSink?) {
        let c = configuration
        var source: AudioSource?
        var sink: AudioSink?
        do {
            if let f = c.playFile { source = try WAVFileSource(path: f, sampleRate: rate) }
            else if let d = c.captureDevice { source = try ALSADevice(name: d, direction: .capture, sampleRate: rate) }
            else if let hz = c.toneHz { source = ToneSource(frequencies: [hz], amplitude: 0.5, sampleRate: rate) }
            else { source = SilenceSource(sampleRate: rate) }
            if var path = c.recordFile {
                callCount += 1
                if callCount > 1 { path = path.replacing(".wav", with: "-\(callCount).wav") }
                sink = try WAVFileSink(path: path, inputRate: rate)
            } else if let d = c.playbackDevice {
                sink = try ALSADevice(name: d, direction: .playback, sampleRate: rate)
            }
        } catch {
            emit(.error("audio: \(error)"))
        }
        return (source, sink)
    }

    func startMedia(_ h: CallHandle, _ m: CallMedia, _ neg: NegotiatedAudio) throws {
        let codec = try MediaCodec(negotiated: neg, opus: configuration.opus, opusRate: configuration.opusRate)
        let (source, sink) = sourceAndSink(rate: codec.codec.sampleRate)
        m.onDTMF = { [weak self] d in self?.emit(.dtmf(call: h, digit: String(d))) }
        m.onSourceEnded = { [weak self] in self?.emit(.mediaEnded(call: h)) }
        m.dtx = configuration.opus.dtx
        m.sendLossPercent = configuration.rtpSendLossPercent
        try m.start(neg, codec: codec, source: source, sink: sink)
    }

    func answerIncoming(_ h: CallHandle, offer: [UInt8]) {
        let sdp: SessionDescription
        do { sdp = try SessionDescription(parsing: offer) } catch {
            emit(.error("cannot answer \(h): \(error)"))
            process(ua.reject(h, status: 488, now: now))
            return
        }
        CallMedia.bind(loop: loop, host: configuration.listenHost, ports: configuration.rtpPorts, clock: clock).whenComplete { r in
            do {
                let m = try r.get()
                self.media[h] = m
                let (answer, neg) = try OfferAnswer.answer(sdp, supported: self.formats, address: self.sdpAddress, port: m.localPort,
                                                           sessionID: String(UInt32.random(in: 1...UInt32.max)),
                                                           order: self.configuration.codecOrder)
                try self.startMedia(h, m, neg)
                self.emit(.answered(call: h, codec: neg.format.encoding))
                self.process(self.ua.answer(h, sdp: answer.bytes, now: self.now))
            } catch {
                self.emit(.error("cannot answer \(h): \(error)"))
                self.media.removeValue(forKey: h).map { _ = $0.stop() }
                self.process(self.ua.reject(h, status: 488, now: self.now))
            }
        }
    }

    func callerGotAnswer(_ h: CallHandle, sdp: [UInt8]) {
        guard let m = media[h], let offer = offers[h] else { return }
        do {
            let answer = try SessionDescription(parsing: sdp)
            let neg = try OfferAnswer.negotiated(offer: offer, answer: answer)
            if m.codec == nil {
                try startMedia(h, m, neg)
                emit(.answered(call: h, codec: neg.format.encoding))
            } else {
                m.update(neg)
                emit(.mediaUpdated(call: h, direction: neg.direction.rawValue))
            }
        } catch {
            emit(.error("unusable answer: \(error)"))
            process(ua.hangUp(h, now: now))
        }
    }

    func answerReoffer(_ h: CallHandle, sdp: [UInt8]) {
        guard let m = media[h], let offer = try? SessionDescription(parsing: sdp),
              let (answer, neg) = try? OfferAnswer.answer(offer, supported: formats, address: sdpAddress, port: m.localPort,
                                                           sessionID: String(UInt32.random(in: 1...UInt32.max)), version: 2,
                                                           order: configuration.codecOrder) else {
            process(ua.answerReoffer(h, sdp: nil, now: now))
            return
        }
        m.update(neg)
        emit(.mediaUpdated(call: h, direction: neg.direction.rawValue))
        process(ua.answerReoffer(h, sdp: answer.bytes, now: now))
    }
}
