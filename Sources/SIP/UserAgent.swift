/// A SIP user agent core (RFC 3261 §8, §12–§15; RFC 3428 MESSAGE), sans-I/O.
///
/// It owns the transaction layer, registration with refresh, calls and their dialogs,
/// and answers 401/407 challenges for any request it sends. Times are seconds on the
/// caller's clock; `nextDeadline` and `advance(to:)` drive every timer.
public struct UserAgent: Sendable {
    public var configuration: UserAgentConfiguration
    public private(set) var transactions: TransactionLayer
    var digest: DigestClient?
    var random: @Sendable () -> String

    enum Purpose: Sendable, Equatable {
        case register(expires: Int)
        case invite(CallHandle)
        case inDialog(CallHandle, SIPMethod)
        case cancel(CallHandle)
        case standalone(id: String)
    }

    struct Pending: Sendable {
        var request: SIPRequest
        var destination: SIPEndpoint
        var purpose: Purpose
        var authAttempts: Int
    }

    enum CallState: Sendable, Equatable { case calling, early, answeredAwaitingAck, confirmed, terminated }

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

    var pending: [TransactionKey: Pending] = [:]
    var calls: [CallHandle: Call] = [:]
    var registrationCallID: String
    var registrationSequence: UInt32 = 0
    var refreshAt: Double?
    public private(set) var isRegistered = false

    /// Handles of the calls that are not over.
    public var activeCalls: [CallHandle] { calls.keys.sorted() }

    public init(configuration: UserAgentConfiguration, random: @escaping @Sendable () -> String = UserAgent.randomToken) {
        self.configuration = configuration
        self.transactions = TransactionLayer(timers: configuration.timers)
        self.random = random
        self.registrationCallID = random()
        if let pw = configuration.password {
            digest = DigestClient(username: configuration.authUser ?? configuration.user, password: pw, cnonce: random)
        }
    }

    /// Longest registration we keep (RFC 3261 §20.19 allows 2^32-1 s; a registrar's larger
    /// or malformed value must not overflow our timers).
    public static let maximumExpires = 0x7FFF_FFFF

    @Sendable public static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()
        return String(g.next() & 0xFFFF_FFFF_FFFF, radix: 16)
    }

    // MARK: addresses

    public var addressOfRecord: SIPAddress {
        SIPAddress(displayName: configuration.displayName, uri: SIPURI(user: configuration.user, host: SIPHost(address: configuration.domain)))
    }

    func contact(_ transport: SIPTransportKind) -> SIPAddress {
        var uri = SIPURI(user: configuration.user, host: configuration.contactHost, port: configuration.contactPort)
        if transport == .tcp { uri.setParameter("transport", "tcp") }
        return SIPAddress(uri: uri)
    }

    func via(_ transport: SIPTransportKind) -> SIPVia {
        SIPVia(transport: transport.rawValue, host: configuration.contactHost, port: configuration.contactPort, branch: "z9hG4bK" + random())
    }

    /// Where a request for `uri` goes first (RFC 3263 reduced to literal addresses and names).
    public func destination(for uri: SIPURI, outOfDialog: Bool = true) -> SIPEndpoint {
        if outOfDialog, let proxy = configuration.outboundProxy { return proxy }
        let transport: SIPTransportKind = uri.transport == "tcp" ? .tcp : (uri.transport == "udp" ? .udp : configuration.defaultTransport)
        let port = uri.port ?? (uri.scheme == "sips" ? 5061 : 5060)
        let maddr = uri.parameter("maddr").flatMap { $0 }
        return SIPEndpoint(transport, maddr ?? uri.host.address, port)
    }

    func newRequest(_ method: SIPMethod, to uri: SIPURI, toAddress: SIPAddress? = nil, callID: String, sequence: UInt32, transport: SIPTransportKind) -> SIPRequest {
        var h = SIPHeaders()
        h.add("Via", via(transport).description)
        h.add("Max-Forwards", "70")
        var from = addressOfRecord
        from.tag = random()
        h.add("From", from.description)
        h.add("To", (toAddress ?? SIPAddress(uri: uri)).description)
        h.add("Call-ID", callID)
        h.add("CSeq", "\(sequence) \(method)")
        h.add("User-Agent", configuration.userAgentName)
        return SIPRequest(method: method, uri: uri, headers: h)
    }

    mutating func send(_ request: SIPRequest, to destination: SIPEndpoint, purpose: Purpose, authAttempts: Int = 0, now: Double) -> [UserAgentOutput] {
        var r = request
        // the Via transport follows the transport actually used
        if var v = r.headers.topVia, v.transport != destination.transport.rawValue {
            v.transport = destination.transport.rawValue
            var f = r.headers.fields
            if let i = f.firstIndex(where: { $0.name == "Via" }) { f[i].value = v.description }
            r.headers = SIPHeaders(f)
        }
        let key = TransactionKey.forRequest(r, server: false)
        pending[key] = Pending(request: r, destination: destination, purpose: purpose, authAttempts: authAttempts)
        return wrap(transactions.start(r, to: destination, now: now), now: now)
    }

    // MARK: registration

    /// Sends REGISTER (expires 0 removes the binding).
    public mutating func register(now: Double, expires: Int? = nil) -> [UserAgentOutput] {
        let exp = expires ?? configuration.registrationExpires
        let uri = configuration.registrar ?? SIPURI(host: SIPHost(address: configuration.domain))
        let dest = destination(for: uri)
        registrationSequence += 1
        var r = newRequest(.register, to: uri, toAddress: addressOfRecord, callID: registrationCallID, sequence: registrationSequence, transport: dest.transport)
        r.headers.add("Contact", contact(dest.transport).description)
        r.headers.add("Expires", String(exp))
        r.headers.add("Allow", allowHeader)
        refreshAt = nil
        return send(r, to: dest, purpose: .register(expires: exp), now: now)
    }

    var allowHeader: String { configuration.capabilities.methods.map(\.rawValue).sorted().joined(separator: ", ") }

    // MARK: calls

    /// Starts a call with `sdp` as the offer; returns its handle.
    public mutating func call(_ uri: SIPURI, sdp: [UInt8], now: Double) -> (CallHandle, [UserAgentOutput]) {
        let callID = random() + "@" + configuration.contactHost.address
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
    public mutating func answer(_ handle: CallHandle, sdp: [UInt8], now: Double) -> [UserAgentOutput] {
        guard var c = calls[handle], !c.isCaller, c.state == .early, let d = c.dialog else { return [] }
        var r = SIPResponse(answering: c.invite, status: 200, toTag: d.localTag)
        r.headers.add("Contact", contact(c.source?.transport ?? .udp).description)
        for rr in c.invite.headers.values("Record-Route") { r.headers.add("Record-Route", rr) }
        r.headers.add("Allow", allowHeader)
        r.headers.add("Content-Type", "application/sdp")
        r.body = sdp
        c.localSDP = sdp
        c.state = .answeredAwaitingAck
        calls[handle] = c
        return wrap(transactions.respond(r, to: c.inviteKey, now: now), now: now)
    }

    /// Refuses an incoming call (486 Busy Here, 603 Decline, …).
    public mutating func reject(_ handle: CallHandle, status: Int, now: Double) -> [UserAgentOutput] {
        guard var c = calls[handle], !c.isCaller, c.state == .early else { return [] }
        let r = SIPResponse(answering: c.invite, status: status, toTag: c.dialog?.localTag)
        c.state = .terminated
        calls[handle] = nil
        return wrap(transactions.respond(r, to: c.inviteKey, now: now), now: now) + [.event(.ended(handle, .rejected(status: status, reason: r.reason)))]
    }

    /// Ends a call: CANCEL before an answer, BYE after.
    public mutating func hangUp(_ handle: CallHandle, now: Double) -> [UserAgentOutput] {
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

    mutating func sendCancel(_ c: Call, now: Double) -> [UserAgentOutput] {
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
    public mutating func answerReoffer(_ handle: CallHandle, sdp: [UInt8]?, now: Double) -> [UserAgentOutput] {
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
        return wrap(transactions.respond(r, to: key, now: now), now: now)
    }

    /// Sends a re-INVITE with a new offer (hold: an offer with sendonly/inactive).
    public mutating func reinvite(_ handle: CallHandle, sdp: [UInt8], now: Double) -> [UserAgentOutput] {
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

    // MARK: MESSAGE and OPTIONS

    /// Sends a MESSAGE (RFC 3428); the returned id comes back in `.requestCompleted`.
    public mutating func sendMessage(to uri: SIPURI, text: String, contentType: String = "text/plain", now: Double) -> (String, [UserAgentOutput]) {
        let dest = destination(for: uri)
        var r = newRequest(.message, to: uri, callID: random() + "@" + configuration.contactHost.address, sequence: 1, transport: dest.transport)
        r.headers.add("Content-Type", contentType)
        r.body = Array(text.utf8)
        let id = r.headers.callID ?? ""
        return (id, send(r, to: dest, purpose: .standalone(id: id), now: now))
    }

    /// Sends OPTIONS (a capability query or keep-alive).
    public mutating func sendOptions(to uri: SIPURI, now: Double) -> (String, [UserAgentOutput]) {
        let dest = destination(for: uri)
        var r = newRequest(.options, to: uri, callID: random() + "@" + configuration.contactHost.address, sequence: 1, transport: dest.transport)
        r.headers.add("Accept", "application/sdp")
        let id = r.headers.callID ?? ""
        return (id, send(r, to: dest, purpose: .standalone(id: id), now: now))
    }

    // MARK: input

    /// Takes one message off the wire.
    public mutating func receive(_ message: SIPMessage, from source: SIPEndpoint, now: Double) -> [UserAgentOutput] {
        wrap(transactions.receive(message, from: source, now: now), now: now)
    }

    /// Takes octets off the wire: parse failures of requests are answered 400/505 statelessly.
    public mutating func receive(bytes: [UInt8], from source: SIPEndpoint, now: Double) -> [UserAgentOutput] {
        do {
            let m = try SIPMessage(parsing: bytes, datagram: source.transport == .udp)
            return receive(m, from: source, now: now)
        } catch {
            guard let answer = SIPResponse.answering(unparsable: bytes, error: error) else { return [] }
            return [.send(.response(answer), to: source)]
        }
    }

    public var nextDeadline: Double? {
        [transactions.nextDeadline, refreshAt].compactMap { $0 }.min()
    }

    public mutating func advance(to now: Double) -> [UserAgentOutput] {
        var out = wrap(transactions.advance(to: now), now: now)
        if let r = refreshAt, r <= now {
            refreshAt = nil
            out += register(now: now)
        }
        return out
    }

    // MARK: transaction events

    mutating func wrap(_ events: [TransactionEvent], now: Double) -> [UserAgentOutput] {
        var out: [UserAgentOutput] = []
        for e in events {
            switch e {
            case .send(let m, let to): out.append(.send(m, to: to))
            case .request(let r, let from, let key): out += handleRequest(r, from: from, key: key, now: now)
            case .response(let r, let key): out += handleResponse(r, key: key, now: now)
            case .ackFor2xx(let ack, _): out += handleAck(ack)
            case .strayResponse(let r, _): out += handleStray(r, now: now)
            case .timeout(let key): out += handleTimeout(key)
            case .terminated(let key):
                if !key.isServer { pending[key] = nil }
            }
        }
        return out
    }

    mutating func respond(_ key: TransactionKey, _ r: SIPResponse, now: Double) -> [UserAgentOutput] {
        wrap(transactions.respond(r, to: key, now: now), now: now)
    }

    mutating func handleRequest(_ r: SIPRequest, from: SIPEndpoint, key: TransactionKey, now: Double) -> [UserAgentOutput] {
        let toTag = random()
        if let rejection = configuration.capabilities.rejection(of: r, toTag: toTag) {
            return respond(key, rejection, now: now)
        }
        switch r.method {
        case .invite:
            if r.headers.to?.tag != nil {
                guard let (handle, c) = calls.first(where: { $0.value.dialog?.contains(r) ?? false }) else {
                    return respond(key, SIPResponse(answering: r, status: 481), now: now)
                }
                var call = c
                call.pendingReofferKey = key
                if var d = call.dialog { d.remoteSequence = r.headers.cseq?.sequence; if let t = r.headers.contacts.first?.uri { d.remoteTarget = t }; call.dialog = d }
                calls[handle] = call
                return respond(key, SIPResponse(answering: r, status: 100), now: now) + [.event(.reoffer(handle, sdp: r.body))]
            }
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
            var ringing = SIPResponse(answering: r, status: 180, toTag: toTag)
            ringing.headers.add("Contact", contact(from.transport).description)
            for rr in r.headers.values("Record-Route") { ringing.headers.add("Record-Route", rr) }
            return respond(key, SIPResponse(answering: r, status: 100), now: now)
                + respond(key, ringing, now: now)
                + [.event(.incomingCall(handle, from: r.headers.from ?? SIPAddress(uri: r.uri), offer: r.body))]
        case .bye:
            guard let (handle, c) = calls.first(where: { $0.value.dialog?.contains(r) ?? false }) else {
                return respond(key, SIPResponse(answering: r, status: 481), now: now)
            }
            var out = respond(key, SIPResponse(answering: r, status: 200), now: now)
            if c.state != .terminated { out.append(.event(.ended(handle, .remoteHangup))) }
            calls[handle] = nil
            return out
        case .cancel:
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
        case .options:
            var ok = SIPResponse(answering: r, status: 200, toTag: toTag)
            ok.headers.add("Allow", allowHeader)
            ok.headers.add("Accept", configuration.capabilities.acceptedContentTypes.joined(separator: ", "))
            ok.headers.add("Server", configuration.userAgentName)
            return respond(key, ok, now: now)
        case .message:
            let out = respond(key, SIPResponse(answering: r, status: 200, toTag: toTag), now: now)
            return out + [.event(.messageReceived(from: r.headers.from ?? SIPAddress(uri: r.uri),
                                                  contentType: r.headers.contentType ?? "text/plain", body: r.body))]
        default:
            return respond(key, SIPResponse(answering: r, status: 405), now: now)
        }
    }

    mutating func handleAck(_ ack: SIPRequest) -> [UserAgentOutput] {
        guard let (handle, c) = calls.first(where: { $0.value.dialog?.contains(ack) ?? false }), !c.isCaller else { return [] }
        guard c.state == .answeredAwaitingAck else { return [] }
        var call = c
        call.state = .confirmed
        calls[handle] = call
        return [.event(.established(handle))]
    }

    mutating func handleResponse(_ r: SIPResponse, key: TransactionKey, now: Double) -> [UserAgentOutput] {
        guard let p = pending[key] else { return [] }
        if r.status == 401 || r.status == 407, let retry = authenticatedRetry(p, challenge: r) {
            pending[key] = nil
            let out = send(retry, to: p.destination, purpose: p.purpose, authAttempts: p.authAttempts + 1, now: now)
            if case .invite(let handle) = p.purpose, var c = calls[handle] {
                c.invite = retry
                c.inviteKey = TransactionKey.forRequest(retry, server: false)
                calls[handle] = c
            }
            return out
        }
        switch p.purpose {
        case .register(let expires):
            guard r.status >= 200 else { return [] }
            if (200..<300).contains(r.status) {
                if expires == 0 {
                    isRegistered = false
                    return [.event(.unregistered)]
                }
                // the registrar lists every binding of the AoR; ours is the one with our host and port
                let grantedRaw = r.headers.contacts.first(where: {
                    $0.uri.host.address.lowercased() == configuration.contactHost.address.lowercased()
                        && ($0.uri.port ?? 5060) == configuration.contactPort
                })?.parameters["expires"].flatMap { Int($0) }
                    ?? r.headers.expires ?? expires
                let granted = Swift.min(Swift.max(grantedRaw, 1), UserAgent.maximumExpires)
                isRegistered = true
                // refresh well before expiry (RFC 3261 §10.2.4 leaves the margin to us)
                refreshAt = now + Swift.max(1, Double(granted) * 0.8)
                return [.event(.registered(expires: granted))]
            }
            if r.status == 423, let min = r.headers["Min-Expires"].flatMap({ Int($0) }), min > expires, min <= UserAgent.maximumExpires {
                configuration.registrationExpires = min
                return register(now: now, expires: min)
            }
            isRegistered = false
            return [.event(.registrationFailed(status: r.status, reason: r.reason))]
        case .invite(let handle):
            return inviteResponse(r, handle: handle, now: now)
        case .cancel:
            return []
        case .inDialog(let handle, let method):
            if method == .invite, (200..<300).contains(r.status), let c = calls[handle], let d = c.dialog {
                return sendAck(for: r, call: c, dialog: d, now: now).1 + [.event(.answered(handle, sdp: r.body))]
            }
            return []
        case .standalone(let id):
            guard r.status >= 200 else { return [] }
            return [.event(.requestCompleted(id: id, status: r.status, reason: r.reason, headers: r.headers))]
        }
    }

    mutating func inviteResponse(_ r: SIPResponse, handle: CallHandle, now: Double) -> [UserAgentOutput] {
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

    mutating func sendAck(for r: SIPResponse, call: Call, dialog: SIPDialog, now: Double) -> (Call, [UserAgentOutput]) {
        var c = call
        var d = dialog
        let transport = pending[c.inviteKey]?.destination.transport ?? configuration.defaultTransport
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

    mutating func acknowledgeAndEndFork(_ r: SIPResponse, call: Call, now: Double) -> [UserAgentOutput] {
        guard var fork = SIPDialog(uacRequest: call.invite, response: r) else { return [] }
        let (_, ackOut) = sendAck(for: r, call: call, dialog: fork, now: now)
        let transport = pending[call.inviteKey]?.destination.transport ?? configuration.defaultTransport
        let (bye, hop) = fork.makeRequest(.bye, via: via(transport), contact: nil)
        return ackOut + send(bye, to: destination(for: hop, outOfDialog: false), purpose: .inDialog(call.handle + "#fork", .bye), now: now)
    }

    mutating func handleStray(_ r: SIPResponse, now: Double) -> [UserAgentOutput] {
        guard r.headers.cseq?.method == .invite, let callID = r.headers.callID, let c = calls[callID], c.isCaller else { return [] }
        return inviteResponse(r, handle: callID, now: now)
    }

    mutating func handleTimeout(_ key: TransactionKey) -> [UserAgentOutput] {
        if key.isServer {
            // no ACK for our answer: give the call up
            if let (handle, _) = calls.first(where: { $0.value.inviteKey == key }) {
                calls[handle] = nil
                return [.event(.ended(handle, .timeout))]
            }
            return []
        }
        guard let p = pending[key] else { return [] }
        pending[key] = nil
        switch p.purpose {
        case .register:
            isRegistered = false
            return [.event(.registrationFailed(status: 408, reason: "Request Timeout"))]
        case .invite(let handle):
            calls[handle] = nil
            return [.event(.ended(handle, .timeout))]
        case .standalone(let id):
            return [.event(.requestCompleted(id: id, status: 408, reason: "Request Timeout", headers: SIPHeaders()))]
        case .inDialog, .cancel:
            return []
        }
    }

    /// Whether credentials may answer `challenge` for a request sent to `destination`
    /// (see `UserAgentConfiguration.authRealm`).
    func mayAnswer(_ challenge: DigestChallenge, sentTo dest: SIPEndpoint) -> Bool {
        if let realm = configuration.authRealm { return challenge.realm == realm }
        func same(_ a: SIPEndpoint, _ b: SIPEndpoint) -> Bool {
            a.address.lowercased() == b.address.lowercased() && a.port == b.port
        }
        if let proxy = configuration.outboundProxy, same(proxy, dest) { return true }
        let registrar = destination(for: configuration.registrar ?? SIPURI(host: SIPHost(address: configuration.domain)), outOfDialog: false)
        return configuration.registrar != nil && same(registrar, dest)
    }

    /// The request again with credentials for every challenge in `challenge`, or nil
    /// when we have no password or already failed with these challenges twice.
    mutating func authenticatedRetry(_ p: Pending, challenge r: SIPResponse) -> SIPRequest? {
        guard var digest, p.authAttempts < 2 else { return nil }
        let header = r.status == 401 ? "WWW-Authenticate" : "Proxy-Authenticate"
        let answerHeader = r.status == 401 ? "Authorization" : "Proxy-Authorization"
        let challenges = r.headers.values(header).compactMap { try? DigestChallenge(parsing: $0) }
        guard !challenges.isEmpty, challenges.allSatisfy({ mayAnswer($0, sentTo: p.destination) }) else { return nil }
        // a second challenge that is not stale means the password is wrong
        if p.authAttempts >= 1, !challenges.contains(where: \.stale), p.request.headers[answerHeader] != nil { return nil }
        var req = p.request
        var fields = req.headers.fields.filter { $0.name != "Via" && $0.name != answerHeader }
        var v = req.headers.topVia ?? via(p.destination.transport)
        v.branch = "z9hG4bK" + random()
        fields.insert(SIPHeader("Via", v.description), at: 0)
        if let seq = req.headers.cseq, let i = fields.firstIndex(where: { $0.name == "CSeq" }) {
            fields[i].value = "\(seq.sequence + 1) \(seq.method)"
            if case .register = p.purpose { registrationSequence = seq.sequence + 1 }
        }
        req.headers = SIPHeaders(fields)
        for ch in challenges { req.headers.add(answerHeader, digest.authorization(for: ch, method: req.method, uri: req.uri)) }
        self.digest = digest
        return req
    }
}
