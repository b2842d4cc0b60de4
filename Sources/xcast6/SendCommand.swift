import ArgumentParser
import FoundationEssentials
import SystemSupport
import Synchronization
import Glibc
import NIOCore
import RTP
import RTPJPEG
import Sensors
import Timekeeping
import Xcast

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a camera as RTP/JPEG (payload type 26, 90 kHz) to a list of receivers over Xcast.",
        discussion: """
            Without --relay the sender splits the stream itself (X2U: plain RTP to every receiver); with
            --relay it hands the Xcast datagrams to that relay. Plain receivers need nothing but a UDP port,
            e.g. gst-launch-1.0 udpsrc port=5004 caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=JPEG,payload=26" ! rtpjpegdepay ! jpegdec ! autovideosink
            With --token, receivers may also join (`xcast6 recv --join`) at --listen; they expire when they stop refreshing.
            RTCP sender reports go to each receiver's port + 1.
            """
    )

    @Option(help: "test (test pattern), a V4L2 device such as /dev/video0, or dir:PATH (its *.jpg files, sent as they are, in name order).")
    var camera: String = "test"
    @Option(help: "Picture size WIDTHxHEIGHT (multiples of 8, at most 2040).") var size: String = "640x480"
    @Option(help: "Frames per second.") var fps: Int = 30
    @Option(help: "Stop after this many seconds (default: until SIGINT/SIGTERM).") var duration: Double?
    @Option(help: "Stop after this many frames.") var frames: Int?
    @Option(name: .customLong("receiver"), help: "A receiver [ADDR]:PORT (repeatable); it never expires.") var receivers: [String] = []
    @Option(help: "Hand the Xcast datagrams to this relay [ADDR]:PORT instead of splitting here.") var relay: String?
    @Option(help: "Session name (1–16 of A-Z a-z 0-9 . _ -); it is the Xcast channel identifier.") var session: String = "live"
    @Option(help: "Session token: with it, receivers can join and `xcast6 members` can list them.") var token: String?
    @Option(help: "Control port for joins, leaves and member queries, [ADDR]:PORT (0: any).") var listen: String = "[::]:0"
    @Option(help: "Most octets of one RTP packet.") var rtpSize: Int = 1400
    @Option(help: "Most destinations in one Xcast header (1–125); more receivers mean several datagrams.") var perPacket: Int = 125
    @Option(help: "JPEG quality when encoding (test pattern, YUYV cameras).") var quality: Int = 80
    @Option(help: "Longest lifetime granted to a join, seconds.") var maxLifetime: Int = 300
    @Option(help: "Serve Prometheus metrics on [ADDR]:PORT (/metrics).") var metrics: String?
    @Flag(help: "Accept ::1 as a destination (tests on one machine; refused by default).") var allowLoopback = false
    @Option(help: "Append 'RTP-timestamp capture-time send-time' (Unix seconds) per frame to this file (latency measurements).") var timing: String?

    func run() async throws {
        let dims = size.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2, (8...2040).contains(dims[0]), (8...2040).contains(dims[1]), dims[0] % 8 == 0, dims[1] % 8 == 0 else {
            throw ValidationError("--size \"\(size)\" must be WIDTHxHEIGHT, multiples of 8 up to 2040 (e.g. 1280x720)")
        }
        guard (1...120).contains(fps) else { throw ValidationError("--fps must be 1…120") }
        guard (200...65000).contains(rtpSize) else { throw ValidationError("--rtp-size must be 200…65000") }
        guard (1...XcastWire.maxDestinations).contains(perPacket) else { throw ValidationError("--per-packet must be 1…125") }
        guard (1...65535).contains(maxLifetime) else { throw ValidationError("--max-lifetime must be 1…65535") }
        let channel = try parseSession(session)
        let policy = DestinationPolicy(allowLoopback: allowLoopback)
        let statics = try receivers.map { try parseEndpoint($0, flag: "--receiver") }
        for r in statics where !policy.accepts(r.address.kind) {
            throw ValidationError("--receiver \(r): \(r.address.kind.rawValue) addresses cannot be Xcast destinations" + (r.address == .loopback ? " (add --allow-loopback for tests on one machine)" : ""))
        }
        let relayAt = try relay.map { try parseEndpoint($0, flag: "--relay") }
        guard !statics.isEmpty || token != nil else {
            throw ValidationError("give at least one --receiver [ADDR]:PORT, or a --token so receivers can join")
        }
        var membership = Membership(maxLifetime: UInt16(maxLifetime), policy: policy)
        membership.addSession(channel, token: try token.map(parseToken) ?? SessionToken("static-only-\(UInt64.random(in: 0...UInt64.max))")!)
        for r in statics { membership.addStatic(r, to: channel) }
        let members = Locked(membership)

        let socket = try UDPSocket(bind: try parseListen(listen, flag: "--listen"))
        let m = Metrics(role: "sender")
        let server = try metrics.map { try serveMetrics(m, on: parseEndpoint($0, flag: "--metrics")) }
        _ = server
        let stop = SignalFlag()
        let signals = onSignals([SIGINT, SIGTERM], set: stop)
        defer { signals.forEach { $0.cancel() } }
        if token != nil {
            warn("session \(channel.name): joins accepted on port \(socket.localPort)")
            let rc = BlockingThread.start(name: "xcast6 control") { controlLoop(socket: socket, members: members, metrics: m, stop: stop) }
            guard rc == 0 else { throw SocketError(call: "start the control thread", code: rc) }
        }
        let forwarder = Forwarder(socket: socket, table: relayAt.map { RouteTable.allVia($0) } ?? .allDirect, policy: policy, metrics: m)
        var packetizer = JPEGPacketizer(ssrc: UInt32.random(in: 1...UInt32.max), initialSequence: UInt16.random(in: 0...UInt16.max), maxPacketSize: rtpSize)
        let timestampBase = UInt32.random(in: 0...UInt32.max)
        let start = monotonicNow()
        // Frames are stamped on the wall clock (SystemClock); RTP timestamps count from this moment on it.
        let wallClock = SystemClock()
        let wallStart = wallClock.now()
        let deadline = duration.map { start + $0 }
        var sentFrames = 0
        var refusedFrames = 0
        var lastRefusal: RTPJPEGError?
        var nextReport = start + 1
        var frameBuffer = ByteBuffer()
        var ranges: [Range<Int>] = []
        var header = ByteBuffer()
        let hopLimit = XcastWire.defaultHopLimit
        var timingLines = ""
        defer { if let timing { FileManager.default.createFile(atPath: timing, contents: Data(timingLines.utf8)) } }

        func sendDatagrams(_ build: (inout ByteBuffer, inout [Range<Int>]) -> Void) {
            frameBuffer.clear()
            ranges.removeAll(keepingCapacity: true)
            build(&frameBuffer, &ranges)
            frameBuffer.withUnsafeReadableBytes { raw in
                for r in ranges { forwarder.forward(UnsafeRawBufferPointer(rebasing: raw[r])) }
                forwarder.flush()
            }
        }

        func rtcp(goodbye: Bool) {
            let now = monotonicNow()
            let list = members.withLock { $0.members(of: channel, now: .seconds(now)) }.compactMap { e in
                e.port < 65535 ? Endpoint(address: e.address, port: e.port + 1) : nil
            }
            guard !list.isEmpty else { return }
            let ntp = RTCPPacket.ntpTimestamp(.seconds(Date().timeIntervalSince1970))
            let ts = timestampBase &+ UInt32(truncatingIfNeeded: Int64(Swift.min(Swift.max(now - start, 0), 1e9) * 90_000))
            var packets: [RTCPPacket] = [
                .senderReport(ssrc: packetizer.ssrc, ntpTimestamp: ntp, rtpTimestamp: ts, packetCount: packetizer.packetsSent, octetCount: packetizer.octetsSent, reports: []),
                .sourceDescription([(packetizer.ssrc, [(1, "xcast6@\(ProcessInfo.processInfo.hostName)")])]),
            ]
            if goodbye { packets.append(.goodbye(ssrcs: [packetizer.ssrc], reason: nil)) }
            let compound = RTCPPacket.compound(packets)
            sendDatagrams { buf, ranges in
                for group in XcastHeader.groups(list, perPacket: perPacket) {
                    let s = buf.writerIndex
                    XcastHeader(channel: channel, destinations: Array(group), hopLimit: hopLimit).write(to: &buf)
                    buf.writeBytes(compound)
                    ranges.append(s..<buf.writerIndex)
                }
            }
        }

        var lastSequence: UInt32?
        var skippedFrames = 0
        frames: while !stop.isSet {
            if let deadline, monotonicNow() >= deadline { break }
            let source = try Self.frameSource(camera: camera, width: dims[0], height: dims[1], fps: fps, quality: quality)
            do {
                for try await frame in source {
                    let now = monotonicNow()
                    if stop.isSet { break frames }
                    if let deadline, now >= deadline { break frames }
                    if let frames, sentFrames >= frames { break frames }
                    // the frame queue is bounded (newest frames kept): a gap in the source's numbering is what it dropped
                    if let last = lastSequence, frame.sequence &- last > 1, frame.sequence &- last < 1 << 20 {
                        let gap = Int(frame.sequence &- last) - 1
                        skippedFrames += gap
                        m.withLock { $0.drop("frame_queue", UInt64(gap)) }
                    }
                    lastSequence = frame.sequence
                    let (list, gone) = members.withLock { ms -> ([Endpoint], [(ChannelID, Endpoint)]) in
                        let gone = ms.expire(now: .seconds(now))
                        return (ms.members(of: channel, now: .seconds(now)), gone)
                    }
                    for (_, e) in gone { warn("member \(e) of session \(channel.name) expired") }
                    m.withLock { $0.members(channel, list.count) }
                    if now >= nextReport { rtcp(goodbye: false); nextReport = now + 5 * Double.random(in: 0.5...1.5) }
                    let elapsed = Swift.min(Swift.max((frame.time - wallStart).secondsValue, 0), 1e9)
                    let ts = timestampBase &+ UInt32(truncatingIfNeeded: Int64((elapsed * 90_000).rounded()))
                    let packets: [ByteBuffer]
                    do {
                        packets = try packetizer.packets(jpeg: frame.data, timestamp: ts)
                    } catch {
                        refusedFrames += 1
                        if lastRefusal != error { warn("frame \(frame.sequence) not sent: \(error) (RTP/JPEG carries baseline 4:2:0/4:2:2 JPEG with standard Huffman tables)") }
                        lastRefusal = error
                        m.withLock { $0.drop("frame_refused") }
                        continue
                    }
                    sentFrames += 1
                    guard !list.isEmpty else { continue }
                    sendDatagrams { buf, ranges in
                        for var p in packets {
                            for group in XcastHeader.groups(list, perPacket: perPacket) {
                                let s = buf.writerIndex
                                header.clear()
                                XcastHeader(channel: channel, destinations: Array(group), hopLimit: hopLimit).write(to: &buf)
                                let r = p.readerIndex
                                buf.writeBuffer(&p)
                                p.moveReaderIndex(to: r)
                                ranges.append(s..<buf.writerIndex)
                            }
                        }
                    }
                    if timing != nil {
                        timingLines += "\(ts) \(fixedPoint(frame.time.secondsSinceEpoch, decimals: 6)) \(fixedPoint(wallClock.now().secondsSinceEpoch, decimals: 6))\n"
                    }
                }
                if camera.hasPrefix("dir:") || camera == "test" { break frames }
                warn("camera \(camera) stopped delivering frames; trying again in 1 s")
            } catch {
                warn("camera \(camera): \(error); trying again in 1 s")
            }
            lastSequence = nil
            try? await Task.sleep(for: .seconds(1))
        }
        // BYE a little after the last frame: players such as ffmpeg stop at BYE and drop RTP still unread,
        // and relays that read the last packets and the BYE in one batch send them back to back.
        try? await Task.sleep(for: .milliseconds(200))
        rtcp(goodbye: true)
        warn("sent \(sentFrames) frames, \(packetizer.packetsSent) RTP packets, \(forwarder.sentDatagrams) datagrams in \(forwarder.sendCalls) sendmmsg calls; \(refusedFrames) frames refused, \(skippedFrames) skipped (sender too slow)")
    }

    static func frameSource(camera: String, width: Int, height: Int, fps: Int, quality: Int) throws -> AsyncThrowingStream<JPEGFrame, any Error> {
        if camera == "test" {
            return PacedTestPattern(width: width, height: height, fps: fps, quality: quality).frames()
        }
        if camera.hasPrefix("dir:") {
            let dir = String(camera.dropFirst(4))
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
                throw ValidationError("--camera \(camera): cannot read the folder \(dir)")
            }
            let files = names.filter { $0.lowercased().hasSuffix(".jpg") || $0.lowercased().hasSuffix(".jpeg") }.sorted().map { dir + "/" + $0 }
            guard !files.isEmpty else { throw ValidationError("--camera \(camera): no .jpg files in \(dir)") }
            return JPEGFileSource(files: files, fps: fps).frames()
        }
        guard camera.hasPrefix("/dev/") else { throw ValidationError("--camera must be test, /dev/videoN or dir:PATH") }
        return V4L2JPEGSource(device: camera, width: width, height: height, framesPerSecond: fps, quality: quality).jpegFrames()
    }
}

/// A value behind a mutex, shared between the frame loop and the control thread.
final class Locked<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ v: Value) { value = Mutex(v) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T {
        value.withLock { body(&$0) }
    }
}

/// Joins, leaves and member queries on the sender's socket.
func controlLoop(socket: UDPSocket, members: Locked<Membership>, metrics: Metrics, stop: SignalFlag) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
    defer { buffer.deallocate() }
    var out = ByteBuffer()
    while !stop.isSet {
        guard let (n, from) = socket.receive(into: buffer, timeoutMilliseconds: 200) else { continue }
        let datagram = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
        if n >= 8, datagram[0] >> 6 == 2 {
            // RTCP from a receiver (its receiver reports come to the control port)
            if let packets = try? RTCPPacket.parseCompound(Array(datagram)) {
                for case .receiverReport(_, let blocks) in packets {
                    for b in blocks {
                        metrics.withLock { $0.receiverReport(member: from.address.description, fractionLost: Double(b.fractionLost) / 256,
                                                             cumulativeLost: Int(b.cumulativeLost), jitterSeconds: Double(b.jitter) / 90_000) }
                    }
                }
            } else {
                metrics.withLock { $0.drop("bad_rtcp") }
            }
            continue
        }
        var b = ByteBuffer(bytes: datagram)
        let message: ControlMessage
        do { message = try ControlMessage(parsing: &b) } catch {
            metrics.withLock { $0.drop("control_" + error.counterName) }
            continue
        }
        out.clear()
        switch message {
        case .request(let r):
            let reply = members.withLock { $0.handle(r, from: from.address, now: .seconds(monotonicNow())) }
            switch reply.verdict {
            case .accepted(let l) where r.leave: _ = l; warn("member \(reply.member) left session \(r.channel.name)")
            case .accepted(let l): if l > 0 { warn("member \(reply.member) joined session \(r.channel.name) for \(l) s") }
            case .refused(let why): warn("join of \(reply.member) to session \(r.channel.name) refused: \(why)")
            }
            reply.write(to: &out)
        case .query(let q):
            if let list = members.withLock({ $0.list(q, now: .seconds(monotonicNow())) }) {
                list.write(to: &out)
            } else {
                let known = members.withLock { $0.sessions[q.channel] != nil }
                MembershipReply(channel: q.channel, member: from, verdict: .refused(known ? .badToken : .unknownSession)).write(to: &out)
            }
        case .reply, .members:
            metrics.withLock { $0.drop("control_unexpected") }
            continue
        }
        _ = out.withUnsafeReadableBytes { socket.send($0, to: from) }
    }
}
