import CNemoLinux
import Dispatch
import FoundationEssentials
import SystemSupport
import Glibc
import Logging
import Mobility
import NIOCore
import Synchronization
import Timekeeping

/// `nemo ha` around the sans-I/O `HomeAgent`: one dual-stack UDP socket on port 4191, a TUN
/// device for the home side, kernel routes for every registered prefix.
public final class HomeAgentService: Sendable {
    /// What the receive loop, the TUN loop, the cache writer and `status()` share.
    private struct State {
        var agent: HomeAgent
        var data = DataPathCounters()
        /// The socket each path was last heard on.
        var pathSockets: [TransportAddress: UDPSocket] = [:]
        /// The cache revision last handed to the writer.
        var savedRevision = 0
        /// A write is queued and will pick up every change made until it runs.
        var writePending = false
    }

    private let file: HomeAgentFile
    private let logger: Logger
    private let state: Mutex<State>
    /// Where every `now` handed to the core comes from (`SystemClock` in the daemon).
    private let clock: any InstantClock
    /// The agent's configuration (immutable), readable without the lock.
    private let configuration: HomeAgentConfiguration
    /// One socket per listen address; a path is answered on the socket it arrived on.
    private let sockets: [UDPSocket]
    private let tun: TunDevice
    private let netlink: RouteNetlinkSocket
    private let tunIndex: Int32
    private let store: BindingCacheStore
    /// Writes the binding cache off the receive loop, so a BA never waits for the disk (a work
    /// queue, not a lock: `state` guards what it reads).
    private let writer = DispatchQueue(label: "nemo.ha.state")

    public init(file: HomeAgentFile, logger: Logger, clock: any InstantClock = SystemClock()) throws {
        self.clock = clock
        self.file = file
        self.logger = logger
        configuration = try file.homeAgentConfiguration()
        state = Mutex(State(agent: HomeAgent(configuration: configuration)))
        sockets = try (file.listen ?? ["::"]).map { text in
            guard let a = IPAddress(text) else { throw ConfigurationError("listen: '\(text)' is not an address") }
            return try UDPSocket(address: a, port: file.port ?? dsmipv6Port, coalescedReceive: true)
        }
        (tun, tunIndex) = try openTunnel(file)
        netlink = try RouteNetlinkSocket(subscribe: false)
        store = try BindingCacheStore(directory: file.stateDirectory ?? "/var/lib/nemo")
        try netlink.setUp(interface: tunIndex, mtu: file.tunnelMTU)
        restoreBindings()
    }

    /// Brings back the bindings saved before a restart (routes included), so mobile routers keep
    /// their bindings without having to notice the restart.
    private func restoreBindings() {
        switch store.load() {
        case .none:
            logger.info("no saved binding cache", metadata: ["file": "\(store.path)"])
        case .corrupt(let aside, let reason):
            logger.error("saved binding cache unreadable, moved aside; starting empty", metadata: ["file": "\(aside)", "reason": "\(reason)"])
        case .snapshot(let snapshot):
            let (out, problems) = state.withLock { $0.agent.restore(snapshot, now: clock.now()) }
            for p in problems { logger.warning("saved binding not restored: \(p)") }
            apply(out)
            logger.info("binding cache restored", metadata: ["bindings": "\(state.withLock { $0.agent.cache.bindingCount })", "file": "\(store.path)"])
        }
        saveIfChanged(force: true)
    }

    /// Queues a write of the cache when it changed since the last one (every accepted BU,
    /// expiry, restore). Changes made while a write is queued ride along with it, so under a burst
    /// of registrations the file is rewritten back to back, not once per BU.
    private func saveIfChanged(force: Bool = false) {
        let queue = state.withLock { s -> Bool in
            guard force || s.agent.cacheRevision != s.savedRevision, !s.writePending else { return false }
            s.writePending = true
            return true
        }
        guard queue else { return }
        writer.async { [self] in
            let snapshot = state.withLock { s -> BindingCacheSnapshot in
                s.writePending = false
                s.savedRevision = s.agent.cacheRevision
                return BindingCacheSnapshot(s.agent.cache)
            }
            do { try store.save(snapshot) } catch {
                logger.error("cannot save the binding cache (bindings will not survive a restart)", metadata: ["file": "\(store.path)", "error": "\(error)"])
            }
            // Encoding a large cache takes tens of megabytes for a moment; give them back to the
            // system instead of keeping them in malloc's free lists for the life of the process.
            if snapshot.entries.count > 10_000 { _ = nemo_malloc_trim() }
        }
    }

    /// Waits for queued writes (tests, shutdown).
    public func flushState() { writer.sync {} }

    /// The current status for `nemo status` and metrics.
    public func status() -> NemoStatus {
        state.withLock { s in
            let now = clock.now()
            var lines: [BindingStatusLine] = []
            for (hoa, e) in s.agent.cache.entries.sorted(by: { $0.key < $1.key }) where e.deletedAt == nil {
                for b in e.orderedBindings {
                    lines.append(BindingStatusLine(homeAddress: hoa.description, bid: b.bid, uplink: nil, careOf: b.careOfAddress.description,
                                                   path: b.path.description, state: "registered", priority: b.priority,
                                                   lifetimeRemaining: Int((b.expires - now).secondsValue), lastStatus: nil,
                                                   ipv4HomeAddress: e.ipv4HomeAddress?.description))
                }
            }
            let prefixes = s.agent.cache.entries.values.flatMap { $0.prefixes.map(\.description) }.sorted()
            return NemoStatus(role: "ha", homeAddress: s.agent.configuration.address.description, prefixes: prefixes, bindings: lines,
                              defaultUplink: nil, counters: s.agent.counters.merging(s.data.dictionary) { $0 + $1 })
        }
    }

    private func apply(_ out: HomeAgentOutput) {
        for s in out.signals {
            socket(for: s.destination).send(s.datagram, to: s.destination)
        }
        for e in out.events {
            switch e {
            case .bindingAdded(let h, let bid, let coa, let life):
                logger.info("binding added", metadata: ["hoa": "\(h)", "bid": "\(bid)", "coa": "\(coa)", "lifetime": "\(life)"])
            case .bindingUpdated(let h, let bid, let coa, let life):
                logger.info("binding moved", metadata: ["hoa": "\(h)", "bid": "\(bid)", "coa": "\(coa)", "lifetime": "\(life)"])
            case .bindingRemoved(let h, let bid, let reason):
                logger.info("binding removed", metadata: ["hoa": "\(h)", "bid": "\(bid)", "reason": "\(reason)"])
            case .prefixRouted(let p):
                do { try netlink.route(p, interface: tunIndex) } catch { logger.error("route \(p) into \(tun.name) failed: \(error)") }
                logger.info("prefix routed into tunnel", metadata: ["prefix": "\(p)"])
            case .prefixUnrouted(let p):
                try? netlink.route(p, interface: tunIndex, delete: true)
                logger.info("prefix route removed", metadata: ["prefix": "\(p)"])
            case .ipv4HomeAddressRouted(let a, let h):
                // Only this /32 and only while bound: IPv4 to it goes into the tunnel, to the router.
                do { try netlink.route(ipv4: a, length: 32, interface: tunIndex) } catch { logger.error("route \(a)/32 into \(tun.name) failed: \(error)") }
                logger.info("IPv4 home address routed into tunnel", metadata: ["hoa": "\(h)", "ipv4": "\(a)"])
            case .ipv4HomeAddressUnrouted(let a, let h):
                try? netlink.route(ipv4: a, length: 32, interface: tunIndex, delete: true)
                logger.info("IPv4 home address route removed", metadata: ["hoa": "\(h)", "ipv4": "\(a)"])
            case .rejected(let h, let status, let reason):
                logger.warning("binding update refused", metadata: ["hoa": "\(h)", "status": "\(status)", "reason": "\(reason)"])
            }
        }
        saveIfChanged()
    }

    private func socket(for path: TransportAddress) -> UDPSocket {
        if let s = state.withLock({ $0.pathSockets[path] }) { return s }
        let wantV4: Bool
        if case .v4 = path.address { wantV4 = true } else { wantV4 = false }
        return sockets.first { $0.isIPv6 != wantV4 } ?? sockets[0]
    }

    /// Takes the mobile router accounts of `newFile` (the same configuration file, read again)
    /// without a restart: new routers may register at once; a removed or re-keyed router loses its
    /// bindings and routes at once and is refused from then on; nobody else notices. Other
    /// settings are read only at start (`needsRestart` lists the ones that differ).
    public func reload(_ newFile: HomeAgentFile) throws -> (changes: AccountChanges, needsRestart: [String]) {
        let accounts = try newFile.homeAgentConfiguration().accounts
        var needsRestart: [String] = []
        if newFile.homeAgentAddress != file.homeAgentAddress { needsRestart.append("homeAgentAddress") }
        if newFile.listen != file.listen { needsRestart.append("listen") }
        if newFile.port != file.port { needsRestart.append("port") }
        if newFile.homePrefix != file.homePrefix { needsRestart.append("homePrefix") }
        if newFile.allowMultipleCareOf != file.allowMultipleCareOf { needsRestart.append("allowMultipleCareOf") }
        let (out, changes) = state.withLock { $0.agent.replaceAccounts(accounts, now: clock.now()) }
        apply(out)
        for hoa in changes.removed { try? netlink.route(IPv6Prefix(address: hoa, length: 128), interface: tunIndex, delete: true) }
        for hoa in changes.added { try? netlink.route(IPv6Prefix(address: hoa, length: 128), interface: tunIndex) }
        logger.notice("accounts reloaded", metadata: [
            "added": "\(changes.added.count)", "removed": "\(changes.removed.count)", "changed": "\(changes.changed.count)",
            "adjusted": "\(changes.adjusted.count)", "bindings_dropped": "\(changes.bindingsDropped)"])
        if !needsRestart.isEmpty {
            logger.warning("these settings changed but are read only at start; restart nemo ha to apply them: \(needsRestart.joined(separator: ", "))")
        }
        return (changes, needsRestart)
    }

    /// Runs until the process ends.
    public func run() throws {
        logger.info("home agent listening", metadata: ["port": "\(file.port ?? dsmipv6Port)", "tunnel": "\(tun.name)"])
        for a in configuration.accounts {
            // The mobile router's home address is reachable through the tunnel as well.
            try? netlink.route(IPv6Prefix(address: a.homeAddress, length: 128), interface: tunIndex)
        }
        let rc = BlockingThread.start(name: "nemo ha tun") { [self] in tunLoop() }
        guard rc == 0 else { throw SystemError("start the tunnel thread", code: rc) }
        // The receive loop's own: it gathers from `buffer` until flushed.
        let tunWriter = TunWriter(tun)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let deadline = state.withLock { $0.agent.nextDeadline }
            let ready = waitReadable(sockets.map(\.fd), timeoutMilliseconds: pollTimeout(until: deadline, now: clock.now()))
            for socket in sockets where ready.contains(socket.fd) {
                // Drain what is there without blocking.
                var memo = ReceiveBatchMemo()
                let merged = socket.drain(into: &buffer, flushing: tunWriter) { payload, from in
                    if memo.recordedPath != from {
                        state.withLock { s in
                            guard s.pathSockets[from] !== socket else { return }
                            if s.pathSockets.count > 100_000 { s.pathSockets = [:] }
                            s.pathSockets[from] = socket
                        }
                        memo.recordedPath = from
                    }
                    handleDatagram(payload, from: from, tunWriter: tunWriter, memo: &memo)
                }
                let counted = memo.take()
                if merged > 0 || counted.packets > 0 {
                    state.withLock { $0.data.addReceived(counted, merged: merged) }
                }
            }
            let out = state.withLock { $0.agent.expire(now: clock.now()) }
            apply(out)
        }
    }

    private func handleDatagram(_ payload: UnsafeRawBufferPointer, from: TransportAddress, tunWriter: TunWriter, memo: inout ReceiveBatchMemo) {
        switch UDPTunnelDatagram(parsing: payload) {
        case .signaling(let src, let dst, let mh)? where dst == configuration.address:
            let out = state.withLock { $0.agent.receive(mobilityHeader: mh, innerSource: src, innerDestination: dst, from: from, now: clock.now()) }
            apply(out)
        case .signaling?, .ipv6Data?, .ipv4Data?:
            let raw = ReceiveBatchMemo.RawAddress.source(of: payload)
            if memo.accepts(from: from, address: raw, bytes: payload.count) {
                tunWriter.append(payload)
                return
            }
            guard let flow = FlowKey(packet: payload) else { return }
            let counted = memo.take()
            let (accepted, be) = state.withLock { s -> (Bool, OutgoingSignal?) in
                s.data.addReceived(counted)
                if s.agent.acceptsUplink(from: from, source: flow.source) {
                    s.data.packetsFromTunnel += 1
                    s.data.bytesFromTunnel += payload.count
                    return (true, nil)
                }
                return (false, s.agent.unknownPathSignal(from: from, source: flow.source, now: clock.now()))
            }
            if accepted {
                memo.remember(path: from, address: raw)
                tunWriter.append(payload)
            } else {
                memo.forget()
                if let be { socket(for: be.destination).send(be.datagram, to: be.destination) }
            }
        case nil:
            state.withLock { $0.data.droppedNotIP += 1 }
        }
    }

    private func tunLoop() {
        readTun(tun, logger: logger) { read in
            guard let flow = FlowKey(packet: read.packet) else { return }
            let paths = state.withLock { s -> [TransportAddress] in
                let p = s.agent.downlinkPaths(for: flow)
                if p.isEmpty { s.data.droppedNoBinding += read.count } else {
                    if read.count > 1 { s.data.superPacketsFromTun += 1 }
                    s.data.packetsToTunnel += read.count * p.count
                    s.data.bytesToTunnel += read.bytes * p.count
                }
                return p
            }
            for p in paths { socket(for: p).send(read, to: p) }
        }
    }
}
