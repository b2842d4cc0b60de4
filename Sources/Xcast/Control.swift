import NIOCore

/// A receiver's (or relay's) join or leave for one session (framing types 1 and 2, docs/xcast.md §4):
/// session name, token, the UDP port (and optionally address) copies are to go to, and the lifetime
/// asked for. An all-zero address means "the address this request came from".
public struct MembershipRequest: Hashable, Sendable {
    public var leave: Bool
    public var channel: ChannelID
    public var token: SessionToken
    public var member: Endpoint
    public var lifetime: UInt16

    public init(leave: Bool = false, channel: ChannelID, token: SessionToken, member: Endpoint, lifetime: UInt16) {
        self.leave = leave
        self.channel = channel
        self.token = token
        self.member = member
        self.lifetime = lifetime
    }

    /// Reads the body after the framing (whose type said join or leave).
    public init(parsing buffer: inout ByteBuffer, leave: Bool) throws(XcastParseError) {
        self.leave = leave
        channel = try readChannel(&buffer)
        token = try readToken(&buffer)
        guard buffer.readableBytes >= 20 else { throw .truncated(needed: 20, available: buffer.readableBytes) }
        let address = IPv6Address(high: buffer.readInteger(as: UInt64.self)!, low: buffer.readInteger(as: UInt64.self)!)
        let port = buffer.readInteger(as: UInt16.self)!
        guard port != 0 else { throw .zeroPort(index: 0) }
        member = Endpoint(address: address, port: port)
        lifetime = buffer.readInteger(as: UInt16.self)!
        guard leave || lifetime > 0 else { throw .badFieldValue(field: "lifetime", value: 0) }
        guard buffer.readableBytes == 0 else { throw .trailingOctets(buffer.readableBytes) }
    }

    public func write(to out: inout ByteBuffer) {
        XcastFraming(type: leave ? .leave : .join).write(to: &out)
        writeChannel(channel, to: &out)
        out.writeInteger(UInt8(token.bytes.count))
        out.writeBytes(token.bytes)
        out.writeInteger(member.address.high)
        out.writeInteger(member.address.low)
        out.writeInteger(member.port)
        out.writeInteger(lifetime)
    }
}

/// The answer to a join, leave or query (framing types 3 and 4).
public struct MembershipReply: Hashable, Sendable {
    public enum Verdict: Hashable, Sendable {
        /// Joined (or refreshed) for this many seconds; 0 after a leave.
        case accepted(lifetime: UInt16)
        case refused(RefusalReason)
    }
    public enum RefusalReason: UInt8, Hashable, Sendable {
        case unknownSession = 1
        case badToken = 2
        case full = 3
        case forbiddenAddress = 4
    }

    public var channel: ChannelID
    public var member: Endpoint
    public var verdict: Verdict

    public init(channel: ChannelID, member: Endpoint, verdict: Verdict) {
        self.channel = channel
        self.member = member
        self.verdict = verdict
    }

    public init(parsing buffer: inout ByteBuffer, refused: Bool) throws(XcastParseError) {
        channel = try readChannel(&buffer)
        guard buffer.readableBytes >= 20 else { throw .truncated(needed: 20, available: buffer.readableBytes) }
        member = Endpoint(address: IPv6Address(high: buffer.readInteger(as: UInt64.self)!, low: buffer.readInteger(as: UInt64.self)!),
                          port: buffer.readInteger(as: UInt16.self)!)
        let value = buffer.readInteger(as: UInt16.self)!
        if refused {
            guard let reason = RefusalReason(rawValue: UInt8(truncatingIfNeeded: value)), value <= 0xFF else {
                throw .badFieldValue(field: "reason", value: Int(value))
            }
            verdict = .refused(reason)
        } else {
            verdict = .accepted(lifetime: value)
        }
        guard buffer.readableBytes == 0 else { throw .trailingOctets(buffer.readableBytes) }
    }

    public func write(to out: inout ByteBuffer) {
        let value: UInt16
        switch verdict {
        case .accepted(let l): XcastFraming(type: .accepted).write(to: &out); value = l
        case .refused(let r): XcastFraming(type: .refused).write(to: &out); value = UInt16(r.rawValue)
        }
        writeChannel(channel, to: &out)
        out.writeInteger(member.address.high)
        out.writeInteger(member.address.low)
        out.writeInteger(member.port)
        out.writeInteger(value)
    }
}

/// "Who is joined to this session?" (framing type 5): session name and token.
public struct MembersQuery: Hashable, Sendable {
    public var channel: ChannelID
    public var token: SessionToken

    public init(channel: ChannelID, token: SessionToken) {
        self.channel = channel
        self.token = token
    }

    public init(parsing buffer: inout ByteBuffer) throws(XcastParseError) {
        channel = try readChannel(&buffer)
        token = try readToken(&buffer)
        guard buffer.readableBytes == 0 else { throw .trailingOctets(buffer.readableBytes) }
    }

    public func write(to out: inout ByteBuffer) {
        XcastFraming(type: .query).write(to: &out)
        writeChannel(channel, to: &out)
        out.writeInteger(UInt8(token.bytes.count))
        out.writeBytes(token.bytes)
    }
}

/// The member list of a session (framing type 6): each member and the seconds it has left
/// (65535 for members that never expire, such as `--receiver` entries).
public struct MembersList: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        public var member: Endpoint
        public var secondsLeft: UInt16
        public init(member: Endpoint, secondsLeft: UInt16) {
            self.member = member
            self.secondsLeft = secondsLeft
        }
    }
    public var channel: ChannelID
    public var entries: [Entry]

    /// Most entries one list carries (keeps it under 1280 octets).
    public static let maxEntries = 60

    public init(channel: ChannelID, entries: [Entry]) {
        self.channel = channel
        self.entries = entries
    }

    public init(parsing buffer: inout ByteBuffer) throws(XcastParseError) {
        channel = try readChannel(&buffer)
        guard let n = buffer.readInteger(as: UInt16.self) else { throw .truncated(needed: 2, available: buffer.readableBytes) }
        guard Int(n) <= Self.maxEntries else { throw .badFieldValue(field: "count", value: Int(n)) }
        guard buffer.readableBytes >= Int(n) * 20 else { throw .truncated(needed: Int(n) * 20, available: buffer.readableBytes) }
        entries = []
        for _ in 0..<n {
            let a = IPv6Address(high: buffer.readInteger(as: UInt64.self)!, low: buffer.readInteger(as: UInt64.self)!)
            entries.append(Entry(member: Endpoint(address: a, port: buffer.readInteger(as: UInt16.self)!), secondsLeft: buffer.readInteger(as: UInt16.self)!))
        }
        guard buffer.readableBytes == 0 else { throw .trailingOctets(buffer.readableBytes) }
    }

    public func write(to out: inout ByteBuffer) {
        XcastFraming(type: .members).write(to: &out)
        writeChannel(channel, to: &out)
        let shown = entries.prefix(Self.maxEntries)
        out.writeInteger(UInt16(shown.count))
        for e in shown {
            out.writeInteger(e.member.address.high)
            out.writeInteger(e.member.address.low)
            out.writeInteger(e.member.port)
            out.writeInteger(e.secondsLeft)
        }
    }
}

/// Any control message, after its framing.
public enum ControlMessage: Hashable, Sendable {
    case request(MembershipRequest)
    case reply(MembershipReply)
    case query(MembersQuery)
    case members(MembersList)

    /// Parses a whole control datagram (framing included); data datagrams are refused.
    public init(parsing buffer: inout ByteBuffer) throws(XcastParseError) {
        let framing = try XcastFraming(parsing: &buffer)
        switch framing.type {
        case .data: throw .unknownMessageType(0)
        case .join: self = .request(try MembershipRequest(parsing: &buffer, leave: false))
        case .leave: self = .request(try MembershipRequest(parsing: &buffer, leave: true))
        case .accepted: self = .reply(try MembershipReply(parsing: &buffer, refused: false))
        case .refused: self = .reply(try MembershipReply(parsing: &buffer, refused: true))
        case .query: self = .query(try MembersQuery(parsing: &buffer))
        case .members: self = .members(try MembersList(parsing: &buffer))
        }
    }

    public func write(to out: inout ByteBuffer) {
        switch self {
        case .request(let m): m.write(to: &out)
        case .reply(let m): m.write(to: &out)
        case .query(let m): m.write(to: &out)
        case .members(let m): m.write(to: &out)
        }
    }
}

func readChannel(_ buffer: inout ByteBuffer) throws(XcastParseError) -> ChannelID {
    guard let n = buffer.readInteger(as: UInt8.self) else { throw .truncated(needed: 1, available: 0) }
    guard buffer.readableBytes >= Int(n) else { throw .truncated(needed: Int(n), available: buffer.readableBytes) }
    let bytes = buffer.readBytes(length: Int(n))!
    guard ChannelID.isValidName(bytes), let c = ChannelID(name: String(decoding: bytes, as: UTF8.self)) else { throw .badSessionName(length: Int(n)) }
    return c
}

func readToken(_ buffer: inout ByteBuffer) throws(XcastParseError) -> SessionToken {
    guard let n = buffer.readInteger(as: UInt8.self) else { throw .truncated(needed: 1, available: 0) }
    guard buffer.readableBytes >= Int(n) else { throw .truncated(needed: Int(n), available: buffer.readableBytes) }
    guard let t = SessionToken(bytes: buffer.readBytes(length: Int(n))!) else { throw .badToken(length: Int(n)) }
    return t
}

func writeChannel(_ c: ChannelID, to out: inout ByteBuffer) {
    let name = Array(c.name.utf8)
    out.writeInteger(UInt8(name.count))
    out.writeBytes(name)
}
