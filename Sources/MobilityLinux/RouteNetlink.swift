import CNemoLinux
import Glibc
import Mobility

/// Errors from the Linux side, with what failed and the errno text.
public struct SystemError: Error, CustomStringConvertible {
    public var what: String
    public var code: Int32

    public init(_ what: String, code: Int32 = errno) {
        self.what = what
        self.code = code
    }

    public var description: String { "\(what): \(String(cString: strerror(code)))" }
}

/// A link or address change read from rtnetlink.
public enum LinkEvent: Hashable, Sendable {
    /// `up` is administratively up and with carrier (IFF_UP and IFF_RUNNING).
    case link(index: Int32, name: String, up: Bool)
    case linkRemoved(index: Int32)
    /// A global-scope address that is usable (not tentative, not DAD-failed).
    case address(index: Int32, address: IPAddress, prefixLength: UInt8)
    case addressRemoved(index: Int32, address: IPAddress)
}

/// rtnetlink message layouts (linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h, linux/fib_rules.h).
enum RTNL {
    static let newLink: UInt16 = 16, delLink: UInt16 = 17, getLink: UInt16 = 18
    static let newAddr: UInt16 = 20, delAddr: UInt16 = 21, getAddr: UInt16 = 22
    static let newRoute: UInt16 = 24, delRoute: UInt16 = 25
    static let newRule: UInt16 = 32, delRule: UInt16 = 33
    static let done: UInt16 = 3, error: UInt16 = 2
    static let request: UInt16 = 0x1, ack: UInt16 = 0x4, dump: UInt16 = 0x300
    static let create: UInt16 = 0x400, replace: UInt16 = 0x100, excl: UInt16 = 0x200
    static let groupLink: UInt32 = 0x1, groupIPv4Addr: UInt32 = 0x10, groupIPv6Addr: UInt32 = 0x100
}

/// Parses a buffer of rtnetlink messages into link and address events. Pure, so tests can feed it bytes.
public func parseRouteNetlink(_ bytes: UnsafeRawBufferPointer) -> [LinkEvent] {
    var events: [LinkEvent] = []
    var offset = 0
    func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
    func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
    while offset + 16 <= bytes.count {
        let length = Int(u32(offset))
        let type = u16(offset + 4)
        guard length >= 16, offset + length <= bytes.count else { break }
        let body = offset + 16
        let end = offset + length
        func attributes(from start: Int) -> [(UInt16, Range<Int>)] {
            var attrs: [(UInt16, Range<Int>)] = []
            var a = start
            while a + 4 <= end {
                let alen = Int(u16(a))
                guard alen >= 4, a + alen <= end else { break }
                attrs.append((u16(a + 2) & 0x3FFF, (a + 4)..<(a + alen)))
                a += (alen + 3) & ~3
            }
            return attrs
        }
        switch type {
        case RTNL.newLink, RTNL.delLink:
            guard body + 16 <= end else { break }
            let index = Int32(bitPattern: u32(body + 4))
            let flags = u32(body + 8)
            if type == RTNL.delLink {
                events.append(.linkRemoved(index: index))
                break
            }
            var name = ""
            for (t, r) in attributes(from: body + 16) where t == 3 {
                name = String(decoding: bytes[r].prefix { $0 != 0 }, as: UTF8.self)
            }
            let up = flags & 0x1 != 0 && flags & 0x40 != 0  // IFF_UP, IFF_RUNNING
            events.append(.link(index: index, name: name, up: up))
        case RTNL.newAddr, RTNL.delAddr:
            guard body + 8 <= end else { break }
            let family = Int32(bytes[body])
            let prefixLength = bytes[body + 1]
            var flags = UInt32(bytes[body + 2])
            let scope = bytes[body + 3]
            let index = Int32(bitPattern: u32(body + 4))
            var address: IPAddress?
            var local: IPAddress?
            for (t, r) in attributes(from: body + 8) {
                if t == 8, r.count == 4 { flags = u32(r.lowerBound) }
                let value: IPAddress? = family == AF_INET6 && r.count == 16 ? .v6(IPv6Address(octets: bytes[r])!)
                    : family == AF_INET && r.count == 4 ? .v4(IPv4Address(octets: bytes[r])!) : nil
                if t == 1 { address = value }
                if t == 2 { local = value }
            }
            // For IPv4 IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on point-to-point).
            guard let a = local ?? address, scope == 0 else { break }
            let unusable = flags & 0x40 != 0 || flags & 0x08 != 0 // IFA_F_TENTATIVE, IFA_F_DADFAILED
            if type == RTNL.delAddr || unusable {
                events.append(.addressRemoved(index: index, address: a))
            } else {
                events.append(.address(index: index, address: a, prefixLength: prefixLength))
            }
        default:
            break
        }
        offset += (length + 3) & ~3
    }
    return events
}

/// A rtnetlink socket: link/address notifications, dumps, and route/rule/address/link changes.
///
/// `@unchecked Sendable`: a request and the acknowledgement read after it must not interleave
/// with another thread's, so each socket has one user thread (the daemon's set-up, then its
/// receive loop); that discipline, not a lock, keeps `sequence` and the exchanges consistent.
public final class RouteNetlinkSocket: @unchecked Sendable {
    public let fd: Int32
    private var sequence: UInt32 = 1

    /// Opens a socket; with `subscribe`, joins the link and address multicast groups.
    public init(subscribe: Bool) throws {
        fd = socket(AF_NETLINK, SocketType.raw | SocketType.closeOnExec, 0)
        guard fd >= 0 else { throw SystemError("netlink socket") }
        var addr = sockaddr_nl()
        addr.nl_family = sa_family_t(AF_NETLINK)
        addr.nl_groups = subscribe ? RTNL.groupLink | RTNL.groupIPv4Addr | RTNL.groupIPv6Addr : 0
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) } }
        guard rc == 0 else {
            close(fd)
            throw SystemError("netlink bind")
        }
    }

    deinit { close(fd) }

    private func message(type: UInt16, flags: UInt16, body: [UInt8]) -> [UInt8] {
        sequence &+= 1
        var m = [UInt8]()
        let length = UInt32(16 + body.count)
        m += withUnsafeBytes(of: length.littleEndian, Array.init)
        m += withUnsafeBytes(of: type.littleEndian, Array.init)
        m += withUnsafeBytes(of: flags.littleEndian, Array.init)
        m += withUnsafeBytes(of: sequence.littleEndian, Array.init)
        m += [0, 0, 0, 0]
        m += body
        return m
    }

    private func send(_ m: [UInt8]) throws {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        let n = m.withUnsafeBytes { buf in
            withUnsafePointer(to: &kernel) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            } }
        }
        guard n == m.count else { throw SystemError("netlink send") }
    }

    /// Asks for a dump of all links, then of all addresses; the answers arrive as ordinary reads.
    public func requestDump() throws {
        try send(message(type: RTNL.getLink, flags: RTNL.request | RTNL.dump, body: [UInt8](repeating: 0, count: 16)))
        dumpAddressesPending = true
    }

    /// The kernel serves one dump at a time per socket: the address dump follows the link dump's end.
    private var dumpAddressesPending = false

    /// Reads one batch of messages (blocking) and returns its events.
    public func read() throws -> [LinkEvent] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else {
            if errno == ENOBUFS { return [] }
            throw SystemError("netlink recv")
        }
        let events = buffer.withUnsafeBytes { parseRouteNetlink(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        let sawDone = buffer.withUnsafeBytes { raw -> Bool in
            var o = 0
            while o + 16 <= n {
                let len = Int(raw.load(fromByteOffset: o, as: UInt32.self))
                if raw.load(fromByteOffset: o + 4, as: UInt16.self) == RTNL.done { return true }
                guard len >= 16 else { break }
                o += (len + 3) & ~3
            }
            return false
        }
        if sawDone && dumpAddressesPending {
            dumpAddressesPending = false
            try send(message(type: RTNL.getAddr, flags: RTNL.request | RTNL.dump, body: [UInt8](repeating: 0, count: 8)))
        }
        return events
    }

    /// Sends a change and waits for the kernel's acknowledgement.
    private func change(type: UInt16, flags: UInt16, body: [UInt8], what: String) throws {
        try send(message(type: type, flags: RTNL.request | RTNL.ack | flags, body: body))
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n >= 16 else { throw SystemError("netlink ack for \(what)") }
            let (t, code) = buffer.withUnsafeBytes { raw in
                (raw.load(fromByteOffset: 4, as: UInt16.self), n >= 20 ? raw.load(fromByteOffset: 16, as: Int32.self) : 0)
            }
            if t == RTNL.error {
                if code == 0 { return }
                throw SystemError(what, code: -code)
            }
        }
    }

    private static func attribute(_ type: UInt16, _ data: [UInt8]) -> [UInt8] {
        let len = UInt16(4 + data.count)
        var a = withUnsafeBytes(of: len.littleEndian, Array.init) + withUnsafeBytes(of: type.littleEndian, Array.init) + data
        while a.count % 4 != 0 { a.append(0) }
        return a
    }

    private static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

    /// Adds (replacing) or deletes `prefix` via interface `index` in `table`.
    public func route(_ prefix: IPv6Prefix, interface index: Int32, table: UInt32 = 254, delete: Bool = false) throws {
        // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type; flags(4)
        var body: [UInt8] = [UInt8(AF_INET6), prefix.length, 0, 0, table < 256 ? UInt8(table) : 252, 4, 0, 1, 0, 0, 0, 0]
        if prefix.length > 0 { body += Self.attribute(1, prefix.address.octets) }   // RTA_DST
        body += Self.attribute(4, Self.u32(UInt32(bitPattern: index)))              // RTA_OIF
        body += Self.attribute(15, Self.u32(table))                                  // RTA_TABLE
        try change(type: delete ? RTNL.delRoute : RTNL.newRoute, flags: delete ? 0 : RTNL.create | RTNL.replace, body: body,
                   what: "\(delete ? "delete" : "add") route \(prefix) table \(table)")
    }

    /// Adds (replacing) or deletes the IPv4 route `destination`/`length` via interface `index` in
    /// `table` (scope link: the interface is point-to-point, there is no gateway).
    public func route(ipv4 destination: IPv4Address, length: UInt8, interface index: Int32, table: UInt32 = 254, delete: Bool = false) throws {
        var body: [UInt8] = [UInt8(AF_INET), length, 0, 0, table < 256 ? UInt8(table) : 252, 4, 253, 1, 0, 0, 0, 0]
        if length > 0 { body += Self.attribute(1, destination.octets) }           // RTA_DST
        body += Self.attribute(4, Self.u32(UInt32(bitPattern: index)))            // RTA_OIF
        body += Self.attribute(15, Self.u32(table))                                // RTA_TABLE
        try change(type: delete ? RTNL.delRoute : RTNL.newRoute, flags: delete ? 0 : RTNL.create | RTNL.replace, body: body,
                   what: "\(delete ? "delete" : "add") route \(destination)/\(length) table \(table)")
    }

    /// Adds a policy rule "[from `source`] [to `destination`] lookup `table`" at `priority` (IPv6).
    public func rule(from source: IPv6Prefix? = nil, to destination: IPv6Prefix? = nil, table: UInt32, priority: UInt32, delete: Bool = false) throws {
        // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action(FR_ACT_TO_TBL=1), flags(4)
        var body: [UInt8] = [UInt8(AF_INET6), destination?.length ?? 0, source?.length ?? 0, 0, table < 256 ? UInt8(table) : 252, 0, 0, 1, 0, 0, 0, 0]
        if let destination { body += Self.attribute(1, destination.address.octets) }  // FRA_DST
        if let source { body += Self.attribute(2, source.address.octets) }            // FRA_SRC
        body += Self.attribute(15, Self.u32(table))        // FRA_TABLE
        body += Self.attribute(6, Self.u32(priority))      // FRA_PRIORITY
        do {
            try change(type: delete ? RTNL.delRule : RTNL.newRule, flags: delete ? 0 : RTNL.create | RTNL.excl, body: body,
                       what: "\(delete ? "delete" : "add") rule from \(source?.description ?? "all") to \(destination?.description ?? "all") table \(table)")
        } catch let e as SystemError where e.code == EEXIST {
            return
        }
    }

    /// Adds (replacing) a default route via `gateway` out of interface `index` in `table`.
    public func defaultRoute(via gateway: IPAddress, interface index: Int32, table: UInt32) throws {
        let family: UInt8
        let bytes: [UInt8]
        switch gateway {
        case .v6(let a): family = UInt8(AF_INET6); bytes = a.octets
        case .v4(let a): family = UInt8(AF_INET); bytes = a.octets
        }
        var body: [UInt8] = [family, 0, 0, 0, table < 256 ? UInt8(table) : 252, 4, 0, 1, 0, 0, 0, 0]
        body += Self.attribute(5, bytes)                                   // RTA_GATEWAY
        body += Self.attribute(4, Self.u32(UInt32(bitPattern: index)))     // RTA_OIF
        body += Self.attribute(15, Self.u32(table))                        // RTA_TABLE
        try change(type: RTNL.newRoute, flags: RTNL.create | RTNL.replace, body: body, what: "default route via \(gateway) table \(table)")
    }

    /// Adds a rule "from `source` (one address) lookup `table`", for either family.
    public func rule(fromAddress source: IPAddress, table: UInt32, priority: UInt32, delete: Bool = false) throws {
        let family: UInt8
        let bytes: [UInt8]
        switch source {
        case .v6(let a): family = UInt8(AF_INET6); bytes = a.octets
        case .v4(let a): family = UInt8(AF_INET); bytes = a.octets
        }
        var body: [UInt8] = [family, 0, UInt8(bytes.count * 8), 0, table < 256 ? UInt8(table) : 252, 0, 0, 1, 0, 0, 0, 0]
        body += Self.attribute(2, bytes)
        body += Self.attribute(15, Self.u32(table))
        body += Self.attribute(6, Self.u32(priority))
        do {
            try change(type: delete ? RTNL.delRule : RTNL.newRule, flags: delete ? 0 : RTNL.create | RTNL.excl, body: body,
                       what: "\(delete ? "delete " : "")rule from \(source) table \(table)")
        } catch let e as SystemError where e.code == EEXIST && !delete {
            return
        }
    }

    /// Adds an IPv6 address to an interface without duplicate address detection.
    public func addAddress(_ address: IPv6Address, prefixLength: UInt8, interface index: Int32) throws {
        // struct ifaddrmsg: family, prefixlen, flags, scope, index(4)
        var body: [UInt8] = [UInt8(AF_INET6), prefixLength, 0x02, 0] + Self.u32(UInt32(bitPattern: index))
        body += Self.attribute(2, address.octets)       // IFA_LOCAL
        body += Self.attribute(1, address.octets)       // IFA_ADDRESS
        body += Self.attribute(8, Self.u32(0x02 | 0x80)) // IFA_FLAGS: NODAD | PERMANENT
        do {
            try change(type: RTNL.newAddr, flags: RTNL.create | RTNL.excl, body: body, what: "add address \(address)/\(prefixLength)")
        } catch let e as SystemError where e.code == EEXIST {
            return
        }
    }

    /// Adds or deletes an IPv4 address (one host, /32) on an interface.
    public func address(ipv4 address: IPv4Address, interface index: Int32, delete: Bool = false) throws {
        // struct ifaddrmsg: family, prefixlen, flags, scope (global), index(4)
        var body: [UInt8] = [UInt8(AF_INET), 32, 0, 0] + Self.u32(UInt32(bitPattern: index))
        body += Self.attribute(2, address.octets)       // IFA_LOCAL
        body += Self.attribute(1, address.octets)       // IFA_ADDRESS
        do {
            try change(type: delete ? RTNL.delAddr : RTNL.newAddr, flags: delete ? 0 : RTNL.create | RTNL.excl, body: body,
                       what: "\(delete ? "delete" : "add") address \(address)/32")
        } catch let e as SystemError where e.code == EEXIST && !delete {
            return
        }
    }

    /// Brings a link up and sets its MTU.
    public func setUp(interface index: Int32, mtu: UInt32?) throws {
        // struct ifinfomsg: family, pad, type(2), index(4), flags(4), change(4)
        var body: [UInt8] = [0, 0, 0, 0] + Self.u32(UInt32(bitPattern: index)) + Self.u32(0x1) + Self.u32(0x1)  // IFF_UP
        if let mtu { body += Self.attribute(4, Self.u32(mtu)) }  // IFLA_MTU
        try change(type: RTNL.newLink, flags: 0, body: body, what: "set link \(index) up")
    }
}

/// The kernel's interface index for a name, or nil.
public func interfaceIndex(_ name: String) -> Int32? {
    let i = if_nametoindex(name)
    return i == 0 ? nil : Int32(i)
}
