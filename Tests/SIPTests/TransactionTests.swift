import Testing
@testable import SIP
import Timekeeping

func makeRequest(_ method: SIPMethod, branch: String = "z9hG4bKtest1", cseq: UInt32 = 1) -> SIPRequest {
    var h = SIPHeaders()
    h.add("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=\(branch)")
    h.add("From", "<sip:alice@127.0.0.1>;tag=a1")
    h.add("To", "<sip:bob@127.0.0.1>")
    h.add("Call-ID", "call-1")
    h.add("CSeq", "\(cseq) \(method)")
    h.add("Max-Forwards", "70")
    return SIPRequest(method: method, uri: try! SIPURI(parsing: "sip:bob@127.0.0.1:5080"), headers: h)
}

func sends(_ events: [TransactionEvent]) -> [SIPMessage] {
    events.compactMap { if case .send(let m, _) = $0 { return m }; return nil }
}

/// Runs the layer's timers up to `end` (seconds after the epoch), recording when (in seconds) each event happened.
func drive(_ layer: inout TransactionLayer, until end: Double) -> [(Double, TransactionEvent)] {
    var log: [(Double, TransactionEvent)] = []
    while let d = layer.nextDeadline, d <= .seconds(end) {
        for e in layer.advance(to: d) { log.append((d.secondsSinceEpoch, e)) }
    }
    return log
}

@Suite struct ClientTransactionTests {
    let udp = SIPEndpoint(.udp, "127.0.0.1", 5080)
    let tcp = SIPEndpoint(.tcp, "127.0.0.1", 5080)

    @Test func inviteTimerAAndB() {
        var layer = TransactionLayer()
        let first = layer.start(makeRequest(.invite), to: udp, now: .seconds(0))
        #expect(sends(first).count == 1)
        let log = drive(&layer, until: 40)
        let resendTimes = log.filter { if case .send = $0.1 { return true }; return false }.map(\.0)
        #expect(resendTimes == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5])
        let timeouts = log.filter { if case .timeout = $0.1 { return true }; return false }.map(\.0)
        #expect(timeouts == [32])
        #expect(layer.clientCount == 0)
    }

    @Test func nonInviteTimerECapsAtT2AndFTimesOut() {
        var layer = TransactionLayer()
        _ = layer.start(makeRequest(.options), to: udp, now: .seconds(0))
        let log = drive(&layer, until: 40)
        let resendTimes = log.filter { if case .send = $0.1 { return true }; return false }.map(\.0)
        #expect(resendTimes == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5])
        #expect(log.contains { if case .timeout = $0.1 { return $0.0 == 32 }; return false })
    }

    @Test func reliableTransportDoesNotRetransmit() {
        var layer = TransactionLayer()
        _ = layer.start(makeRequest(.invite), to: tcp, now: .seconds(0))
        let log = drive(&layer, until: 40)
        #expect(!log.contains { if case .send = $0.1 { return true }; return false })
        #expect(log.contains { if case .timeout = $0.1 { return $0.0 == 32 }; return false })
    }

    @Test func provisionalStopsTimerAAndFailureIsAcked() throws {
        var layer = TransactionLayer()
        let invite = makeRequest(.invite)
        _ = layer.start(invite, to: udp, now: .seconds(0))
        var ringing = SIPResponse(answering: invite, status: 180, toTag: "b1")
        ringing.headers.add("Contact", "<sip:bob@127.0.0.1:5080>")
        let e1 = layer.receive(.response(ringing), from: udp, now: .seconds(0.2))
        #expect(e1.contains { if case .response(let r, _) = $0 { return r.status == 180 }; return false })
        #expect(drive(&layer, until: 10).isEmpty)
        let busy = SIPResponse(answering: invite, status: 486, toTag: "b1")
        let e2 = layer.receive(.response(busy), from: udp, now: .seconds(10))
        let acks = sends(e2)
        #expect(acks.count == 1)
        guard case .request(let ack) = acks.first else { Issue.record("no ACK"); return }
        #expect(ack.method == .ack)
        #expect(ack.headers.topVia?.branch == "z9hG4bKtest1")
        #expect(ack.headers.to?.tag == "b1")
        #expect(ack.uri == invite.uri)
        // the 486 again: the ACK again, not a second delivery
        let e3 = layer.receive(.response(busy), from: udp, now: .seconds(11))
        #expect(sends(e3).count == 1)
        #expect(!e3.contains { if case .response = $0 { return true }; return false })
        // Timer D ends it 32 s after the final response
        let log = drive(&layer, until: 60)
        #expect(log.contains { if case .terminated = $0.1 { return $0.0 == 42 }; return false })
    }

    @Test func nonInviteFinalResponseAndTimerK() {
        var layer = TransactionLayer()
        let req = makeRequest(.message)
        _ = layer.start(req, to: udp, now: .seconds(0))
        let e = layer.receive(.response(SIPResponse(answering: req, status: 200)), from: udp, now: .seconds(0.1))
        #expect(e.contains { if case .response(let r, _) = $0 { return r.status == 200 }; return false })
        let log = drive(&layer, until: 10)
        #expect(log.count == 1)
        #expect(log.first?.0 == 5.1)   // Timer K = T4
    }

    @Test func forkedTwoHundredsBothReachTheUser() {
        var layer = TransactionLayer()
        let invite = makeRequest(.invite)
        _ = layer.start(invite, to: udp, now: .seconds(0))
        let okA = SIPResponse(answering: invite, status: 200, toTag: "forkA")
        let okB = SIPResponse(answering: invite, status: 200, toTag: "forkB")
        let a = layer.receive(.response(okA), from: udp, now: .seconds(0.1))
        let b = layer.receive(.response(okB), from: udp, now: .seconds(0.2))
        #expect(a.contains { if case .response(let r, _) = $0 { return r.headers.to?.tag == "forkA" }; return false })
        #expect(b.contains { if case .response(let r, _) = $0 { return r.headers.to?.tag == "forkB" }; return false })
        // no ACK from the transaction for 2xx: that is the UA core's job
        #expect(sends(a + b).isEmpty)
    }
}

@Suite struct ServerTransactionTests {
    let peer = SIPEndpoint(.udp, "127.0.0.1", 5070)

    @Test func inviteFailureRetransmitsUntilAck() throws {
        var layer = TransactionLayer()
        let invite = makeRequest(.invite)
        let e = layer.receive(.request(invite), from: peer, now: .seconds(0))
        guard case .request(_, _, let key) = e.first else { Issue.record("not delivered"); return }
        _ = layer.respond(SIPResponse(answering: invite, status: 486, toTag: "t"), to: key, now: .seconds(0))
        let log = drive(&layer, until: 5)
        #expect(log.map(\.0) == [0.5, 1.5, 3.5])      // Timer G doubling
        var ack = makeRequest(.ack)
        ack.headers.set("To", "<sip:bob@127.0.0.1>;tag=t")
        _ = layer.receive(.request(ack), from: peer, now: .seconds(5))
        let after = drive(&layer, until: 20)
        // confirmed: no more retransmissions, Timer I (T4) ends it
        #expect(after.count == 1)
        #expect(after.first?.0 == 10)
        #expect(layer.serverCount == 0)
    }

    @Test func timerHWithoutAck() {
        var layer = TransactionLayer()
        let invite = makeRequest(.invite)
        let e = layer.receive(.request(invite), from: peer, now: .seconds(0))
        guard case .request(_, _, let key) = e.first else { return }
        _ = layer.respond(SIPResponse(answering: invite, status: 603), to: key, now: .seconds(0))
        let log = drive(&layer, until: 40)
        #expect(log.contains { if case .timeout = $0.1 { return $0.0 == 32 }; return false })
        let retransmits = log.filter { if case .send = $0.1 { return true }; return false }
        #expect(retransmits.count == 10)   // 0.5 1.5 3.5 7.5 11.5 … 31.5
    }

    @Test func retransmittedRequestGetsLastResponse() {
        var layer = TransactionLayer()
        let req = makeRequest(.options)
        let e = layer.receive(.request(req), from: peer, now: .seconds(0))
        guard case .request(_, _, let key) = e.first else { return }
        _ = layer.respond(SIPResponse(answering: req, status: 200), to: key, now: .seconds(0))
        let again = layer.receive(.request(req), from: peer, now: .seconds(1))
        #expect(sends(again).count == 1)
        #expect(!again.contains { if case .request = $0 { return true }; return false })
        let log = drive(&layer, until: 40)
        #expect(log.contains { if case .terminated = $0.1 { return $0.0 == 32 }; return false })   // Timer J
    }

    @Test func rportAndReceivedAreStamped() {
        var layer = TransactionLayer()
        var req = makeRequest(.options)
        req.headers.set("Via", "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKx;rport")
        let e = layer.receive(.request(req), from: SIPEndpoint(.udp, "::1", 40000), now: .seconds(0))
        guard case .request(let got, _, _) = e.first else { return }
        #expect(got.headers.topVia?.rport == 40000)
        #expect(got.headers.topVia?.received == "::1")
    }
}
