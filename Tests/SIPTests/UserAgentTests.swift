import Testing
@testable import SIP

let offer: [UInt8] = Array("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n".utf8)
let answerSDP: [UInt8] = Array("v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4002 RTP/AVP 0\r\n".utf8)

extension VirtualNetwork {
    func has(_ name: String, _ match: (UserAgentEvent) -> Bool) -> Bool { (events[name] ?? []).contains(where: match) }
    func sent(_ name: String, _ method: SIPMethod) -> [SIPRequest] {
        wire.filter { $0.from == name }.compactMap { if case .request(let r) = $0.message, r.method == method { return r }; return nil }
    }
    func responses(_ name: String, _ status: Int) -> [SIPResponse] {
        wire.filter { $0.from == name }.compactMap { if case .response(let r) = $0.message, r.status == status { return r }; return nil }
    }
}

func incomingHandle(_ net: VirtualNetwork, _ name: String) -> CallHandle? {
    for e in net.events[name] ?? [] { if case .incomingCall(let h, _, _) = e { return h } }
    return nil
}

/// Drops the first request of `method` on the virtual network, once.
func dropFirst(_ method: SIPMethod, on net: inout VirtualNetwork) {
    var dropped = false
    net.drop = { m, _ in
        if case .request(let r) = m, r.method == method, !dropped { dropped = true; return true }
        return false
    }
}

/// Alice calls bob, bob answers as soon as the INVITE is in; the virtual clock then runs to `until`.
func answeredCall(_ net: inout VirtualNetwork, until: Double) throws -> (caller: CallHandle, callee: CallHandle) {
    var handle = ""
    net.with("alice") { a, now in let (h, o) = a.call(try! SIPURI(parsing: "sip:bob@127.0.0.1:5080"), sdp: offer, now: now); handle = h; return o }
    net.run(until: 1)
    let incoming = try #require(incomingHandle(net, "bob"))
    net.with("bob") { b, now in b.answer(incoming, sdp: answerSDP, now: now) }
    net.run(until: until)
    return (handle, incoming)
}

@Suite struct UserAgentCallTests {
    func pair(transport: SIPTransportKind = .udp) -> VirtualNetwork {
        var net = VirtualNetwork()
        net.add("alice", port: 5070, transport: transport)
        net.add("bob", port: 5080, transport: transport)
        return net
    }

    @Test(arguments: [SIPTransportKind.udp, .tcp]) func callAnswerHangUp(transport: SIPTransportKind) throws {
        var net = pair(transport: transport)
        var handle = ""
        net.with("alice") { a, now in let (h, o) = a.call(try! SIPURI(parsing: "sip:bob@127.0.0.1:5080"), sdp: offer, now: now); handle = h; return o }
        net.run(until: 1)
        #expect(net.has("alice") { $0 == .ringing(handle, status: 180) })
        let incoming = try #require(incomingHandle(net, "bob"))
        #expect(net.has("bob") { if case .incomingCall(_, _, let o) = $0 { return o == offer }; return false })
        net.with("bob") { b, now in b.answer(incoming, sdp: answerSDP, now: now) }
        net.run(until: 2)
        #expect(net.has("alice") { $0 == .answered(handle, sdp: answerSDP) })
        #expect(net.has("bob") { $0 == .established(incoming) })
        #expect(net.sent("alice", .ack).count == 1)
        net.with("alice") { a, now in a.hangUp(handle, now: now) }
        net.run(until: 100)
        #expect(net.has("alice") { $0 == .ended(handle, .localHangup) })
        #expect(net.has("bob") { $0 == .ended(incoming, .remoteHangup) })
        #expect(net.responses("bob", 200).contains { $0.headers.cseq?.method == .bye })
        // nothing keeps retransmitting after the call: every transaction is gone
        #expect(net.agents["alice"]!.transactions.clientCount == 0)
        #expect(net.agents["bob"]!.transactions.serverCount == 0)
    }

    @Test func aLostByeIsPendingUntilItsRetransmissionIsAnswered() throws {
        var net = pair()
        dropFirst(.bye, on: &net)
        let (handle, incoming) = try answeredCall(&net, until: 2)
        // The INVITE's transaction lingers (2xx retransmissions are absorbed for 32 s), but it
        // awaits nothing: only requests without their final response count.
        #expect(!net.agents["alice"]!.hasPendingRequests)
        net.with("alice") { a, now in a.hangUp(handle, now: now) }
        net.run(until: 2.1)
        #expect(net.has("alice") { $0 == .ended(handle, .localHangup) })
        #expect(net.agents["alice"]!.hasPendingRequests)           // the BYE was lost: still waiting
        net.run(until: 4)
        #expect(net.sent("alice", .bye).count == 2)
        #expect(net.has("bob") { $0 == .ended(incoming, .remoteHangup) })
        #expect(!net.agents["alice"]!.hasPendingRequests)
    }

    @Test func lostInviteIsRetransmitted() throws {
        var net = pair()
        var dropped = 0
        net.drop = { m, _ in
            if case .request(let r) = m, r.method == .invite, dropped < 2 { dropped += 1; return true }
            return false
        }
        var handle = ""
        net.with("alice") { a, now in let (h, o) = a.call(try! SIPURI(parsing: "sip:bob@127.0.0.1:5080"), sdp: offer, now: now); handle = h; return o }
        net.run(until: 2)
        #expect(net.sent("alice", .invite).count == 3)   // 0, 0.5, 1.5
        #expect(net.has("alice") { $0 == .ringing(handle, status: 180) })
    }

    @Test func lostAckMeansTwoHundredIsRepeated() throws {
        var net = pair()
        dropFirst(.ack, on: &net)
        let (_, incoming) = try answeredCall(&net, until: 5)
        #expect(net.responses("bob", 200).filter { $0.headers.cseq?.method == .invite }.count >= 2)
        #expect(net.sent("alice", .ack).count == 2)
        #expect(net.has("bob") { $0 == .established(incoming) })
        #expect(net.events["alice"]!.filter { if case .answered = $0 { return true }; return false }.count == 1)
    }

    @Test func cancelBeforeAnswer() throws {
        var net = pair()
        var handle = ""
        net.with("alice") { a, now in let (h, o) = a.call(try! SIPURI(parsing: "sip:bob@127.0.0.1:5080"), sdp: offer, now: now); handle = h; return o }
        net.run(until: 1)
        let incoming = try #require(incomingHandle(net, "bob"))
        net.with("alice") { a, now in a.hangUp(handle, now: now) }
        net.run(until: 40)
        #expect(net.sent("alice", .cancel).count == 1)
        #expect(net.responses("bob", 487).count >= 1)
        #expect(net.has("alice") { $0 == .ended(handle, .cancelled) })
        #expect(net.has("bob") { $0 == .ended(incoming, .cancelled) })
        // the 487 was acknowledged by alice's INVITE transaction
        #expect(net.sent("alice", .ack).count == 1)
    }

    @Test func cancelCrossesTheTwoHundred() throws {
        var net = pair()
        var handle = ""
        net.with("alice") { a, now in let (h, o) = a.call(try! SIPURI(parsing: "sip:bob@127.0.0.1:5080"), sdp: offer, now: now); handle = h; return o }
        net.run(until: 1)
        let incoming = try #require(incomingHandle(net, "bob"))
        // both act before either hears the other: 200 and CANCEL cross on the wire
        net.with("bob") { b, now in b.answer(incoming, sdp: answerSDP, now: now) }
        net.with("alice") { a, now in a.hangUp(handle, now: now) }
        net.run(until: 60)
        // the CANCEL found a finished INVITE: 200 to it, no 487; the call is set up and torn down by BYE
        #expect(net.responses("bob", 487).isEmpty)
        #expect(net.sent("alice", .bye).count == 1)
        #expect(net.has("bob") { $0 == .ended(incoming, .remoteHangup) })
        #expect(net.has("alice") { $0 == .ended(handle, .localHangup) })
    }

    @Test func forkedAnswersSecondDialogIsClosed() throws {
        var net = VirtualNetwork()
        net.add("alice", port: 5070)
        // a forking proxy at 5090 that answers the INVITE from two branches
        net.interceptors["127.0.0.1:5090"] = { m, from, net in
            guard case .request(let r) = m else { return }
            switch r.method {
            case .invite:
                for tag in ["forkA", "forkB"] {
                    var ok = SIPResponse(answering: r, status: 200, toTag: tag)
                    ok.headers.add("Contact", "<sip:\(tag)@127.0.0.1:5090>")
                    ok.headers.add("Content-Type", "application/sdp")
                    ok.body = answerSDP
                    net.inject(.response(ok), from: SIPEndpoint(.udp, "127.0.0.1", 5090), to: from)
                }
            case .bye:
                net.inject(.response(SIPResponse(answering: r, status: 200)), from: SIPEndpoint(.udp, "127.0.0.1", 5090), to: from)
            default: break
            }
        }
        var handle = ""
        net.with("alice") { a, now in let (h, o) = a.call(try! SIPURI(parsing: "sip:bob@127.0.0.1:5090"), sdp: offer, now: now); handle = h; return o }
        net.run(until: 5)
        let acks = net.sent("alice", .ack)
        #expect(Set(acks.compactMap { $0.headers.to?.tag }) == ["forkA", "forkB"])
        let byes = net.sent("alice", .bye)
        #expect(byes.count == 1)
        #expect(byes.first?.headers.to?.tag == "forkB")
        #expect(byes.first?.uri.user == "forkB")
        #expect(net.events["alice"]!.filter { if case .answered = $0 { return true }; return false }.count == 1)
        #expect(!net.has("alice") { if case .ended = $0 { return true }; return false })
        _ = handle
    }

    @Test func inviteToNobodyTimesOut() {
        var net = pair()
        var handle = ""
        net.with("alice") { a, now in let (h, o) = a.call(try! SIPURI(parsing: "sip:carol@127.0.0.1:5999"), sdp: offer, now: now); handle = h; return o }
        net.run(until: 31.9)
        #expect(!net.has("alice") { if case .ended = $0 { return true }; return false })
        net.run(until: 33)
        #expect(net.has("alice") { $0 == .ended(handle, .timeout) })
    }

    @Test func busyIsReported() throws {
        var net = pair()
        var handle = ""
        net.with("alice") { a, now in let (h, o) = a.call(try! SIPURI(parsing: "sip:bob@127.0.0.1:5080"), sdp: offer, now: now); handle = h; return o }
        net.run(until: 1)
        let incoming = try #require(incomingHandle(net, "bob"))
        net.with("bob") { b, now in b.reject(incoming, status: 486, now: now) }
        net.run(until: 40)
        #expect(net.has("alice") { $0 == .ended(handle, .rejected(status: 486, reason: "Busy Here")) })
    }

    @Test func reinviteForHoldIsAnswered() throws {
        var net = pair()
        var handle = ""
        net.with("alice") { a, now in let (h, o) = a.call(try! SIPURI(parsing: "sip:bob@127.0.0.1:5080"), sdp: offer, now: now); handle = h; return o }
        net.run(until: 1)
        let incoming = try #require(incomingHandle(net, "bob"))
        net.with("bob") { b, now in b.answer(incoming, sdp: answerSDP, now: now) }
        net.run(until: 2)
        let hold = offer + Array("a=sendonly\r\n".utf8)
        net.with("alice") { a, now in a.reinvite(handle, sdp: hold, now: now) }
        net.run(until: 3)
        #expect(net.has("bob") { $0 == .reoffer(incoming, sdp: hold) })
        let held = answerSDP + Array("a=recvonly\r\n".utf8)
        net.with("bob") { b, now in b.answerReoffer(incoming, sdp: held, now: now) }
        net.run(until: 4)
        #expect(net.has("alice") { $0 == .answered(handle, sdp: held) })
        let invites = net.sent("alice", .invite)
        #expect(invites.count == 2)
        #expect(invites[1].headers.to?.tag != nil)
        #expect(invites[1].headers.cseq!.sequence > invites[0].headers.cseq!.sequence)
        #expect(net.sent("alice", .ack).count == 2)
    }
}

@Suite struct UserAgentRequestTests {
    @Test func messageBothWays() {
        var net = VirtualNetwork()
        net.add("alice", port: 5070)
        net.add("bob", port: 5080)
        var id = ""
        net.with("alice") { a, now in let (i, o) = a.sendMessage(to: try! SIPURI(parsing: "sip:bob@127.0.0.1:5080"), text: "hello bob", now: now); id = i; return o }
        net.run(until: 1)
        #expect(net.has("bob") { if case .messageReceived(let f, let t, let b) = $0 { return f.uri.user == "alice" && t == "text/plain" && b == Array("hello bob".utf8) }; return false })
        #expect(net.has("alice") { if case .requestCompleted(let i, 200, _, _) = $0 { return i == id }; return false })
    }

    @Test func optionsAndUnsupportedMethods() throws {
        var net = VirtualNetwork()
        net.add("alice", port: 5070)
        net.add("bob", port: 5080)
        net.with("alice") { a, now in a.sendOptions(to: try! SIPURI(parsing: "sip:bob@127.0.0.1:5080"), now: now).1 }
        net.run(until: 1)
        let ok = try #require(net.responses("bob", 200).first)
        #expect(ok.headers["Allow"]?.contains("INVITE") == true)
        // SUBSCRIBE is a method we know but do not do: 405 with Allow; an unknown one: 501
        var sub = makeRequest(.subscribe, branch: "z9hG4bKsub")
        sub.headers.set("CSeq", "1 SUBSCRIBE")
        net.inject(.request(sub), from: SIPEndpoint(.udp, "127.0.0.1", 5070), to: net.endpoint("bob"))
        var foo = makeRequest("FOO", branch: "z9hG4bKfoo")
        foo.headers.set("CSeq", "1 FOO")
        net.inject(.request(foo), from: SIPEndpoint(.udp, "127.0.0.1", 5070), to: net.endpoint("bob"))
        net.run(until: 2)
        #expect(net.responses("bob", 405).first?.headers["Allow"] != nil)
        #expect(net.responses("bob", 501).count == 1)
    }

    @Test func garbageGetsA400() {
        var net = VirtualNetwork()
        net.add("bob", port: 5080)
        let bad = Array("INVITE  sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKbad\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\n\r\n".utf8)
        net.with("bob") { b, now in b.receive(bytes: bad, from: SIPEndpoint(.udp, "127.0.0.1", 5070), now: now) }
        #expect(net.responses("bob", 400).count == 1)
    }
}

/// A registrar/proxy that challenges with digest (as kamailio does) and checks the answer.
struct Challenger {
    var realm = "127.0.0.1"
    var nonce = "n0nce"
    var passwords = ["alice": "alice-secret"]
    var algorithm = DigestAlgorithm.md5
    var verified: [String] = []

    mutating func handle(_ r: SIPRequest, header: String, status: Int, expires: Int = 60) -> SIPResponse {
        let answerHeader = status == 401 ? "Authorization" : "Proxy-Authorization"
        if let cred = r.headers[answerHeader].flatMap({ try? DigestCredentials(parsing: $0) }),
           cred.nonce == nonce, let pw = passwords[cred.username], cred.verify(password: pw, method: r.method) {
            verified.append("\(r.method) nc=\(cred.nonceCount ?? 0)")
            var ok = SIPResponse(answering: r, status: 200, toTag: "reg")
            // another device's binding first, as a registrar lists all bindings of the AoR
            ok.headers.add("Contact", "<sip:alice@127.0.0.1:5999>;expires=3000")
            if let c = r.headers["Contact"] { ok.headers.add("Contact", c + ";expires=\(expires)") }
            return ok
        }
        var ch = SIPResponse(answering: r, status: status, toTag: "reg")
        ch.headers.add(header, DigestChallenge(realm: realm, nonce: nonce, algorithm: algorithm).headerValue)
        return ch
    }
}

@Suite struct DigestTests {
    @Test func baresipCaptureVector() throws {
        let header = #"Digest username="alice", realm="127.0.0.1", nonce="awj212sI9av4FgOHKOhh9BL+UyEr+BSX", uri="sip:bob@127.0.0.1:5160", response="3523205824c47b40216722f2037889d1", cnonce="f9c1a7d5439dfcbe", qop=auth, nc=00000001"#
        let cred = try DigestCredentials(parsing: header)
        #expect(cred.verify(password: "alice-secret", method: .invite))
        #expect(!cred.verify(password: "wrong", method: .invite))
        let challenge = DigestChallenge(realm: "127.0.0.1", nonce: "awj212sI9av4FgOHKOhh9BL+UyEr+BSX", qop: ["auth"])
        let mine = DigestCredentials(challenge: challenge, method: .invite, uri: "sip:bob@127.0.0.1:5160", username: "alice",
                                     password: "alice-secret", cnonce: "f9c1a7d5439dfcbe", nonceCount: 1)
        #expect(mine.response == "3523205824c47b40216722f2037889d1")
    }

    @Test func rfc7616SHA256Vector() {
        // RFC 7616 §3.9.1 (HTTP example, same arithmetic): Mufasa / Circle of Life
        let ch = DigestChallenge(realm: "http-auth@example.org", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                                 opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", algorithm: .sha256, qop: ["auth"])
        let c = DigestCredentials(challenge: ch, method: "GET", uri: "/dir/index.html", username: "Mufasa", password: "Circle of Life",
                                  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", nonceCount: 1)
        #expect(c.response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
    }

    @Test func challengeParsing() throws {
        let ch = try DigestChallenge(parsing: #"Digest realm="127.0.0.1", nonce="abc", qop="auth,auth-int", algorithm=SHA-256, stale=TRUE"#)
        #expect(ch.algorithm == .sha256)
        #expect(ch.qop == ["auth", "auth-int"])
        #expect(ch.stale)
        #expect(throws: SIPParseError.self) { try DigestChallenge(parsing: "Basic realm=x") }
        #expect(throws: SIPParseError.self) { try DigestChallenge(parsing: "Digest realm=x, algorithm=SHA-1") }
    }
}

@Suite struct RegistrationTests {
    @Test(arguments: [DigestAlgorithm.md5, .sha256]) func registerWithDigestAndRefresh(algorithm: DigestAlgorithm) {
        var net = VirtualNetwork()
        net.add("alice", port: 5070, password: "alice-secret") { c in
            c.registrar = try! SIPURI(parsing: "sip:127.0.0.1:5160")
            c.registrationExpires = 60
        }
        var registrar = Challenger()
        registrar.algorithm = algorithm
        var registers = 0
        net.interceptors["127.0.0.1:5160"] = { m, from, net in
            guard case .request(let r) = m, r.method == .register else { return }
            registers += 1
            net.inject(.response(registrar.handle(r, header: "WWW-Authenticate", status: 401)), from: SIPEndpoint(.udp, "127.0.0.1", 5160), to: from)
        }
        net.with("alice") { a, now in a.register(now: now) }
        net.run(until: 1)
        #expect(net.has("alice") { $0 == .registered(expires: 60) })
        #expect(registrar.verified == ["REGISTER nc=1"])
        // the refresh goes out at 80 % of the granted time, with the next nonce count
        net.run(until: 47)
        #expect(registers == 2)
        net.run(until: 49)
        #expect(registers == 4)
        #expect(registrar.verified == ["REGISTER nc=1", "REGISTER nc=2"])
        let cseqs = net.sent("alice", .register).compactMap { $0.headers.cseq?.sequence }
        #expect(cseqs == [1, 2, 3, 4])
        #expect(Set(net.sent("alice", .register).compactMap(\.headers.callID)).count == 1)
    }

    @Test func wrongPasswordFails() {
        var net = VirtualNetwork()
        net.add("alice", port: 5070, password: "nope") { c in c.registrar = try! SIPURI(parsing: "sip:127.0.0.1:5160") }
        var registrar = Challenger()
        net.interceptors["127.0.0.1:5160"] = { m, from, net in
            guard case .request(let r) = m else { return }
            net.inject(.response(registrar.handle(r, header: "WWW-Authenticate", status: 401)), from: SIPEndpoint(.udp, "127.0.0.1", 5160), to: from)
        }
        net.with("alice") { a, now in a.register(now: now) }
        net.run(until: 5)
        #expect(net.has("alice") { $0 == .registrationFailed(status: 401, reason: "Unauthorized") })
        #expect(net.sent("alice", .register).count == 2)
    }

    @Test func proxyChallengeOnInviteAndMessage() throws {
        var net = VirtualNetwork()
        // the proxy's realm is the one the account trusts (credentials go nowhere else)
        net.add("alice", port: 5070, password: "alice-secret") { c in c.authRealm = "127.0.0.1" }
        var proxy = Challenger()
        net.interceptors["127.0.0.1:5160"] = { m, from, net in
            guard case .request(let r) = m, r.method != .ack else { return }
            var resp = proxy.handle(r, header: "Proxy-Authenticate", status: 407)
            if resp.status == 200, r.method == .invite {
                resp.headers.add("Contact", "<sip:bob@127.0.0.1:5160>")
                resp.body = answerSDP
            }
            net.inject(.response(resp), from: SIPEndpoint(.udp, "127.0.0.1", 5160), to: from)
        }
        var handle = ""
        net.with("alice") { a, now in let (h, o) = a.call(try! SIPURI(parsing: "sip:bob@127.0.0.1:5160"), sdp: offer, now: now); handle = h; return o }
        net.run(until: 2)
        #expect(net.has("alice") { $0 == .answered(handle, sdp: answerSDP) })
        let invites = net.sent("alice", .invite)
        #expect(invites.count == 2)
        #expect(invites[1].headers["Proxy-Authorization"] != nil)
        #expect(invites[1].headers.cseq?.sequence == 2)
        #expect(invites[0].headers.topVia?.branch != invites[1].headers.topVia?.branch)
        // one ACK for the 407 (same branch as the first INVITE) and one for the 200
        let acks = net.sent("alice", .ack)
        #expect(acks.count == 2)
        #expect(acks[0].headers.topVia?.branch == invites[0].headers.topVia?.branch)
        net.with("alice") { a, now in a.sendMessage(to: try! SIPURI(parsing: "sip:bob@127.0.0.1:5160"), text: "hi", now: now).1 }
        net.run(until: 3)
        #expect(net.has("alice") { if case .requestCompleted(_, 200, _, _) = $0 { return true }; return false })
        #expect(proxy.verified.count == 2)
    }
}
