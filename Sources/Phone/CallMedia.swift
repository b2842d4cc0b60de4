import FoundationEssentials
import NIOCore
import NIOPosix
import AudioCodec
import RTP
import SDP
import Timekeeping

/// What a call's media did, for the `ended` event.
public struct CallStatistics: Sendable, Codable, Equatable {
    public var codec: String
    public var packetsSent: Int
    public var packetsReceived: Int
    public var packetsLost: Int
    public var lossRatio: Double
    public var jitterMs: Double
    public var concealedFrames: Int
    public var mos: Double
    public var seconds: Double
    /// Audio per packet in milliseconds (iLBC: its mode, 20 or 30).
    public var frameMs: Int
    /// RTP/RTCP packets dropped because they came from another address or another SSRC.
    public var packetsRejected: Int = 0
}

/// The audio stream of one call: an RTP/RTCP socket pair, the codec, the jitter buffer,
/// and where audio comes from and goes to. Everything runs on one event loop; a timer
/// every packet time sends a frame and plays one out.
final class CallMedia {
    let loop: EventLoop
    let host: String
    let rtp: Channel
    let rtcp: Channel
    /// The phone's injected clock: RTP/RTCP timing, jitter measurement, and the SR's NTP time.
    let clock: any InstantClock
    var localPort: Int { rtp.localAddress?.port ?? 0 }
    var codec: MediaCodec?
    var negotiated: NegotiatedAudio?
    var session: RTPSession
    var jitter: JitterBuffer<[UInt8]>?
    var source: AudioSource?
    var sink: AudioSink?
    var remoteRTP: SocketAddress?
    var remoteRTCP: SocketAddress?
    /// Which packets belong to the call: the negotiated address, one SSRC (`RTPSourceGuard`).
    var sourceGuard: RTPSourceGuard?
    /// Bumped on every (re-)negotiation, so a slow name lookup cannot overwrite a newer address.
    var addressGeneration = 0
    var timer: RepeatedTask?
    var sampleOffset: UInt32 = 0
    var started: Instant?
    var dtmfReceiver = TelephoneEventReceiver()
    var outgoingDTMF: [(payload: [UInt8], marker: Bool)] = []
    var dtmfTimestamp: UInt32 = 0
    var packetsReceived = 0
    var onDTMF: (Character) -> Void = { _ in }
    var onSourceEnded: () -> Void = {}
    var sourceEnded = false
    /// Opus DTX: frames the encoder marks as silence (two octets or less) are not sent.
    var dtx = false
    /// Share (percent) of voice packets dropped before sending, to test loss end to end.
    var sendLossPercent = 0.0

    init(loop: EventLoop, host: String, rtp: Channel, rtcp: Channel, clock: any InstantClock) {
        self.loop = loop
        self.host = host
        self.rtp = rtp
        self.rtcp = rtcp
        self.clock = clock
        var g = SystemRandomNumberGenerator()
        session = RTPSession(ssrc: UInt32.random(in: 1...UInt32.max, using: &g), clockRate: 8000, cname: "softphone@\(host)",
                             initialSequence: UInt16.random(in: 0...0x7FFF, using: &g), initialTimestamp: UInt32.random(in: 0...UInt32.max / 2, using: &g))
    }

    /// Binds an even RTP port and the next one for RTCP within `ports` (tries up to 64 random pairs).
    static func bind(loop: EventLoop, host: String, ports: ClosedRange<Int>, clock: any InstantClock, attempts: Int = 64) -> EventLoopFuture<CallMedia> {
        var g = SystemRandomNumberGenerator()
        let span = max(1, (ports.upperBound - ports.lowerBound) / 2)
        let port = ports.lowerBound + 2 * Int.random(in: 0..<span, using: &g)
        let box = MediaInboundBox()
        let rtpFuture = DatagramBootstrap(group: loop)
            .channelInitializer { $0.pipeline.addHandler(DatagramInbound { b, a in box.media?.receive(b, from: a, rtcp: false) }) }
            .bind(host: host, port: port)
        let pair = rtpFuture.flatMap { rtp in
            DatagramBootstrap(group: loop)
                .channelInitializer { $0.pipeline.addHandler(DatagramInbound { b, a in box.media?.receive(b, from: a, rtcp: true) }) }
                .bind(host: host, port: port + 1)
                .map { rtcp -> CallMedia in
                    let m = CallMedia(loop: loop, host: host, rtp: rtp, rtcp: rtcp, clock: clock)
                    box.media = m
                    return m
                }
                .flatMapErrorThrowing { e in rtp.close(promise: nil); throw e }
        }
        return pair.flatMapError { e in
            attempts > 1 ? bind(loop: loop, host: host, ports: ports, clock: clock, attempts: attempts - 1) : loop.makeFailedFuture(e)
        }
    }

    var now: Instant { clock.now() }

    /// Starts sending and playing with what offer/answer agreed.
    func start(_ neg: NegotiatedAudio, codec c: MediaCodec, source: AudioSource?, sink: AudioSink?) throws {
        codec = c
        negotiated = neg
        self.source = source
        self.sink = sink
        var g = SystemRandomNumberGenerator()
        session = RTPSession(ssrc: session.ssrc, clockRate: c.rtpClockRate, cname: session.cname,
                             initialSequence: UInt16.random(in: 0...0x7FFF, using: &g), initialTimestamp: session.timestampBase)
        let maximumDelay = Duration.milliseconds(500)
        jitter = JitterBuffer(clockRate: c.rtpClockRate, frameDuration: c.timestampsPerFrame, maximumDelay: maximumDelay,
                              capacity: c.plan.jitterCapacity(maximumDelay: maximumDelay.secondsValue))
        setRemote(neg)
        started = started ?? now
        let ptime = TimeAmount.milliseconds(Int64(c.frameMs))
        timer?.cancel()
        framesDone = 0
        mediaStart = NIODeadline.now()
        // a timer with a fixed delay drifts by the work done in each tick; catch up on
        // the frames the wall clock says are due instead
        timer = loop.scheduleRepeatedTask(initialDelay: ptime, delay: .milliseconds(5)) { [weak self] _ in self?.catchUp() }
    }

    /// A re-INVITE changed the stream (hold, new address).
    func update(_ neg: NegotiatedAudio) {
        negotiated = neg
        setRemote(neg)
    }

    /// Where to send, and from where to accept: literals at once, names off the event loop
    /// (until a name resolves nothing is sent and nothing accepted).
    func setRemote(_ neg: NegotiatedAudio) {
        addressGeneration += 1
        let generation = addressGeneration
        if let rtpAddress = AddressResolver.literal(neg.remoteAddress, port: neg.remotePort) {
            apply(rtpAddress, rtcpPort: neg.remoteRTCPPort)
            return
        }
        remoteRTP = nil
        remoteRTCP = nil
        sourceGuard = nil
        AddressResolver.resolve(neg.remoteAddress, port: neg.remotePort, on: loop).whenSuccess { [weak self] a in
            guard let self, self.addressGeneration == generation else { return }
            self.apply(a, rtcpPort: neg.remoteRTCPPort)
        }
    }

    func apply(_ rtpAddress: SocketAddress, rtcpPort: Int) {
        remoteRTP = rtpAddress
        var rtcpAddress = rtpAddress
        // NIO's port setter traps above 65535: SDP gave the port, so check it here too
        if (1...65535).contains(rtcpPort) { rtcpAddress.port = rtcpPort }
        remoteRTCP = rtcpAddress
        let host = rtpAddress.ipAddress ?? ""
        let port = rtpAddress.port ?? 0
        if sourceGuard == nil { sourceGuard = RTPSourceGuard(host: host, port: port) } else { sourceGuard?.expect(host: host, port: port) }
    }

    func queueDTMF(_ digits: String) {
        guard negotiated != nil, let plan = codec?.plan, plan.telephoneEventPayloadType != nil else { return }
        for d in digits.prefix(64) {
            let packets = telephoneEventPayloads(digit: d, clockRate: 8000, durationMs: 120, packetMs: plan.eventPacketMs)
            outgoingDTMF += packets
            // a gap between digits
            outgoingDTMF += [([], false), ([], false)]
        }
    }

    var framesDone = 0
    var mediaStart = NIODeadline.now()

    func catchUp() {
        guard let c = codec else { return }
        let elapsed = Double((NIODeadline.now() - mediaStart).nanoseconds) / 1e9
        // one tick per codec frame: iLBC mode 30 sends 30 ms packets whatever a=ptime says
        let due = Int(elapsed * 1000) / c.frameMs
        var n = 0
        while framesDone < due, n < 10 {
            tick()
            framesDone += 1
            n += 1
        }
        // far behind (the process was stopped): skip rather than burst
        if framesDone < due { framesDone = due }
    }

    func tick() {
        guard var c = codec, let neg = negotiated else { return }
        let frame = c.codec.samplesPerFrame
        let sending = neg.direction == .sendrecv || neg.direction == .sendonly
        var samples = source?.read(frame)
        if samples == nil, source != nil, !sourceEnded {
            sourceEnded = true
            onSourceEnded()
        }
        if samples == nil { samples = [Int16](repeating: 0, count: frame) }
        if sending, let remoteRTP {
            if !outgoingDTMF.isEmpty, let pt = c.plan.telephoneEventPayloadType {
                let next = outgoingDTMF.removeFirst()
                if !next.payload.isEmpty {
                    if next.marker { dtmfTimestamp = sampleOffset }
                    let p = session.makePacket(payloadType: pt, payload: next.payload, sampleOffset: dtmfTimestamp, marker: next.marker, now: now)
                    rtp.writeAndFlush(AddressedEnvelope(remoteAddress: remoteRTP, data: rtp.allocator.buffer(bytes: p.bytes)), promise: nil)
                }
            } else {
                // A codec refuses only a frame of the wrong length, which tick() never makes; skip it like DTX.
                let payload = (try? c.codec.encode(samples!)) ?? []
                if payload.isEmpty || (dtx && payload.count <= 2) {
                    sampleOffset &+= c.timestampsPerFrame
                    codec = c
                    return
                }
                let p = session.makePacket(payloadType: c.plan.payloadType, payload: payload, sampleOffset: sampleOffset, now: now)
                // a dropped packet still took its sequence number, so the receiver sees a real gap
                if sendLossPercent <= 0 || Double.random(in: 0..<100) >= sendLossPercent {
                    rtp.writeAndFlush(AddressedEnvelope(remoteAddress: remoteRTP, data: rtp.allocator.buffer(bytes: p.bytes)), promise: nil)
                }
            }
        }
        sampleOffset &+= c.timestampsPerFrame
        if var jb = jitter {
            let out: [Int16]?
            switch jb.pop() {
            // A payload the codec cannot take (wrong size from the network) is concealed like a lost one.
            case .frame(let payload, _): out = (try? c.codec.decode(payload)) ?? (try? c.codec.decode(nil))
            case .lost: out = try? c.codec.decode(nil)
            case .waiting: out = packetsReceived > 0 ? [Int16](repeating: 0, count: frame) : nil
            }
            jitter = jb
            if let out { sink?.write(out) }
        }
        codec = c
        let t = now
        if session.rtcpDue(now: t), let remoteRTCP {
            let report = session.makeReport(now: t, wallClock: t)
            rtcp.writeAndFlush(AddressedEnvelope(remoteAddress: remoteRTCP, data: rtcp.allocator.buffer(bytes: report)), promise: nil)
        }
    }

    func receive(_ bytes: [UInt8], from: SocketAddress, rtcp isRTCP: Bool) {
        guard negotiated != nil, let plan = codec?.plan, sourceGuard != nil else { return }
        let host = from.ipAddress ?? ""
        if isRTCP || RTPPacket.looksLikeRTCP(bytes) {
            guard sourceGuard!.admitRTCP(host: host) else { return }
            _ = try? session.receive(bytes, now: now, isRTCP: true)
            return
        }
        // only the negotiated address, only its locked SSRC: nobody else injects audio or DTMF
        guard let header = try? RTPPacket(parsing: bytes),
              sourceGuard!.admit(host: host, port: from.port ?? 0, ssrc: header.ssrc, now: now) == .accept else { return }
        guard let received = try? session.receive(bytes, now: now, isRTCP: false) else { return }
        guard case .rtp(let p) = received else { return }
        if let pt = plan.telephoneEventPayloadType, p.payloadType == pt {
            if let d = dtmfReceiver.receive(p) { onDTMF(d) }
            return
        }
        guard p.payloadType == plan.payloadType, p.payload.count <= MediaPlan.maximumPayload else { return }
        packetsReceived += 1
        jitter?.insert(p.payload, timestamp: p.timestamp, arrival: now)
    }

    /// Stops the stream, sends RTCP BYE, closes files and sockets.
    func stop() -> CallStatistics? {
        timer?.cancel()
        timer = nil
        if let remoteRTCP {
            let t = now
            let bye = session.makeReport(now: t, wallClock: t, goodbye: true)
            rtcp.writeAndFlush(AddressedEnvelope(remoteAddress: remoteRTCP, data: rtcp.allocator.buffer(bytes: bye)), promise: nil)
        }
        sink?.close()
        sink = nil
        rtp.close(promise: nil)
        rtcp.close(promise: nil)
        guard let c = codec else { return nil }
        let remote = session.sources.values.max { $0.packetsReceived < $1.packetsReceived }
        let loss = remote?.lossRatio ?? 0
        let jitterS = remote?.jitterSeconds ?? 0
        let delay = (jitter?.targetDelay.secondsValue ?? 0.04) + Double(negotiated?.ptime ?? 20) / 1000
        return CallStatistics(codec: c.name, packetsSent: Int(session.packetsSent), packetsReceived: Int(remote?.packetsReceived ?? 0),
                              packetsLost: Int(max(0, remote?.cumulativeLost ?? 0)), lossRatio: loss, jitterMs: jitterS * 1000,
                              concealedFrames: jitter?.statistics.concealed ?? 0,
                              mos: (SignalMeasure.mos(codec: c.name, lossRatio: loss, delaySeconds: delay) * 100).rounded() / 100,
                              seconds: started.map { (now - $0).secondsValue } ?? 0, frameMs: c.frameMs,
                              packetsRejected: (sourceGuard?.droppedWrongAddress ?? 0) + (sourceGuard?.droppedForeignSSRC ?? 0))
    }
}

final class MediaInboundBox { weak var media: CallMedia? }
