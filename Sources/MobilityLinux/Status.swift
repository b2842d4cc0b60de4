import FoundationEssentials
import SystemSupport
import Glibc
import Mobility
import Synchronization

/// One binding as `nemo status` shows it.
public struct BindingStatusLine: Codable, Sendable {
    public var homeAddress: String
    public var bid: UInt16
    public var uplink: String?
    public var careOf: String?
    public var path: String?
    public var state: String
    public var priority: UInt8
    public var lifetimeRemaining: Int?
    public var lastStatus: UInt8?
    /// At the HA: the IPv4 home address bound for this router (RFC 5555), if any.
    public var ipv4HomeAddress: String? = nil
    /// At the MR: seconds until a refused uplink tries again.
    public var retryIn: Int? = nil
}

/// What `nemo status --json` prints.
public struct NemoStatus: Codable, Sendable {
    public var role: String
    public var homeAddress: String?
    public var prefixes: [String]
    public var bindings: [BindingStatusLine]
    public var defaultUplink: String?
    public var counters: [String: Int]
    /// At the MR: the IPv4 home address the HA acknowledged (RFC 5555), while bound.
    public var ipv4HomeAddress: String? = nil
    /// At the MR: the status of the HA's last IPv4 Address Acknowledgement (0 success, 128-133 refused).
    public var ipv4HomeAddressStatus: UInt8? = nil

    /// Human-readable form.
    public var text: String {
        var lines = ["role: \(role)"]
        if let h = homeAddress { lines.append("home address: \(h)") }
        if ipv4HomeAddress != nil || ipv4HomeAddressStatus != nil {
            lines.append("ipv4 home address: \(ipv4HomeAddress ?? "-")\(ipv4HomeAddressStatus.map { " (status \($0))" } ?? "")")
        }
        if !prefixes.isEmpty { lines.append("prefixes: \(prefixes.joined(separator: ", "))") }
        if let d = defaultUplink { lines.append("default uplink: \(d)") }
        lines.append("bindings: \(bindings.count)")
        for b in bindings {
            lines.append("  \(b.homeAddress) bid \(b.bid) \(b.uplink.map { "uplink \($0) " } ?? "")\(b.state) coa \(b.careOf ?? "-") path \(b.path ?? "-") pri \(b.priority) remaining \(b.lifetimeRemaining.map { "\($0)s" } ?? "-")\(b.lastStatus.map { " last status \($0)" } ?? "")\(b.retryIn.map { " retry in \($0)s" } ?? "")\(b.ipv4HomeAddress.map { " ipv4 \($0)" } ?? "")")
        }
        lines.append("counters:")
        for (k, v) in counters.sorted(by: { $0.key < $1.key }) { lines.append("  \(k) \(v)") }
        return lines.joined(separator: "\n")
    }

    /// Prometheus text exposition.
    public var prometheus: String {
        var out = "# HELP nemo_bindings Bindings in the binding cache (HA) or registered (MR).\n# TYPE nemo_bindings gauge\n"
        out += "nemo_bindings{role=\"\(role)\"} \(bindings.filter { $0.state == "registered" }.count)\n"
        out += "# HELP nemo_binding_registered 1 when the binding is registered.\n# TYPE nemo_binding_registered gauge\n"
        for b in bindings {
            out += "nemo_binding_registered{role=\"\(role)\",home_address=\"\(b.homeAddress)\",bid=\"\(b.bid)\",uplink=\"\(b.uplink ?? "")\"} \(b.state == "registered" ? 1 : 0)\n"
        }
        out += "# HELP nemo_events_total Counters of messages, packets, drops and handovers.\n# TYPE nemo_events_total counter\n"
        for (k, v) in counters.sorted(by: { $0.key < $1.key }) {
            out += "nemo_events_total{role=\"\(role)\",event=\"\(k)\"} \(v)\n"
        }
        return out
    }
}

/// Serves status over a Unix stream socket (one command line in, one answer out) and,
/// optionally, Prometheus metrics over HTTP.
public final class ControlServer: Sendable {
    private let path: String
    private let status: @Sendable () -> NemoStatus
    /// Answers the daemon's own commands (e.g. the MR's `sonar AFTER`); nil: not one of them.
    private let commands: @Sendable (String) -> String?

    public init(path: String, metricsPort: UInt16?, status: @escaping @Sendable () -> NemoStatus,
                commands: @escaping @Sendable (String) -> String? = { _ in nil }) throws {
        self.path = path
        self.status = status
        self.commands = commands
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        unlink(path)
        let fd = socket(AF_UNIX, SocketType.stream | SocketType.closeOnExec, 0)
        guard fd >= 0 else { throw SystemError("control socket") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw ConfigurationError("control socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0, listen(fd, 16) == 0 else { throw SystemError("bind control socket \(path)") }
        let trc = BlockingThread.start(name: "nemo control") { [self] in serve(fd, http: false) }
        guard trc == 0 else { throw SystemError("start the control socket thread", code: trc) }
        if let metricsPort {
            let m = socket(AF_INET6, SocketType.stream | SocketType.closeOnExec, 0)
            var one: Int32 = 1
            setsockopt(m, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var (storage, len) = socketAddress(TransportAddress(address: .v6(.unspecified), port: metricsPort), ipv6Socket: true)
            let brc = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(m, $0, len) } }
            guard brc == 0, listen(m, 16) == 0 else { throw SystemError("bind metrics port \(metricsPort)") }
            let mrc = BlockingThread.start(name: "nemo metrics") { [self] in serve(m, http: true) }
            guard mrc == 0 else { throw SystemError("start the metrics thread", code: mrc) }
        }
    }

    /// Clients served at once per listener; more wait in the accept queue.
    public static let maximumClients = 64
    /// How long one client may take to send its request or to read the answer.
    public static let clientTimeoutSeconds = 2
    private let active = Mutex(0)

    /// Accepts clients and serves each on its own thread with receive and send timeouts, so a
    /// client that connects and says nothing (or never reads) holds one slot for two seconds at
    /// most and never the listener.
    private func serve(_ fd: Int32, http: Bool) {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
                    if errno == EMFILE || errno == ENFILE { usleep(100_000) }
                    continue
                }
                return
            }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            var tv = timeval(tv_sec: ControlServer.clientTimeoutSeconds, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            // Wait for a free slot: the accept queue holds the rest (never more than `maximumClients` threads).
            while active.withLock({ n -> Bool in
                guard n < ControlServer.maximumClients else { return true }
                n += 1
                return false
            }) { usleep(10_000) }
            let rc = BlockingThread.start(name: "nemo client") { [self] in
                answer(c, http: http)
                close(c)
                active.withLock { $0 -= 1 }
            }
            if rc != 0 {
                // Out of threads: this client is turned away, the listener goes on.
                close(c)
                active.withLock { $0 -= 1 }
            }
        }
    }

    private func answer(_ c: Int32, http: Bool) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
        // Nothing within the timeout: no answer (the other end is idle or gone).
        guard n > 0 else { return }
        let request = String(decoding: buffer[0..<n], as: UTF8.self)
        var answer: String
        if http {
            let body = status().prometheus
            answer = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        } else {
            let command = request.split(whereSeparator: \.isNewline).first.map(String.init) ?? "status"
            if let own = commands(command) {
                answer = own
            } else {
                let s = status()
                switch command {
                case "json":
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    answer = (try? String(decoding: encoder.encode(s), as: UTF8.self)) ?? "{}"
                case "metrics": answer = s.prometheus
                default: answer = s.text
                }
            }
            answer += "\n"
        }
        let bytes = Array(answer.utf8)
        var sent = 0
        while sent < bytes.count {
            let w = bytes[sent...].withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if w <= 0 { break }
            sent += w
        }
    }

    /// Sends `command` to a running daemon's control socket and returns the answer.
    public static func query(path: String, command: String) throws -> String {
        let fd = socket(AF_UNIX, SocketType.stream, 0)
        guard fd >= 0 else { throw SystemError("socket") }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() where i < raw.count - 1 { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { throw SystemError("connect to \(path) (is nemo ha/mr running with this --control?)") }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let line = Array((command + "\n").utf8)
        _ = line.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Per-packet counters of a daemon's data path: plain fields, so counting costs no hashing.
struct DataPathCounters {
    var packetsToTunnel = 0
    var bytesToTunnel = 0
    var packetsFromTunnel = 0
    var bytesFromTunnel = 0
    var droppedNoBinding = 0
    var droppedNotIP = 0
    var droppedNotOurNetwork = 0
    var droppedNotFromHomeAgent = 0
    var handovers = 0
    var droppedDuplicate = 0
    /// TSO super-packets read from the TUN device and cut into packets here.
    var superPacketsFromTun = 0
    /// TCP segments that went into the TUN device merged with others (GSO writes).
    var segmentsMergedIntoTun = 0
    var packetsPerUplink: [String: Int] = [:]

    /// Adds packets received from the tunnel (`ReceiveBatchMemo.take()`) and TUN segments merged.
    mutating func addReceived(_ counted: (packets: Int, bytes: Int), merged: Int = 0) {
        packetsFromTunnel += counted.packets
        bytesFromTunnel += counted.bytes
        segmentsMergedIntoTun += merged
    }

    var dictionary: [String: Int] {
        var d = ["packets_to_tunnel": packetsToTunnel, "bytes_to_tunnel": bytesToTunnel, "packets_from_tunnel": packetsFromTunnel,
                 "bytes_from_tunnel": bytesFromTunnel, "dropped_no_binding": droppedNoBinding, "dropped_not_ip": droppedNotIP,
                 "dropped_not_our_network": droppedNotOurNetwork, "dropped_not_from_home_agent": droppedNotFromHomeAgent, "handovers": handovers, "dropped_duplicate": droppedDuplicate,
                 "tun_super_packets_read": superPacketsFromTun, "tun_segments_merged": segmentsMergedIntoTun]
        for (u, n) in packetsPerUplink { d["packets_to_tunnel_\(u)"] = n }
        return d
    }
}
