import ArgumentParser
import CXcastLinux
import FoundationEssentials
import Glibc
import Xcast

struct Relay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forward Xcast datagrams: one copy per next hop, X2U (plain RTP) to receivers served directly.",
        discussion: """
            The table (docs/xcast.md §5) says, by longest prefix, which downstream relay serves a receiver
            or that this relay serves it directly:
              2001:db8:1::/48   relay [2001:db8:1::1]:4000
              ::/0              direct
              local [2001:db8::5]:5004      (this node is itself a member there)
            Send SIGHUP to reload the table without a restart; a bad table is refused and the old one kept.
            Metrics (Prometheus): --metrics [::1]:9400 serves /metrics.
            """
    )

    @Option(help: "Where Xcast datagrams arrive, [ADDR]:PORT.") var listen: String = "[::]:4000"
    @Option(help: "The routing table file (reloaded on SIGHUP).") var table: String
    @Option(help: "Serve Prometheus metrics on [ADDR]:PORT (/metrics).") var metrics: String?
    @Flag(help: "Accept ::1 as a destination (tests on one machine; refused by default).") var allowLoopback = false
    @Option(help: "Stop after this many seconds (default: run until SIGINT/SIGTERM).") var duration: Double?
    @Flag(inversion: .prefixedNo, help: "Send consecutive equal-size datagrams to one receiver or downstream relay as one UDP GSO send (the kernel cuts them; receivers see plain datagrams).")
    var gso = true

    func run() throws {
        let listenAt = try parseListen(listen, flag: "--listen")
        let routes = try Self.load(table)
        let stop = SignalFlag()
        let reload = SignalFlag()
        let sources = onSignals([SIGINT, SIGTERM], set: stop) + onSignals([SIGHUP], set: reload)
        defer { sources.forEach { $0.cancel() } }
        let socket = try UDPSocket(bind: listenAt)
        let m = Metrics(role: "relay")
        let server = try metrics.map { try serveMetrics(m, on: parseEndpoint($0, flag: "--metrics")) }
        _ = server
        let forwarder = Forwarder(socket: socket, table: routes, policy: DestinationPolicy(allowLoopback: allowLoopback), metrics: m, gso: gso)
        warn("relay listening on [\(listenAt.address)]:\(socket.localPort) with \(routes.routes.count) routes, \(routes.relays.count) downstream relays")
        let receiver = BatchReceiver(slots: 64, slotSize: 65536)
        let deadline = duration.map { monotonicNow() + $0 }
        // With bench/alloc-counter preloaded (bench-xcast), count allocations once the buffers are warm.
        let allocations = allocationCounter()
        var warmAt: (datagrams: Int, allocations: Int)?
        var received = 0
        while !stop.isSet {
            if let deadline, monotonicNow() >= deadline { break }
            if reload.take() {
                do {
                    forwarder.table = try Self.load(table)
                    warn("table \(table) reloaded: \(forwarder.table.routes.count) routes")
                } catch {
                    warn("\(error); keeping the previous table")
                    m.withLock { $0.drop("table_reload_refused") }
                }
            }
            let n = receiver.receive(socket, timeoutMilliseconds: 100)
            guard n > 0 else { continue }
            received += n
            if warmAt == nil, received >= 1000, let allocations { warmAt = (received, allocations()) }
            for i in 0..<n {
                let bytes = receiver.datagram(i)
                if bytes.count >= 4, bytes[0] == 0x58, bytes[1] == 0x36, bytes[3] != 0 {
                    m.withLock { $0.drop("control_at_relay") }   // joins go to the sender
                    continue
                }
                forwarder.forward(bytes)
            }
            forwarder.flush()
        }
        forwarder.flush()
        warn("relay stopped: \(forwarder.sentDatagrams) datagrams sent in \(forwarder.sendCalls) sendmmsg calls")
        if let allocations, let warmAt {
            warn("allocations: \(allocations() - warmAt.allocations) over the \(received - warmAt.datagrams) datagrams received after the first \(warmAt.datagrams)")
        }
    }

    static func load(_ path: String) throws -> RouteTable {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the table \(path): give a file with lines like `::/0 direct` (see xcast6 relay --help)")
        }
        do { return try RouteTable(parsing: text) } catch { throw ValidationError("table \(path): \(error)") }
    }
}

/// `nautilus_alloc_count` when bench/alloc-counter is preloaded (LD_PRELOAD), else nil.
func allocationCounter() -> (() -> Int)? {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "nautilus_alloc_count") else { return nil }
    let f = unsafeBitCast(symbol, to: (@convention(c) () -> Int).self)
    return { f() }
}

/// recvmmsg into fixed slots allocated once.
final class BatchReceiver {
    let slots: Int
    let slotSize: Int
    private let memory: UnsafeMutableRawPointer
    private let messages: UnsafeMutablePointer<xc_msg>
    private let iovecs: UnsafeMutablePointer<iovec>
    private let addresses: UnsafeMutablePointer<sockaddr_in6>

    init(slots: Int, slotSize: Int) {
        self.slots = slots
        self.slotSize = slotSize
        memory = .allocate(byteCount: slots * slotSize, alignment: 16)
        messages = .allocate(capacity: slots)
        iovecs = .allocate(capacity: slots)
        addresses = .allocate(capacity: slots)
    }

    deinit {
        memory.deallocate()
        messages.deallocate()
        iovecs.deallocate()
        addresses.deallocate()
    }

    /// Receives up to `slots` datagrams (waits up to the timeout for the first); returns how many.
    func receive(_ socket: UDPSocket, timeoutMilliseconds: Int32) -> Int {
        for i in 0..<slots {
            iovecs[i] = iovec(iov_base: memory + i * slotSize, iov_len: slotSize)
            messages[i] = xc_msg(name: UnsafeMutableRawPointer(addresses + i), namelen: UInt32(MemoryLayout<sockaddr_in6>.size),
                                 iov: iovecs + i, iovlen: 1, len: 0, gso_size: 0)
        }
        let n = xc_recvmmsg(socket.fd, messages, UInt32(slots), timeoutMilliseconds)
        return Swift.max(0, Int(n))
    }

    func datagram(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: memory + i * slotSize, count: Int(messages[i].len))
    }

    func source(_ i: Int) -> Endpoint { Endpoint(addresses[i]) }
}
