import FoundationEssentials
import SystemSupport
import Glibc
import Logging
import Mobility
import NIOCore
import Synchronization
import Telemetry
import Timekeeping

/// `nemo mr` around the sans-I/O `MobileRouter`: watches the uplinks through rtnetlink, keeps one
/// UDP socket per usable uplink bound to its care-of address and device (so outer packets leave
/// by the uplink they belong to), and moves packets between the TUN device and those sockets.
public final class MobileRouterService: Sendable {
    /// What the receive loop, the TUN loop, `shutdown()` and `status()` share.
    private struct State {
        var router: MobileRouter
        var data = DataPathCounters()
        /// One socket per usable uplink, bound to its care-of address.
        var sockets: [String: UDPSocket] = [:]
        /// Handovers as SONAR records, for the onboard agent to collect.
        var sonar: SonarLog
        /// `data.droppedNoBinding` at the last handover.
        var droppedAtLastHandover = 0
    }

    /// The links and addresses rtnetlink reported: the receive loop's own (`run`).
    private struct LinkTable {
        var links: [Int32: (name: String, up: Bool)] = [:]
        var addresses: [Int32: [IPAddress]] = [:]
    }

    private let file: MobileRouterFile
    private let logger: Logger
    private let state: Mutex<State>
    /// The router's configuration (immutable), readable without the lock.
    private let configuration: MobileRouterConfiguration
    /// Where every `now` handed to the core comes from (`SystemClock` in the daemon).
    private let clock: any InstantClock
    private let tun: TunDevice
    private let tunIndex: Int32
    private let changes: RouteNetlinkSocket
    private let monitor: RouteNetlinkSocket
    private let families: [String: String]
    private let technologies: [String: AccessTechnology]
    private let advertiser: RouterAdvertiser?

    public init(file: MobileRouterFile, logger: Logger, clock: any InstantClock = SystemClock()) throws {
        self.clock = clock
        self.file = file
        self.logger = logger
        configuration = try file.mobileRouterConfiguration()
        let instance = (0..<4).map { _ in String(UInt16.random(in: 0...UInt16.max), radix: 16) }.joined(separator: "-")
        state = Mutex(State(router: MobileRouter(configuration: configuration), sonar: SonarLog(instance: instance)))
        var f: [String: String] = [:]
        var t: [String: AccessTechnology] = [:]
        for u in file.uplinks {
            f[u.name] = u.family ?? "any"
            t[u.name] = u.technology.flatMap(AccessTechnology.init(rawValue:))
        }
        families = f
        technologies = t
        (tun, tunIndex) = try openTunnel(file)
        changes = try RouteNetlinkSocket(subscribe: false)
        monitor = try RouteNetlinkSocket(subscribe: true)
        advertiser = try MobileRouterService.setUpNetwork(configuration, file: file, changes: changes, tunIndex: tunIndex)
    }

    /// TUN up, home address on it, policy routing: traffic from the mobile network (and from the
    /// home address) goes into the tunnel; traffic to the mobile network stays local.
    private static func setUpNetwork(_ c: MobileRouterConfiguration, file: MobileRouterFile, changes: RouteNetlinkSocket,
                                     tunIndex: Int32) throws -> RouterAdvertiser? {
        var advertiser: RouterAdvertiser?
        let table = file.table ?? 100
        try changes.setUp(interface: tunIndex, mtu: file.tunnelMTU)
        try changes.addAddress(c.homeAddress, prefixLength: 128, interface: tunIndex)
        try changes.route(IPv6Prefix(address: .unspecified, length: 0), interface: tunIndex, table: table)
        for p in c.prefixes {
            try changes.rule(to: p, table: 254, priority: 900)
            try changes.rule(from: p, table: table, priority: 1000)
        }
        try changes.rule(from: IPv6Prefix(address: c.homeAddress, length: 128), table: table, priority: 1000)
        if let ingress = file.ingress {
            guard let index = interfaceIndex(ingress.interface) else { throw ConfigurationError("ingress interface \(ingress.interface) not found") }
            try changes.setUp(interface: index, mtu: nil)
            if let a = ingress.address {
                guard let p = IPv6Prefix(a), let addr = IPv6Address(String(a.split(separator: "/")[0])) else {
                    throw ConfigurationError("ingress.address '\(a)' is not address/length")
                }
                try changes.addAddress(addr, prefixLength: p.length, interface: index)
            }
            if ingress.routerAdvertisements ?? false {
                advertiser = try RouterAdvertiser(interface: index,
                                                  advertisement: RouterAdvertisement(prefixes: c.prefixes.filter { $0.length == 64 }, mtu: file.tunnelMTU))
            }
        }
        // A mobile router forwards between its mobile network and the tunnel.
        try? "1".write(toFile: "/proc/sys/net/ipv6/conf/all/forwarding", atomically: false, encoding: .utf8)
        return advertiser
    }

    /// The current status for `nemo status` and metrics.
    public func status() -> NemoStatus {
        state.withLock { s in
            let now = clock.now()
            let router = s.router
            let lines = router.bindingUpdateList.values.sorted { $0.uplink < $1.uplink }.map { e in
                BindingStatusLine(homeAddress: router.configuration.homeAddress.description, bid: e.bid, uplink: e.uplink,
                                  careOf: e.careOf?.description, path: router.homeAgentEndpoint(for: e.uplink)?.description,
                                  state: e.state.rawValue, priority: e.priority,
                                  lifetimeRemaining: e.expires.map { Int(($0 - now).secondsValue) }, lastStatus: e.lastStatus,
                                  retryIn: e.state == .failed ? e.retryAt.map { max(0, Int(($0 - now).secondsValue)) } : nil)
            }
            return NemoStatus(role: router.configuration.isMobileRouter ? "mr" : "mn", homeAddress: router.configuration.homeAddress.description,
                              prefixes: router.configuration.prefixes.map(\.description), bindings: lines, defaultUplink: router.defaultUplink,
                              counters: router.counters.merging(s.data.dictionary) { $0 + $1 },
                              ipv4HomeAddress: router.ipv4HomeAddress?.description, ipv4HomeAddressStatus: router.ipv4HomeAddressStatus)
        }
    }

    private func apply(_ out: MobileRouterOutput) {
        for s in out.signals {
            let socket = state.withLock { $0.sockets[s.uplink] }
            if let socket, socket.send(s.signal.datagram, to: s.signal.destination) == false {
                logger.debug("send on \(s.uplink) failed: \(SystemError("sendto"))")
            }
        }
        for e in out.events {
            switch e {
            case .registered(let u, let bid, let coa, let life):
                logger.info("binding registered", metadata: ["uplink": "\(u)", "bid": "\(bid)", "coa": "\(coa)", "lifetime": "\(life)"])
            case .refreshed(let u, let bid, let life):
                logger.debug("binding refreshed", metadata: ["uplink": "\(u)", "bid": "\(bid)", "lifetime": "\(life)"])
            case .deregistered(let u, let bid):
                logger.info("binding de-registered", metadata: ["uplink": "\(u)", "bid": "\(bid)"])
            case .rejected(let u, let bid, let status, let reason, let retryIn):
                logger.error("binding refused", metadata: ["uplink": "\(u)", "bid": "\(bid)", "status": "\(status)", "reason": "\(reason)",
                                                           "retry_in_s": "\(Int(retryIn.secondsValue))"])
            case .bindingLost(let u, let bid, let reason):
                logger.info("binding lost", metadata: ["uplink": "\(u)", "bid": "\(bid)", "reason": "\(reason)"])
            case .handover(let h):
                let record = state.withLock { s -> Handover in
                    s.data.handovers += 1
                    let lost = max(0, s.data.droppedNoBinding - s.droppedAtLastHandover)
                    s.droppedAtLastHandover = s.data.droppedNoBinding
                    let record = Handover(h, technology: { technologies[$0] }, lost: UInt64(lost))
                    s.sonar.append(record, at: clock.now())
                    return record
                }
                logger.notice("handover", metadata: ["from": "\(h.from ?? "-")", "to": "\(h.to)", "cause": "\(record.cause.rawValue)",
                                                     "registration_ms": "\(record.registrationDelayMs ?? 0)", "outage_ms": "\(record.outageMs ?? 0)",
                                                     "lost": "\(record.lost ?? 0)"])
            case .homeAgentLostState:
                logger.warning("home agent lost our bindings (restart?); registering again")
            case .multipleCareOfRefused:
                logger.warning("home agent refused MCoA; falling back to one care-of address")
            case .ipv4HomeAddressAcquired(let a):
                useIPv4HomeAddress(a, true)
                logger.notice("IPv4 home address acquired", metadata: ["ipv4": "\(a)"])
            case .ipv4HomeAddressLost(let a, let reason):
                useIPv4HomeAddress(a, false)
                logger.notice("IPv4 home address lost", metadata: ["ipv4": "\(a)", "reason": "\(reason)"])
            case .ipv4HomeAddressRefused(let status):
                logger.error("home agent refused the IPv4 home address (IPv6 binding kept)",
                             metadata: ["status": "\(status)", "asked": "\(configuration.ipv4HomeAddress?.description ?? "-")"])
            case .unauthenticatedAcknowledgement(let u, let status):
                logger.error("binding acknowledgement ignored: its MN-HA authenticator does not verify (a home agent without our key, or a forgery); check spi and key; still retrying",
                             metadata: ["uplink": "\(u)", "status": "\(status)"])
            }
        }
    }

    /// The acknowledged IPv4 home address on the TUN device, and "from it lookup `table`" with an
    /// IPv4 default route into the tunnel there (RFC 5555 §4.4.3: the router's own IPv4 traffic
    /// leaves through the home agent); both undone when it is lost.
    private func useIPv4HomeAddress(_ a: IPv4Address, _ use: Bool) {
        let table = file.table ?? 100
        do {
            if use {
                try changes.address(ipv4: a, interface: tunIndex)
                try changes.route(ipv4: .unspecified, length: 0, interface: tunIndex, table: table)
                try changes.rule(fromAddress: .v4(a), table: table, priority: 1000)
            } else {
                try? changes.rule(fromAddress: .v4(a), table: table, priority: 1000, delete: true)
                try changes.address(ipv4: a, interface: tunIndex, delete: true)
            }
        } catch {
            logger.error("IPv4 home address \(a): \(use ? "set-up" : "removal") failed: \(error)")
        }
    }

    /// The care-of address an uplink offers now: IPv6 global first unless the family says otherwise.
    private func careOf(for uplink: String, in table: LinkTable) -> IPAddress? {
        guard let (index, link) = table.links.first(where: { $0.value.name == uplink }), link.up else { return nil }
        let list = table.addresses[index] ?? []
        let v6 = list.first { if case .v6 = $0 { return true }; return false }
        let v4 = list.first { if case .v4 = $0 { return true }; return false }
        switch families[uplink] ?? "any" {
        case "ipv4": return v4
        case "ipv6": return v6
        default: return v6 ?? v4
        }
    }

    private func handleLinkEvents(_ events: [LinkEvent], table: inout LinkTable) {
        for e in events {
            switch e {
            case .link(let i, let name, let up): table.links[i] = (name, up)
            case .linkRemoved(let i): table.links[i] = nil; table.addresses[i] = nil
            case .address(let i, let a, _): if !(table.addresses[i] ?? []).contains(a) { table.addresses[i, default: []].append(a) }
            case .addressRemoved(let i, let a): table.addresses[i]?.removeAll { $0 == a }
            }
        }
        for u in file.uplinks {
            var coa = careOf(for: u.name, in: table)
            let current = state.withLock { $0.router.careOfAddresses[u.name] }
            guard coa != current else { continue }
            var socket: UDPSocket?
            if let c = coa {
                do { socket = try UDPSocket(address: c, port: 0, device: u.name, coalescedReceive: true) } catch {
                    logger.warning("uplink \(u.name) has \(c) but no socket yet: \(error)")
                    coa = nil
                }
            }
            guard coa != current else { continue }
            if let c = coa, let gw = u.gateway {
                do {
                    guard let gateway = IPAddress(gw), let index = interfaceIndex(u.name) else { throw ConfigurationError("uplink \(u.name): bad gateway \(gw)") }
                    let table = 200 + UInt32(u.bid)
                    try changes.defaultRoute(via: gateway, interface: index, table: table)
                    try changes.rule(fromAddress: c, table: table, priority: 500)
                } catch {
                    logger.warning("uplink \(u.name): route set-up failed: \(error)")
                }
            }
            logger.info("uplink \(coa == nil ? "down" : "up")", metadata: ["uplink": "\(u.name)", "coa": "\(coa?.description ?? "-")"])
            let out = state.withLock { s -> MobileRouterOutput in
                s.sockets[u.name] = socket
                return s.router.uplinkChanged(u.name, careOf: coa, now: clock.now())
            }
            apply(out)
        }
    }

    /// Runs until the process ends.
    public func run() throws {
        try monitor.requestDump()
        advertiser?.start()
        let rc = BlockingThread.start(name: "nemo mr tun") { [self] in tunLoop() }
        guard rc == 0 else { throw SystemError("start the tunnel thread", code: rc) }
        // The receive loop's own: the writer gathers from `buffer` until flushed; the link table;
        // the filter of second copies of duplicated downlink.
        let tunWriter = TunWriter(tun)
        var table = LinkTable()
        var duplicates = file.discardDuplicates == true ? DuplicatePacketFilter() : nil
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let (deadline, socketList) = state.withLock { ($0.router.nextDeadline, $0.sockets) }
            let ready = waitReadable([monitor.fd] + socketList.values.map(\.fd), timeoutMilliseconds: pollTimeout(until: deadline, now: clock.now()))
            if ready.contains(monitor.fd) {
                do { handleLinkEvents(try monitor.read(), table: &table) } catch { logger.error("rtnetlink: \(error)") }
            }
            for (name, socket) in socketList where ready.contains(socket.fd) {
                var memo = ReceiveBatchMemo()
                let merged = socket.drain(into: &buffer, flushing: tunWriter) {
                    handleDatagram($0, from: $1, uplink: name, tunWriter: tunWriter, duplicates: &duplicates, memo: &memo)
                }
                let counted = memo.take()
                if merged > 0 || counted.packets > 0 {
                    state.withLock { $0.data.addReceived(counted, merged: merged) }
                }
            }
            let out = state.withLock { $0.router.tick(now: clock.now()) }
            apply(out)
        }
    }

    private func handleDatagram(_ payload: UnsafeRawBufferPointer, from: TransportAddress, uplink: String, tunWriter: TunWriter,
                                duplicates: inout DuplicatePacketFilter?, memo: inout ReceiveBatchMemo) {
        let fromHomeAgent = configuration.homeAgentEndpoints.contains(from.address) && from.port == configuration.homeAgentPort
        guard fromHomeAgent else {
            state.withLock { $0.data.droppedNotFromHomeAgent += 1 }
            return
        }
        switch UDPTunnelDatagram(parsing: payload) {
        case .signaling(let src, let dst, let mh)? where src == configuration.homeAgentAddress:
            let out = state.withLock { $0.router.receive(mobilityHeader: mh, innerSource: src, innerDestination: dst, via: uplink, now: clock.now()) }
            apply(out)
        case .signaling?, .ipv6Data?, .ipv4Data?:
            let raw = ReceiveBatchMemo.RawAddress.destination(of: payload)
            var ok = memo.accepts(from: from, address: raw, bytes: payload.count)
            if !ok {
                guard let flow = FlowKey(packet: payload) else { return }
                let counted = memo.take()
                ok = state.withLock { s -> Bool in
                    s.data.addReceived(counted)
                    guard s.router.acceptsDownlink(destination: flow.destination) else {
                        s.data.droppedNotOurNetwork += 1
                        return false
                    }
                    s.data.packetsFromTunnel += 1
                    s.data.bytesFromTunnel += payload.count
                    return true
                }
                if ok { memo.remember(path: from, address: raw) } else { memo.forget() }
            }
            guard ok else { return }
            if duplicates?.isDuplicate(payload, now: clock.now()) == true {
                state.withLock { $0.data.droppedDuplicate += 1 }
                return
            }
            tunWriter.append(payload)
        case nil:
            state.withLock { $0.data.droppedNotIP += 1 }
        }
    }

    private func tunLoop() {
        readTun(tun, logger: logger) { read in
            guard let flow = FlowKey(packet: read.packet) else { return }
            let target = state.withLock { st -> (UDPSocket, TransportAddress)? in
                guard let u = st.router.uplink(for: flow), let s = st.sockets[u], let e = st.router.homeAgentEndpoint(for: u) else {
                    st.data.droppedNoBinding += read.count
                    return nil
                }
                if read.count > 1 { st.data.superPacketsFromTun += 1 }
                st.data.packetsToTunnel += read.count
                st.data.bytesToTunnel += read.bytes
                st.data.packetsPerUplink[u, default: 0] += read.count
                return (s, e)
            }
            if let (s, e) = target { s.send(read, to: e) }
        }
    }

    /// The answer to the control socket's `sonar AFTER` (SonarLog.answer); nil for other commands.
    /// A missing or unreadable AFTER counts as 0 (everything held).
    public func sonarAnswer(_ command: String) -> String? {
        let words = command.split(separator: " ")
        guard words.first == "sonar" else { return nil }
        let after = words.count > 1 ? UInt64(words[1]) ?? 0 : 0
        return state.withLock { $0.sonar.answer(after: after) }
    }

    /// De-registers all bindings (best effort), for a clean shutdown.
    public func shutdown() {
        let out = state.withLock { $0.router.deregisterAll(now: clock.now()) }
        apply(out)
    }
}
