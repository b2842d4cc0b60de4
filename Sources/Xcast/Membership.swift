import Timekeeping

/// Who is joined to which session, as soft state (docs/xcast.md §4): a join with the session's token
/// adds or refreshes a member for a lifetime (clamped to 1…`maxLifetime` seconds); a member that
/// stops refreshing is gone after that lifetime; a leave removes it at once. Static members
/// (`--receiver`) never expire. Sans-I/O: every call takes `now`, an `Instant` from one clock
/// (xcast6 reads the monotonic one): only compared with the others it was given.
public struct Membership: Sendable {
    public struct Session: Sendable {
        public var token: SessionToken
        /// Members and the time their lifetime ends (nil: never).
        public var members: [Endpoint: Instant?] = [:]
    }

    public private(set) var sessions: [ChannelID: Session] = [:]
    public var maxLifetime: UInt16
    /// Most members one session takes (joins beyond are refused `full`).
    public var maxMembers: Int
    public var policy: DestinationPolicy

    public init(maxLifetime: UInt16 = 300, maxMembers: Int = 1000, policy: DestinationPolicy = .standard) {
        self.maxLifetime = maxLifetime
        self.maxMembers = maxMembers
        self.policy = policy
    }

    public mutating func addSession(_ channel: ChannelID, token: SessionToken) {
        if sessions[channel] == nil { sessions[channel] = Session(token: token) } else { sessions[channel]!.token = token }
    }

    /// A member that never expires.
    public mutating func addStatic(_ member: Endpoint, to channel: ChannelID) {
        sessions[channel]?.members[member] = .some(nil)
    }

    /// Handles a join or leave that arrived from `source` (its address fills an all-zero member address).
    public mutating func handle(_ request: MembershipRequest, from source: IPv6Address, now: Instant) -> MembershipReply {
        var member = request.member
        if member.address == .unspecified { member.address = source }
        func reply(_ v: MembershipReply.Verdict) -> MembershipReply { MembershipReply(channel: request.channel, member: member, verdict: v) }
        guard let session = sessions[request.channel] else { return reply(.refused(.unknownSession)) }
        guard session.token.matches(request.token) else { return reply(.refused(.badToken)) }
        guard policy.accepts(member.address.kind) else { return reply(.refused(.forbiddenAddress)) }
        if request.leave {
            if case .some(.some) = session.members[member] { sessions[request.channel]!.members[member] = nil }
            return reply(.accepted(lifetime: 0))
        }
        if case .some(.none) = session.members[member] { return reply(.accepted(lifetime: UInt16.max)) }   // static
        guard session.members[member] != nil || session.members.count < maxMembers else { return reply(.refused(.full)) }
        let lifetime = Swift.min(Swift.max(request.lifetime, 1), maxLifetime)
        sessions[request.channel]!.members[member] = .some(now + .seconds(Int(lifetime)))
        return reply(.accepted(lifetime: lifetime))
    }

    /// Drops members whose lifetime has ended; returns them.
    @discardableResult
    public mutating func expire(now: Instant) -> [(ChannelID, Endpoint)] {
        var gone: [(ChannelID, Endpoint)] = []
        for (c, s) in sessions {
            for (m, until) in s.members {
                if let until, until <= now { gone.append((c, m)); sessions[c]!.members[m] = nil }
            }
        }
        return gone
    }

    /// The live members of a session, sorted (stable order = stable bit positions between packets).
    public func members(of channel: ChannelID, now: Instant) -> [Endpoint] {
        guard let s = sessions[channel] else { return [] }
        return s.members.filter { $0.value.map { $0 > now } ?? true }.keys.sorted()
    }

    /// The answer to a members query.
    public func list(_ query: MembersQuery, now: Instant) -> MembersList? {
        guard let s = sessions[query.channel], s.token.matches(query.token) else { return nil }
        let entries = s.members.filter { $0.value.map { $0 > now } ?? true }.sorted { $0.key < $1.key }.map { m, until in
            MembersList.Entry(member: m, secondsLeft: until.map { UInt16(Swift.min(Swift.max(($0 - now).secondsValue.rounded(.up), 0), 65534)) } ?? UInt16.max)
        }
        return MembersList(channel: query.channel, entries: entries)
    }
}
