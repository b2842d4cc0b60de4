import Testing
import Foundation
@testable import SIP
import Timekeeping

/// Issue 13 item 9 (our own messages of each kind; the held-out set stays held out) and
/// issue 14: what a hostile peer sends must get a clear error, never a crash, a 200 or
/// our credentials.
@Suite struct HostileSIPTests {
    static let headers = "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-hostile-1\r\nMax-Forwards: 70\r\n"
        + "From: <sip:mallory@192.0.2.9>;tag=m1\r\nTo: <sip:bob@192.0.2.1>\r\nCall-ID: hostile-1@192.0.2.9\r\nCSeq: 1 OPTIONS\r\n"

    static func uas() -> UserAgent {
        UserAgent(configuration: UserAgentConfiguration(user: "bob", domain: "192.0.2.1", contactHost: .ipv4("192.0.2.1"), contactPort: 5060))
    }

    /// What a UAS sends back for `text` arriving as a datagram: the status of the one response, or nil.
    static func statusOfAnswer(_ text: String) -> Int? {
        var ua = uas()
        let out = ua.receive(bytes: Array(text.utf8), from: SIPEndpoint(.udp, "192.0.2.9", 5060), now: .seconds(0))
        let statuses = out.compactMap { o -> Int? in
            if case .send(.response(let r), _) = o { return r.status }
            return nil
        }
        return statuses.last
    }

    /// Our own torture messages (Fixtures/own-torture/NAME.STATUS.sip), shared with the
    /// PhoneTests suite that sends them to the running softphone.
    static let ownTorture: [(name: String, status: Int)] = ownTortureFixtures()

    @Test func fixturesCoverEveryKind() {
        let kinds = Set(Self.ownTorture.map { String($0.name.split(separator: "-").first ?? "") })
        #expect(kinds == ["noversion", "twolengths", "threecolons", "unterminated"])
    }

    @Test(arguments: ownTorture) func ownTortureMessage(name: String, status: Int) throws {
        let bytes = try ownTortureBytes(name)
        if status == 200 {
            let r = try SIPRequest(parsing: bytes)
            #expect(r.uri.host == .ipv6("2001:db8:::192.0.2.1"))
        } else {
            #expect(throws: SIPParseError.self) { try SIPMessage(parsing: bytes) }
        }
        #expect(Self.statusOfAnswer(String(decoding: bytes, as: UTF8.self)) == status, "\(name)")
        if name.hasPrefix("twolengths") {
            // on a stream the framing is lost: the connection must be closed
            var framer = SIPStreamFramer()
            framer.append(bytes)
            #expect(throws: SIPParseError.self) { _ = try framer.nextMessage() }
        }
    }

    @Test func onlyRFC5118sThreeColonFormIsTolerated() {
        for bad in ["sip:[2001:db8:::1]", "sip:[2001:::db8::192.0.2.1]", "sip:[2001::db8:::192.0.2.1]", "sip:[::::192.0.2.1]"] {
            #expect(throws: SIPParseError.self) { try SIPURI(parsing: bad) }
        }
    }

    // MARK: digest credentials (issue 14)

    static func challenged(_ configure: (inout UserAgentConfiguration) -> Void, callee: SIPEndpoint, realm: String) -> SIPRequest? {
        var c = UserAgentConfiguration(user: "alice", domain: "192.0.2.1", contactHost: .ipv4("192.0.2.1"), contactPort: 5070, password: "secret")
        configure(&c)
        var ua = UserAgent(configuration: c)
        let target = SIPURI(user: "mallory", host: SIPHost(address: callee.address), port: callee.port)
        let (_, out) = ua.call(target, sdp: [], now: .seconds(0))
        guard case .send(.request(let invite), let dest)? = out.first else { return nil }
        var challenge = SIPResponse(answering: invite, status: 401, toTag: "t")
        challenge.headers.add("WWW-Authenticate", DigestChallenge(realm: realm, nonce: "abc").headerValue)
        let after = ua.receive(bytes: challenge.bytes, from: dest, now: .seconds(0.1))
        for o in after { if case .send(.request(let r), _) = o, r.method == .invite { return r } }
        return nil
    }

    @Test func calleeChallengeGetsNoCredentials() {
        // no registrar, no proxy, no realm: a callee that challenges learns nothing
        #expect(Self.challenged({ _ in }, callee: SIPEndpoint(.udp, "198.51.100.66", 5060), realm: "192.0.2.1") == nil)
        // a registrar is configured, but the challenge comes from somebody else
        #expect(Self.challenged({ $0.registrar = try! SIPURI(parsing: "sip:192.0.2.50") },
                                callee: SIPEndpoint(.udp, "198.51.100.66", 5060), realm: "192.0.2.50") == nil)
        // a realm is configured: another realm gets nothing even from the registrar
        #expect(Self.challenged({ $0.registrar = try! SIPURI(parsing: "sip:192.0.2.50"); $0.authRealm = "example.org" },
                                callee: SIPEndpoint(.udp, "192.0.2.50", 5060), realm: "evil.example") == nil)
    }

    @Test func registrarProxyAndRealmChallengesAreAnswered() {
        let viaRegistrar = Self.challenged({ $0.registrar = try! SIPURI(parsing: "sip:192.0.2.50") },
                                           callee: SIPEndpoint(.udp, "192.0.2.50", 5060), realm: "anything")
        #expect(viaRegistrar?.headers["Authorization"] != nil)
        let viaProxy = Self.challenged({ $0.outboundProxy = SIPEndpoint(.udp, "192.0.2.60", 5060) },
                                       callee: SIPEndpoint(.udp, "198.51.100.66", 5060), realm: "anything")
        #expect(viaProxy?.headers["Authorization"] != nil)
        let byRealm = Self.challenged({ $0.authRealm = "example.org" }, callee: SIPEndpoint(.udp, "198.51.100.66", 5060), realm: "example.org")
        #expect(byRealm?.headers["Authorization"] != nil)
    }

    // MARK: limits

    @Test func invitesBeyondTheCallLimitGet486() {
        var c = UserAgentConfiguration(user: "bob", domain: "192.0.2.1", contactHost: .ipv4("192.0.2.1"), contactPort: 5060)
        c.maximumCalls = 2
        var ua = UserAgent(configuration: c)
        var finals: [Int] = []
        for i in 0..<4 {
            let text = "INVITE sip:bob@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-\(i)\r\nMax-Forwards: 70\r\n"
                + "From: <sip:m@192.0.2.9>;tag=\(i)\r\nTo: <sip:bob@192.0.2.1>\r\nCall-ID: flood-\(i)\r\nCSeq: 1 INVITE\r\n"
                + "Contact: <sip:m@192.0.2.9>\r\nContent-Length: 0\r\n\r\n"
            for o in ua.receive(bytes: Array(text.utf8), from: SIPEndpoint(.udp, "192.0.2.9", 5060), now: .seconds(0)) {
                if case .send(.response(let r), _) = o, r.status >= 180 { finals.append(r.status) }
            }
        }
        #expect(finals == [180, 180, 486, 486])
        #expect(ua.activeCalls.count == 2)
    }

    @Test func requestFloodBeyondTheTransactionLimitGets503() {
        var layer = TransactionLayer(timers: SIPTimerValues())
        layer.maximumServerTransactions = 10
        var kept = 0, refused = 0
        for i in 0..<25 {
            let text = "OPTIONS sip:bob@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-flood-\(i)\r\n"
                + "From: <sip:m@192.0.2.9>;tag=\(i)\r\nTo: <sip:bob@192.0.2.1>\r\nCall-ID: flood-\(i)\r\nCSeq: 1 OPTIONS\r\n\r\n"
            for e in layer.receive(try! SIPMessage(parsing: Array(text.utf8)), from: SIPEndpoint(.udp, "192.0.2.9", 5060), now: .seconds(0)) {
                if case .request = e { kept += 1 }
                if case .send(.response(let r), _) = e, r.status == 503 { refused += 1 }
            }
        }
        #expect(kept == 10)
        #expect(refused == 15)
    }

    @Test func hugeExpiresFromTheRegistrarIsClamped() {
        var c = UserAgentConfiguration(user: "alice", domain: "192.0.2.50", contactHost: .ipv4("192.0.2.1"), contactPort: 5070)
        c.registrar = try! SIPURI(parsing: "sip:192.0.2.50")
        var ua = UserAgent(configuration: c)
        let out = ua.register(now: .seconds(0))
        guard case .send(.request(let reg), let dest)? = out.first else { Issue.record("no REGISTER"); return }
        var ok = SIPResponse(answering: reg, status: 200, toTag: "r")
        ok.headers.add("Contact", "<sip:alice@192.0.2.1:5070>;expires=9223372036854775807")
        let events = ua.receive(bytes: ok.bytes, from: dest, now: .seconds(0))
        #expect(events.contains { if case .event(.registered(let e)) = $0 { return e == UserAgent.maximumExpires }; return false })
        #expect((ua.nextDeadline ?? .epoch) < .seconds(1e10))
    }
}

/// The folder of our own torture messages.
func ownTortureFolder(file: String = #filePath) -> String {
    (file as NSString).deletingLastPathComponent + "/Fixtures/own-torture"
}

func ownTortureFixtures() -> [(name: String, status: Int)] {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: ownTortureFolder())) ?? []
    return files.filter { $0.hasSuffix(".sip") }.sorted().compactMap { f in
        let parts = f.dropLast(4).split(separator: ".")
        guard parts.count == 2, let status = Int(parts[1]) else { return nil }
        return (String(parts[0]), status)
    }
}

func ownTortureBytes(_ name: String) throws -> [UInt8] {
    let folder = ownTortureFolder()
    let file = try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasPrefix(name + ".") }
    return [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + (file ?? name))))
}
