import ArgumentParser
import FoundationEssentials
import SystemSupport
import Synchronization
import Glibc
import NIOCore
import RTP
import RTPJPEG
import Timekeeping
import Xcast

struct Recv: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive RTP/JPEG (plain, or Xcast with X set), put the frames back together, write and re-serve them.",
        discussion: """
            --output DIR writes every complete frame as DIR/f_00000.jpg, f_00001.jpg, …
            --serve [ADDR]:PORT re-serves the stream over HTTP: /stream.mjpg (multipart/x-mixed-replace MJPEG
            for browsers), /frame.jpg (the latest frame), /metrics.
            --join [SENDER]:PORT with --session and --token joins the sender's session and refreshes the join
            every lifetime/3; on exit the receiver leaves. A refused join ends the receiver with an error.
            """
    )

    @Option(help: "Where RTP arrives, [ADDR]:PORT.") var listen: String = "[::]:5004"
    @Option(help: "Write each frame as a JPEG file into this folder (created if missing).") var output: String?
    @Option(help: "Re-serve the frames over HTTP on [ADDR]:PORT.") var serve: String?
    @Option(help: "Join the session at this sender's control port [ADDR]:PORT.") var join: String?
    @Option(help: "Address copies should go to when joining (default: the address the join comes from).") var memberAddress: String?
    @Option(help: "Session name to join.") var session: String = "live"
    @Option(help: "Session token (needed to join).") var token: String?
    @Option(help: "Lifetime to ask for, seconds (the join is refreshed every third of it).") var lifetime: Int = 30
    @Option(help: "Stop after this many seconds.") var duration: Double?
    @Option(help: "Stop after this many frames.") var frames: Int?
    @Option(help: "Stop after this many seconds without a packet (once packets have arrived).") var idleTimeout: Double?
    @Flag(help: "Accept ::1 in Xcast destination lists (tests on one machine).") var allowLoopback = false

    func run() throws {
        let listenAt = try parseListen(listen, flag: "--listen")
        let socket = try UDPSocket(bind: listenAt)
        let m = Metrics(role: "receiver")
        if let output { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) }
        let latest = LatestFrame()
        let server = try serve.map { try serveFrames(latest, metrics: m, on: parseEndpoint($0, flag: "--serve")) }
        _ = server
        let stop = SignalFlag()
        let signals = onSignals([SIGINT, SIGTERM], set: stop)
        defer { signals.forEach { $0.cancel() } }
        var joiner: Joiner?
        if let join {
            guard let token else { throw ValidationError("--join needs --token (the session's secret)") }
            guard (1...65535).contains(lifetime) else { throw ValidationError("--lifetime must be 1…65535") }
            let address = try memberAddress.map { a -> IPv6Address in
                guard let v = IPv6Address(a) else { throw ValidationError("--member-address \(a) is not an IPv6 address") }
                return v
            } ?? .unspecified
            let j = try Joiner(sender: try parseEndpoint(join, flag: "--join"), channel: try parseSession(session), token: try parseToken(token),
                           member: Endpoint(address: address, port: socket.localPort), lifetime: UInt16(lifetime))
            try j.joinOnce()
            j.start()
            joiner = j
        }
        defer { joiner?.leave() }
        // RTCP: sender reports arrive on port + 1; receiver reports go to the sender's control port when joined.
        let rtcpSocket: UDPSocket? = listenAt.port > 0 && listenAt.port < 65535
            ? try? UDPSocket(bind: Endpoint(address: listenAt.address, port: listenAt.port + 1), buffers: 1 << 18) : nil
        let rtcpBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { rtcpBuffer.deallocate() }
        var stats = ReceptionStatistics(clockRate: 90_000)
        let ssrc = UInt32.random(in: 1...UInt32.max)
        var nextReport = monotonicNow() + 2.5
        var assembler = JPEGFrameAssembler()
        let policy = DestinationPolicy(allowLoopback: allowLoopback)
        let receiver = BatchReceiver(slots: 64, slotSize: 65536)
        let start = monotonicNow()
        var lastPacket: Double?
        var packets = 0
        var written = 0
        var rejected = 0
        loop: while !stop.isSet {
            let now = monotonicNow()
            if let duration, now - start >= duration { break }
            if let idleTimeout, let lastPacket, now - lastPacket >= idleTimeout { break }
            if let j = joiner, let failure = j.failure { throw failure }
            let n = receiver.receive(socket, timeoutMilliseconds: 100)
            for i in 0..<n {
                let bytes = receiver.datagram(i)
                var buffer = ByteBuffer(bytes: bytes)
                if bytes.count >= 2, bytes[0] == 0x58, bytes[1] == 0x36 {
                    // an Xcast datagram sent to us with X set: the payload follows the headers
                    do {
                        let d = try XcastDatagram(parsing: buffer, policy: policy)
                        buffer = d.payload
                    } catch {
                        m.withLock { $0.drop(error.counterName) }
                        continue
                    }
                }
                packets += 1
                lastPacket = monotonicNow()
                var peek = buffer
                if let h = try? RTPHeader(parsing: &peek) {
                    stats.record(RTPPacket(header: h, payload: []), arrival: .seconds(lastPacket!))
                }
                do {
                    guard let frame = try assembler.add(packet: buffer) else { continue }
                    if let output {
                        let name = "\(output)/f_\(zeroPadded(written, width: 5)).jpg"
                        FileManager.default.createFile(atPath: name, contents: Data(frame.jpeg))
                    }
                    written += 1
                    latest.publish(frame.jpeg)
                    if let frames, written >= frames { break loop }
                } catch {
                    rejected += 1
                    m.withLock { $0.drop(error.counterName) }
                }
            }
            m.withLock { $0.gauge("xcast6_frames_completed", Double(assembler.framesCompleted)); $0.gauge("xcast6_frames_dropped", Double(assembler.framesDropped)) }
            if let rtcpSocket, let (k, _) = rtcpSocket.receive(into: rtcpBuffer, timeoutMilliseconds: 0),
               let parts = try? RTCPPacket.parseCompound(Array(UnsafeRawBufferPointer(rebasing: rtcpBuffer[0..<k]))) {
                for case .senderReport(_, let ntp, _, _, _, _) in parts { stats.recordSenderReport(ntpTimestamp: ntp, arrival: .seconds(monotonicNow())) }
            }
            if let j = joiner, monotonicNow() >= nextReport {
                nextReport = monotonicNow() + 5 * Double.random(in: 0.5...1.5)
                let blocks = stats.reportBlock(now: .seconds(monotonicNow())).map { [$0] } ?? []
                let report = RTCPPacket.compound([.receiverReport(ssrc: ssrc, reports: blocks),
                                                  .sourceDescription([(ssrc, [(1, "xcast6-recv@\(ProcessInfo.processInfo.hostName)")])])])
                _ = j.socket.send(report, to: j.sender)
            }
        }
        print("received \(packets) packets, \(written) frames, \(assembler.framesDropped) frames incomplete, \(rejected) packets rejected")
    }
}

/// The newest frame, and a way to wait for the next one (for MJPEG streaming).
// @unchecked: its state is guarded by `mutex` (waiting for the next frame needs a condition
// variable, which Synchronization.Mutex has not; pthread's, as Foundation's NSCondition is built).
final class LatestFrame: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var frame: [UInt8]?
    private var number = 0

    init() {
        pthread_mutex_init(mutex, nil)
        // Deadlines on the monotonic clock: a wall-clock step must not end or stretch a wait.
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func publish(_ jpeg: [UInt8]) {
        pthread_mutex_lock(mutex)
        frame = jpeg
        number += 1
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// The newest frame after frame `after` (waits up to `timeout` seconds); nil on timeout.
    func next(after: Int, timeout: Double) -> (Int, [UInt8])? {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let wait = max(0, min(timeout, 86_400))
        let nanoseconds = Int(deadline.tv_nsec) + Int((wait - wait.rounded(.down)) * 1e9)
        deadline.tv_sec += Int(wait.rounded(.down)) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while number <= after || frame == nil {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { return nil }
        }
        return (number, frame!)
    }
}

/// /stream.mjpg, /frame.jpg and /metrics.
func serveFrames(_ latest: LatestFrame, metrics: Metrics, on endpoint: Endpoint) throws -> HTTPServer {
    try HTTPServer(bind: endpoint) { path, conn in
        switch path.split(separator: "?").first.map(String.init) ?? path {
        case "/stream.mjpg":
            let boundary = "xcast6frame"
            guard conn.write(Array("HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=\(boundary)\r\nCache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n".utf8)) else { return }
            var seen = 0
            while true {
                guard let (n, jpeg) = latest.next(after: seen, timeout: 30) else { return }
                seen = n
                let part = "--\(boundary)\r\nContent-Type: image/jpeg\r\nContent-Length: \(jpeg.count)\r\n\r\n"
                guard conn.write(Array(part.utf8)), conn.write(jpeg), conn.write([13, 10]) else { return }
            }
        case "/frame.jpg":
            if let (_, jpeg) = latest.next(after: 0, timeout: 5) {
                conn.respond(status: "200 OK", type: "image/jpeg", body: jpeg)
            } else {
                conn.respond(status: "503 Service Unavailable", type: "text/plain", body: Array("no live video\n".utf8))
            }
        case "/metrics":
            conn.respond(status: "200 OK", type: "text/plain; version=0.0.4", body: Array(metrics.render().utf8))
        default:
            conn.respond(status: "404 Not Found", type: "text/plain", body: Array("try /stream.mjpg, /frame.jpg or /metrics\n".utf8))
        }
    }
}

/// Keeps a join alive: joins, refreshes every lifetime/3, leaves at the end.
final class Joiner: Sendable {
    let sender: Endpoint
    let channel: ChannelID
    let token: SessionToken
    let member: Endpoint
    let lifetime: UInt16
    let socket: UDPSocket
    private struct State { var failure: (any Error)?; var stopped = false }
    private let state = Mutex(State())
    var failure: (any Error)? { state.withLock { $0.failure } }

    init(sender: Endpoint, channel: ChannelID, token: SessionToken, member: Endpoint, lifetime: UInt16) throws {
        self.sender = sender
        self.channel = channel
        self.token = token
        self.member = member
        self.lifetime = lifetime
        socket = try UDPSocket(bind: nil, buffers: 1 << 16)
    }

    /// One join and its answer (three tries, one second each).
    func joinOnce(leave: Bool = false) throws {
        var out = ByteBuffer()
        MembershipRequest(leave: leave, channel: channel, token: token, member: member, lifetime: leave ? 0 : lifetime).write(to: &out)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        for _ in 0..<3 {
            _ = out.withUnsafeReadableBytes { socket.send($0, to: sender) }
            guard let (n, _) = socket.receive(into: buffer, timeoutMilliseconds: 1000) else { continue }
            var b = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            guard case .reply(let r)? = try? ControlMessage(parsing: &b) else { continue }
            switch r.verdict {
            case .accepted(let l):
                if !leave { warn("joined session \(channel.name) at \(sender) as \(r.member) for \(l) s") }
                return
            case .refused(let why):
                throw MessageError(description: "the sender \(sender) refused the \(leave ? "leave" : "join") for session \(channel.name): \(why)")
            }
        }
        throw MessageError(description: "no answer from the sender \(sender) to the \(leave ? "leave" : "join") for session \(channel.name) (is `xcast6 send --token … --listen …` running there?)")
    }

    func start() {
        BlockingThread.start(name: "xcast6 join") { [self] in
            while true {
                let interval = Swift.max(Double(lifetime) / 3, 0.2)
                usleep(UInt32(interval * 1_000_000))
                let s = state.withLock { $0.stopped }
                if s { return }
                do { try joinOnce() } catch {
                    state.withLock { $0.failure = error }
                    return
                }
            }
        }
    }

    func leave() {
        state.withLock { $0.stopped = true }
        try? joinOnce(leave: true)
    }
}

struct MessageError: Error, CustomStringConvertible {
    var description: String
}
