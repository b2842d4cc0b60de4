import Timekeeping

/// Calls as the application drives them (RFC 3261 §13–§15): placing, answering, refusing,
/// re-offering and ending. What the network does to a call is in `UserAgent+CallEvents`.
extension UserAgent {
    enum CallState: Sendable, Equatable { case calling, early, answeredAwaitingAck, confirmed, terminated }

    /// One call, placed or received, and its dialog once there is one.
    struct Call: Sendable {
        var handle: CallHandle
        var isCaller: Bool
        var state: CallState
        var invite: SIPRequest
        var inviteKey: TransactionKey
        var dialog: SIPDialog?
        var localSDP: [UInt8]
        var ack: SIPRequest?
        var ackDestination: SIPEndpoint?
        var cancelRequested: Bool
        var pendingReofferKey: TransactionKey?
        var source: SIPEndpoint?
    }

    /// Handles of the calls that are not over.
    public var activeCalls: [CallHandle] { calls.keys.sorted() }

    /// Starts a call with `sdp` as the offer; returns its handle.
    public mutating func call(_ uri: SIPURI, sdp: [UInt8], now: Instant) -> (CallHandle, [UserAgentOutput]) {
        let callID = newCallID()
        let dest = destination(for: uri)
        var r = newRequest(.invite, to: uri, callID: callID, sequence: 1, transport: dest.transport)
        r.headers.add("Contact", contact(dest.transport).description)
        r.headers.add("Allow", allowHeader)
        r.headers.add("Content-Type", "application/sdp")
        r.body = sdp
        let key = TransactionKey.forRequest(r, server: false)
        calls[callID] = Call(handle: callID, isCaller: true, state: .calling, invite: r, inviteKey: key, dialog: nil,
                             localSDP: sdp, ack: nil, ackDestination: nil, cancelRequested: false, pendingReofferKey: nil, source: nil)
        return (callID, send(r, to: dest, purpose: .invite(callID), now: now))
    }

    /// Answers an incoming call with our SDP answer.
    public mutating func answer(_ handle: CallHandle, sdp: [UInt8], now: Instant) -> [UserAgentOutput] {
        guard var c = calls[handle], !c.isCaller, c.state == .early, let d = c.dialog else { return [] }
        var r = dialogResponse(answering: c.invite, status: 200, toTag: d.localTag, transport: c.source?.transport ?? .udp)
        r.headers.add("Allow", allowHeader)
        r.headers.add("Content-Type", "application/sdp")
        r.body = sdp
        c.localSDP = sdp
        c.state = .answeredAwaitingAck
        calls[handle] = c
        return respond(c.inviteKey, r, now: now)
    }

    /// A response to an INVITE that sets up the dialog on our side: our Contact, and the
    /// INVITE's Record-Route copied back (RFC 3261 §12.1.1).
    func dialogResponse(answering invite: SIPRequest, status: Int, toTag: String, transport: SIPTransportKind) -> SIPResponse {
        var r = SIPResponse(answering: invite, status: status, toTag: toTag)
        r.headers.add("Contact", contact(transport).description)
        for rr in invite.headers.values("Record-Route") { r.headers.add("Record-Route", rr) }
        return r
    }

    /// Refuses an incoming call (486 Busy Here, 603 Decline, …).
    public mutating func reject(_ handle: CallHandle, status: Int, now: Instant) -> [UserAgentOutput] {
        guard var c = calls[handle], !c.isCaller, c.state == .early else { return [] }
        let r = SIPResponse(answering: c.invite, status: status, toTag: c.dialog?.localTag)
        c.state = .terminated
        calls[handle] = nil
        return respond(c.inviteKey, r, now: now) + [.event(.ended(handle, .rejected(status: status, reason: r.reason)))]
    }

    /// Ends a call: CANCEL before an answer, BYE after.
    public mutating func hangUp(_ handle: CallHandle, now: Instant) -> [UserAgentOutput] {
        guard var c = calls[handle] else { return [] }
        switch c.state {
        case .calling, .early:
            guard c.isCaller else { return reject(handle, status: 486, now: now) }
            guard !c.cancelRequested else { return [] }
            c.cancelRequested = true
            calls[handle] = c
            // A CANCEL before any provisional response must wait for one (RFC 3261 §9.1).
            if c.state == .calling { return [] }
            return sendCancel(c, now: now)
        case .answeredAwaitingAck, .confirmed:
            guard var d = c.dialog else { return [] }
            let transport = c.ackDestination?.transport ?? c.source?.transport ?? configuration.defaultTransport
            let (bye, hop) = d.makeRequest(.bye, via: via(transport), contact: nil)
            c.dialog = d
            c.state = .terminated
            calls[handle] = c
            var dest = destination(for: hop, outOfDialog: false)
            if c.source?.transport == .tcp { dest.transport = .tcp }
            return send(bye, to: dest, purpose: .inDialog(handle, .bye), now: now) + [.event(.ended(handle, .localHangup))]
        case .terminated:
            return []
        }
    }

    /// CANCEL for our INVITE (RFC 3261 §9.1): its Via, Route, From, To and CSeq number.
    mutating func sendCancel(_ c: Call, now: Instant) -> [UserAgentOutput] {
        var h = SIPHeaders()
        if let v = c.invite.headers["Via"] { h.add("Via", v) }
        for r in c.invite.headers.values("Route") { h.add("Route", r) }
        h.add("Max-Forwards", "70")
        if let f = c.invite.headers["From"] { h.add("From", f) }
        if let t = c.invite.headers["To"] { h.add("To", t) }
        h.add("Call-ID", c.handle)
        h.add("CSeq", "\(c.invite.headers.cseq?.sequence ?? 1) CANCEL")
        let cancel = SIPRequest(method: .cancel, uri: c.invite.uri, headers: h)
        let dest = pending[c.inviteKey]?.destination ?? destination(for: c.invite.uri)
        return send(cancel, to: dest, purpose: .cancel(c.handle), now: now)
    }

    /// Replies to a re-INVITE with our new SDP (or refuses it with 488 when nil).
    public mutating func answerReoffer(_ handle: CallHandle, sdp: [UInt8]?, now: Instant) -> [UserAgentOutput] {
        guard var c = calls[handle], let key = c.pendingReofferKey, let req = transactions.serverRequest(key) else { return [] }
        c.pendingReofferKey = nil
        var r = SIPResponse(answering: req, status: sdp == nil ? 488 : 200)
        if let sdp {
            r.headers.add("Contact", contact(c.source?.transport ?? .udp).description)
            r.headers.add("Content-Type", "application/sdp")
            r.body = sdp
            c.localSDP = sdp
        }
        calls[handle] = c
        return respond(key, r, now: now)
    }

    /// Sends a re-INVITE with a new offer (hold: an offer with sendonly/inactive).
    public mutating func reinvite(_ handle: CallHandle, sdp: [UInt8], now: Instant) -> [UserAgentOutput] {
        guard var c = calls[handle], c.state == .confirmed, var d = c.dialog else { return [] }
        let transport = c.source?.transport ?? c.ackDestination?.transport ?? configuration.defaultTransport
        var (r, hop) = d.makeRequest(.invite, via: via(transport), contact: contact(transport))
        r.headers.add("Content-Type", "application/sdp")
        r.body = sdp
        c.dialog = d
        c.localSDP = sdp
        calls[handle] = c
        var dest = destination(for: hop, outOfDialog: false)
        dest.transport = transport
        return send(r, to: dest, purpose: .inDialog(handle, .invite), now: now)
    }
}
