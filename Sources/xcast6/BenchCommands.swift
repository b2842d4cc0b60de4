import ArgumentParser
import CXcastLinux
import FoundationEssentials
import SystemSupport
import Glibc

/// `xcast6 sink`: counts RTP packets on many ports at once (recvmmsg), for tests and the benchmark:
/// per port packets, distinct sequence numbers, duplicates, frames (marker bits) and the arrival
/// time of every frame's last packet.
struct Sink: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count RTP packets on PORT, PORT+2, … (tests and bench-xcast); writes a JSON summary on exit.")

    @Option(help: "Address to listen on.") var address: String = "::1"
    @Option(help: "First port.") var port: Int
    @Option(help: "How many ports (every second port from --port).") var count: Int = 1
    @Option(help: "Write the JSON summary here.") var output: String
    @Option(help: "Stop after this many seconds without packets (once packets have arrived).") var idle: Double = 3
    @Option(help: "Stop after this many seconds in any case.") var duration: Double = 600

    func run() throws {
        guard (1...1000).contains(count), (1...65535).contains(port), port + 2 * (count - 1) <= 65535 else {
            throw ValidationError("--port/--count must give ports within 1…65535, --count 1…1000")
        }
        var sockets: [UDPSocket] = []
        for i in 0..<count {
            let ep = try parseEndpoint("[\(address)]:\(port + 2 * i)", flag: "--address/--port")
            let s = try UDPSocket(bind: ep, buffers: 4 << 20)
            sockets.append(s)
        }
        FileManager.default.createFile(atPath: output + ".ready", contents: Data("ready\n".utf8))
        let stop = SignalFlag()
        let signals = onSignals([SIGINT, SIGTERM], set: stop)
        defer { signals.forEach { $0.cancel() } }
        var packets = [Int](repeating: 0, count: count)
        var dups = [Int](repeating: 0, count: count)
        var frames = [Int](repeating: 0, count: count)
        var seen = [[UInt64]](repeating: [UInt64](repeating: 0, count: 1024), count: count)   // 65536 bits each
        var markers: [UInt32: Double] = [:]     // first port's frame arrival times, by RTP timestamp
        let receiver = BatchReceiver(slots: 64, slotSize: 2048)
        var fds = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        let start = monotonicNow()
        var last: Double?
        while !stop.isSet {
            let now = monotonicNow()
            if now - start > duration { break }
            if let last, now - last > idle { break }
            let n = poll(&fds, nfds_t(fds.count), 100)
            guard n > 0 else { continue }
            for idx in fds.indices where fds[idx].revents & Int16(POLLIN) != 0 {
                let got = receiver.receive(sockets[idx], timeoutMilliseconds: 0)
                if got > 0 { last = monotonicNow() }
                let wall = Date().timeIntervalSince1970
                for k in 0..<got {
                    let b = receiver.datagram(k)
                    guard b.count >= 12, b[0] >> 6 == 2, !(72...76).contains(b[1] & 0x7F) else { continue }
                    packets[idx] += 1
                    let seq = Int(b[2]) << 8 | Int(b[3])
                    let w = seq >> 6
                    let bit: UInt64 = 1 << UInt64(seq & 63)
                    if seen[idx][w] & bit != 0 { dups[idx] += 1 } else { seen[idx][w] |= bit }
                    if b[1] & 0x80 != 0 {
                        frames[idx] += 1
                        if idx == 0 {
                            let hi: UInt32 = UInt32(b[4]) << 24 | UInt32(b[5]) << 16
                            let ts: UInt32 = hi | UInt32(b[6]) << 8 | UInt32(b[7])
                            markers[ts] = wall
                        }
                    }
                }
            }
        }
        let unique = seen.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } }
        var json = "{\"ports\": \(count), \"packets\": \(packets), \"unique\": \(unique), \"duplicates\": \(dups), \"frames\": \(frames), \"marker_times\": {"
        json += markers.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \(fixedPoint($0.value, decimals: 6))" }.joined(separator: ", ")
        json += "}}\n"
        FileManager.default.createFile(atPath: output, contents: Data(json.utf8))
    }
}

/// `xcast6 blast`: how many datagrams per second sendmmsg gets out of this machine (bench-xcast).
struct Blast: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the sendmmsg packet-rate limit: send SIZE-octet datagrams to [ADDR]:PORT for SECONDS.")

    @Option(help: "Destination [ADDR]:PORT (something should listen, e.g. `xcast6 sink`).") var to: String
    @Option(help: "Datagram size in octets.") var size: Int = 1400
    @Option(help: "Seconds to run.") var seconds: Double = 2
    @Flag(help: "connect(2) the socket to the destination first (no route lookup per datagram).") var connected = false
    @Option(help: "Send GSO batches of this many datagrams (UDP_SEGMENT); 0 = no GSO.") var gso: Int = 0

    func run() throws {
        let dest = try parseEndpoint(to, flag: "--to")
        guard (1...65000).contains(size) else { throw ValidationError("--size must be 1…65000") }
        let socket = try UDPSocket(bind: nil)
        if connected { try socket.connect(dest) }
        let batch = SendBatch(capacity: 1024)
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { payload.deallocate() }
        for i in 0..<size { payload[i] = UInt8(truncatingIfNeeded: i) }
        guard (0...64).contains(gso), gso * size <= 65000 else { throw ValidationError("--gso must be 0…64 and gso × size ≤ 65000") }
        let iov = UnsafeMutablePointer<iovec>.allocate(capacity: Swift.max(gso, 1))
        defer { iov.deallocate() }
        for i in 0..<Swift.max(gso, 1) { iov[i] = iovec(iov_base: payload.baseAddress, iov_len: size) }
        let start = monotonicNow()
        while monotonicNow() - start < seconds {
            if gso > 0 {
                for _ in 0..<(batch.capacity / 4) { batch.addSegmented(iov, iovecs: gso, segments: gso, segment: size, to: dest) }
            } else {
                for _ in 0..<batch.capacity { batch.add(header: nil, payload: UnsafeRawBufferPointer(payload), to: connected ? nil : dest) }
            }
            batch.flush(socket)
        }
        let elapsed = monotonicNow() - start
        let datagrams = gso > 0 ? batch.sent * gso : batch.sent
        print("blast: \(datagrams) datagrams of \(size) octets in \(fixedPoint(elapsed, decimals: 3)) s: \(fixedPoint(Double(datagrams) / elapsed, decimals: 0)) per second, \(batch.failed) refused")
    }
}
