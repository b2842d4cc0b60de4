import Timekeeping

/// Calls as the network moves them along: incoming INVITE, re-INVITE, ACK, BYE and CANCEL,
/// the responses to our INVITEs (forks included), and calls given up on a timeout.
extension UserAgent {
    /// The call whose dialog `request` belongs to.
    func call(inDialogOf request: SIPRequest) -> (CallHandle, Call)? {
        calls.first(where: { $0.value.dialog?.contains(request) ?? false }).map { ($0.key, $0.value) }
    }

    // MARK: requests from the peer

    mutating func incomingInvite(_ r: SIPRequest, from: SIPEndpoint, key: TransactionKey, toTag: String, now: Instant) -> [UserAgentOutput] {
        if r.headers.to?.tag != nil { return incomingReinvite(r, key: key, now: now) }
        let handle = r.headers.callID ?? random()
        guard calls[handle] == nil else { return respond(key, SIPResponse(answering: r, status: 482), now: now) }
        guard calls.count < configuration.maximumCalls else {
            var busy = SIPResponse(answering: r, status: 486, toTag: toTag)
            busy.headers.add("Warning", "399 - \"\(configuration.maximumCalls) calls already\"")
            return respond(key, busy, now: now)
        }
        guard let dialog = SIPDialog(uasRequest: r, localTag: toTag) else {
            return respond(key, SIPResponse(answering: r, status: 400), now: now)
        }
        calls[handle] = Call(handle: handle, isCaller: false, state: .early, invite: r, inviteKey: key, dialog: dialog,
                             localSDP: [], ack: nil, ackDestination: nil, cancelRequested: false, pendingReofferKey: nil, source: from)
        let ringing = dialogResponse(answering: r, status: 180, toTag: toTag, transport: from.transport)
        return respond(key, SIPResponse(answering: r, status: 100), now: now)
            + respond(key, ringing, now: now)
            + [.event(.incomingCall(handle, from: r.headers.from ?? SIPAddress(uri: r.uri), offer: r.body))]
    }

    /// A re-INVITE: the application answers it with `answerReoffer(_:sdp:now:)`.
    mutating func incomingReinvite(_ r: SIPRequest, key: TransactionKey, now: Instant) -> [UserAgentOutput] {
        guard let (handle, found) = call(inDialogOf: r) else {
            return respond(key, SIPResponse(answering: r, status: 481), now: now)
        }
        var c = found
        c.pendingReofferKey = key
        if var d = c.dialog {
            d.remoteSequence = r.headers.cseq?.sequence
            if let t = r.headers.contacts.first?.uri { d.remoteTarget = t }
            c.dialog = d
        }
        calls[handle] = c
        return respond(key, SIPResponse(answering: r, status: 100), now: now) + [.event(.reoffer(handle, sdp: r.body))]
    }

    mutating func incomingBye(_ r: SIPRequest, key: TransactionKey, now: Instant) -> [UserAgentOutput] {
        guard let (handle, c) = call(inDialogOf: r) else {
            return respond(key, SIPResponse(answering: r, status: 481), now: now)
        }
        var out = respond(key, SIPResponse(answering: r, status: 200), now: now)
        if c.state != .terminated { out.append(.event(.ended(handle, .remoteHangup))) }
        calls[handle] = nil
        return out
    }

    mutating func incomingCancel(_ r: SIPRequest, key: TransactionKey, now: Instant) -> [UserAgentOutput] {
        guard let inviteKey = transactions.serverKey(for: r, method: .invite) else {
            return respond(key, SIPResponse(answering: r, status: 481), now: now)
        }
        var out = respond(key, SIPResponse(answering: r, status: 200), now: now)
        if transactions.isPending(inviteKey), let invite = transactions.serverRequest(inviteKey) {
            let handle = invite.headers.callID ?? ""
            out += respond(inviteKey, SIPResponse(answering: invite, status: 487, toTag: calls[handle]?.dialog?.localTag), now: now)
            if calls[handle] != nil { calls[handle] = nil; out.append(.event(.ended(handle, .cancelled))) }
        }
        return out
    }

    mutating func handleAck(_ ack: SIPRequest) -> [UserAgentOutput] {
        guard let (handle, c) = call(inDialogOf: ack), !c.isCaller else { return [] }
        guard c.state == .answeredAwaitingAck else { return [] }
        var confirmed = c
        confirmed.state = .confirmed
        calls[handle] = confirmed
        return [.event(.established(handle))]
    }

    // MARK: responses to our requests

    mutating func inviteResponse(_ r: SIPResponse, handle: CallHandle, now: Instant) -> [UserAgentOutput] {
        guard var c = calls[handle] else { return [] }
        switch r.status {
        case 100:
            return []
        case 101..<200:
            var out: [UserAgentOutput] = []
            if c.state == .calling {
                c.state = .early
                calls[handle] = c
                if c.cancelRequested { out += sendCancel(c, now: now) }
            }
            return out + [.event(.ringing(handle, status: r.status))]
        case 200..<300:
            if let d = c.dialog {
                if r.headers.to?.tag == d.remoteTag {
                    // retransmitted 2xx: the ACK got lost
                    if let ack = c.ack, let dest = c.ackDestination { return [.send(.request(ack), to: dest)] }
                    return []
                }
                // a second fork answered: ACK it and hang it up (RFC 3261 §13.2.2.4)
                return acknowledgeAndEndFork(r, call: c, now: now)
            }
            guard let dialog = SIPDialog(uacRequest: c.invite, response: r) else { return [] }
            c.dialog = dialog
            c.state = .confirmed
            calls[handle] = c
            let (updated, out) = sendAck(for: r, call: c, dialog: dialog, now: now)
            calls[handle] = updated
            var events = out + [.event(.answered(handle, sdp: r.body))]
            if c.cancelRequested { events += hangUp(handle, now: now) }
            return events
        default:
            calls[handle] = nil
            if c.cancelRequested && r.status == 487 { return [.event(.ended(handle, .cancelled))] }
            return [.event(.ended(handle, .rejected(status: r.status, reason: r.reason)))]
        }
    }

    /// A response to a BYE or re-INVITE we sent in a call: a 2xx to a re-INVITE is ACKed
    /// and its SDP is the answer.
    mutating func inDialogResponse(_ r: SIPResponse, handle: CallHandle, method: SIPMethod, now: Instant) -> [UserAgentOutput] {
        if method == .invite, (200..<300).contains(r.status), let c = calls[handle], let d = c.dialog {
            return sendAck(for: r, call: c, dialog: d, now: now).1 + [.event(.answered(handle, sdp: r.body))]
        }
        return []
    }

    /// The transport our INVITE went out on (while its transaction lasts).
    func inviteTransport(of c: Call) -> SIPTransportKind {
        pending[c.inviteKey]?.destination.transport ?? configuration.defaultTransport
    }

    mutating func sendAck(for r: SIPResponse, call: Call, dialog: SIPDialog, now: Instant) -> (Call, [UserAgentOutput]) {
        var c = call
        var d = dialog
        let transport = inviteTransport(of: c)
        let (ack, hop) = d.makeRequest(.ack, via: via(transport), contact: nil, sequence: r.headers.cseq?.sequence ?? d.localSequence)
        var dest = destination(for: hop, outOfDialog: false)
        if transport == .tcp, hop.transport == nil { dest.transport = .tcp }
        if dialog.callID == c.handle && c.dialog?.remoteTag == dialog.remoteTag {
            c.ack = ack
            c.ackDestination = dest
            calls[c.handle] = c
        }
        return (c, [.send(.request(ack), to: dest)])
    }

    mutating func acknowledgeAndEndFork(_ r: SIPResponse, call: Call, now: Instant) -> [UserAgentOutput] {
        guard var fork = SIPDialog(uacRequest: call.invite, response: r) else { return [] }
        let (_, ackOut) = sendAck(for: r, call: call, dialog: fork, now: now)
        let (bye, hop) = fork.makeRequest(.bye, via: via(inviteTransport(of: call)), contact: nil)
        return ackOut + send(bye, to: destination(for: hop, outOfDialog: false), purpose: .inDialog(call.handle + "#fork", .bye), now: now)
    }

    /// A response to our INVITE whose client transaction is gone (a 2xx retransmission, a
    /// late fork) still belongs to the call.
    mutating func handleStray(_ r: SIPResponse, now: Instant) -> [UserAgentOutput] {
        guard r.headers.cseq?.method == .invite, let callID = r.headers.callID, let c = calls[callID], c.isCaller else { return [] }
        return inviteResponse(r, handle: callID, now: now)
    }

    // MARK: timeouts

    /// No ACK for our answer: give the call up.
    mutating func serverTransactionTimedOut(_ key: TransactionKey) -> [UserAgentOutput] {
        guard let (handle, _) = calls.first(where: { $0.value.inviteKey == key }) else { return [] }
        return callTimedOut(handle)
    }

    /// No final response to our INVITE, or no ACK for our answer.
    mutating func callTimedOut(_ handle: CallHandle) -> [UserAgentOutput] {
        calls[handle] = nil
        return [.event(.ended(handle, .timeout))]
    }
}
