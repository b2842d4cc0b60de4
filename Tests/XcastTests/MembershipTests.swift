import Testing
import Timekeeping
@testable import Xcast

@Suite struct MembershipTests {
    let token = SessionToken("tdf-2026")!
    let viewer = Endpoint("[2001:db8::20]:6000")!

    func membership() -> Membership {
        var m = Membership(maxLifetime: 60)
        m.addSession(Fixture.channel, token: token)
        return m
    }

    func join(_ m: inout Membership, token: String = "tdf-2026", lifetime: UInt16 = 30, now: Instant, leave: Bool = false,
              channel: ChannelID = Fixture.channel) -> MembershipReply.Verdict {
        m.handle(MembershipRequest(leave: leave, channel: channel, token: SessionToken(token)!, member: viewer, lifetime: lifetime),
                 from: IPv6Address("2001:db8::99")!, now: now).verdict
    }

    @Test func joinNeedsTheToken() {
        var m = membership()
        #expect(join(&m, token: "wrong", now: .seconds(0)) == .refused(.badToken))
        #expect(join(&m, now: .seconds(0), channel: ChannelID(name: "other")!) == .refused(.unknownSession))
        #expect(m.members(of: Fixture.channel, now: .seconds(0)).isEmpty)
        #expect(join(&m, now: .seconds(0)) == .accepted(lifetime: 30))
        #expect(m.members(of: Fixture.channel, now: .seconds(1)) == [viewer])
    }

    @Test func membersExpireUnlessRefreshed() {
        var m = membership()
        _ = join(&m, lifetime: 10, now: .seconds(0))
        #expect(m.members(of: Fixture.channel, now: .seconds(9.9)) == [viewer])
        _ = join(&m, lifetime: 10, now: .seconds(9))          // refresh
        #expect(m.members(of: Fixture.channel, now: .seconds(18.9)) == [viewer])
        #expect(m.expire(now: .seconds(19)).count == 1)
        #expect(m.members(of: Fixture.channel, now: .seconds(19)).isEmpty)
    }

    @Test func leaveRemovesAtOnceAndLifetimeIsClamped() {
        var m = membership()
        #expect(join(&m, lifetime: 5000, now: .seconds(0)) == .accepted(lifetime: 60))
        #expect(join(&m, now: .seconds(1), leave: true) == .accepted(lifetime: 0))
        #expect(m.members(of: Fixture.channel, now: .seconds(1)).isEmpty)
    }

    @Test func zeroAddressMeansTheSource() {
        var m = membership()
        let r = m.handle(MembershipRequest(channel: Fixture.channel, token: token, member: Endpoint(address: .unspecified, port: 7000), lifetime: 5),
                         from: IPv6Address("2001:db8::42")!, now: .seconds(0))
        #expect(r.member == Endpoint("[2001:db8::42]:7000")!)
        #expect(m.members(of: Fixture.channel, now: .seconds(0)) == [r.member])
    }

    @Test func forbiddenAddressesAndFullSessionsAreRefused() {
        var m = membership()
        m.maxMembers = 1
        let r = m.handle(MembershipRequest(channel: Fixture.channel, token: token, member: Endpoint("[ff02::1]:7000")!, lifetime: 5),
                         from: .loopback, now: .seconds(0))
        #expect(r.verdict == .refused(.forbiddenAddress))
        _ = join(&m, now: .seconds(0))
        let r2 = m.handle(MembershipRequest(channel: Fixture.channel, token: token, member: Endpoint("[2001:db8::77]:7000")!, lifetime: 5),
                          from: .loopback, now: .seconds(0))
        #expect(r2.verdict == .refused(.full))
    }

    @Test func staticMembersNeverExpireAndAreListed() {
        var m = membership()
        m.addStatic(Endpoint("[2001:db8::1]:5004")!, to: Fixture.channel)
        _ = join(&m, lifetime: 10, now: .seconds(0))
        m.expire(now: .seconds(1000))
        #expect(m.members(of: Fixture.channel, now: .seconds(1000)) == [Endpoint("[2001:db8::1]:5004")!])
        _ = join(&m, lifetime: 10, now: .seconds(1000))
        let list = m.list(MembersQuery(channel: Fixture.channel, token: token), now: .seconds(1002))!
        #expect(list.entries == [.init(member: Endpoint("[2001:db8::1]:5004")!, secondsLeft: .max), .init(member: viewer, secondsLeft: 8)])
        #expect(m.list(MembersQuery(channel: Fixture.channel, token: SessionToken("nope")!), now: .seconds(0)) == nil)
    }

    @Test func tokensCompareWholly() {
        #expect(SessionToken("abc")!.matches(SessionToken("abc")!))
        #expect(!SessionToken("abc")!.matches(SessionToken("abcd")!))
        #expect(!SessionToken("abd")!.matches(SessionToken("abc")!))
        #expect(SessionToken("") == nil)
        #expect(SessionToken(String(repeating: "x", count: 65)) == nil)
        #expect(ChannelID(name: "car 42") == nil)
        #expect(ChannelID(name: "car42")?.name == "car42")
    }
}
