import Timekeeping

/// A SIP user agent core (RFC 3261 §8, §12–§15; RFC 3428 MESSAGE), sans-I/O.
///
/// It owns the transaction layer, registration with refresh, calls and their dialogs,
/// and answers 401/407 challenges for any request it sends. Every `now` is an `Instant` on the
/// caller's clock (`SystemClock` in the programs, a virtual one in tests); `nextDeadline` and
/// `advance(to:)` drive every timer.
///
/// This file is the shared core: addresses, building and sending requests, and routing
/// what the transaction layer reports to registration (`UserAgent+Registration`), calls
/// (`UserAgent+Calls`, `UserAgent+CallEvents`) and standalone requests
/// (`UserAgent+Requests`). Challenges are answered in `UserAgent+Authentication`.
public struct UserAgent: Sendable {
    public var configuration: UserAgentConfiguration
    public private(set) var transactions: TransactionLayer
    var digest: DigestClient?
    var random: @Sendable () -> String

    /// What a client transaction we started is for, so its response goes to the right part.
    enum Purpose: Sendable, Equatable {
        case register(expires: Int)
        case invite(CallHandle)
        case inDialog(CallHandle, SIPMethod)
        case cancel(CallHandle)
        case standalone(id: String)
    }

    /// A request we sent and have no final response for yet.
    struct Pending: Sendable {
        var request: SIPRequest
        var destination: SIPEndpoint
        var purpose: Purpose
        var authAttempts: Int
    }

    var pending: [TransactionKey: Pending] = [:]
    var calls: [CallHandle: Call] = [:]
    var registrationCallID: String
    var registrationSequence: UInt32 = 0
    var refreshAt: Instant?
    /// Whether the registrar holds our binding (its last answer to REGISTER was a 2xx).
    public internal(set) var isRegistered = false
    /// Whether a request of ours still awaits its final answer (a BYE being sent again, say).
    public var hasPendingRequests: Bool { transactions.clientsAwaitingFinalResponse > 0 }

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

    /// The registrar: `configuration.registrar`, or `sip:domain`.
    var registrarURI: SIPURI { configuration.registrar ?? SIPURI(host: SIPHost(address: configuration.domain)) }

    func contact(_ transport: SIPTransportKind) -> SIPAddress {
        var uri = SIPURI(user: configuration.user, host: configuration.contactHost, port: configuration.contactPort)
        if transport == .tcp { uri.setParameter("transport", "tcp") }
        return SIPAddress(uri: uri)
    }

    func via(_ transport: SIPTransportKind) -> SIPVia {
        SIPVia(transport: transport.rawValue, host: configuration.contactHost, port: configuration.contactPort, branch: "z9hG4bK" + random())
    }

    var allowHeader: String { configuration.capabilities.methods.map(\.rawValue).sorted().joined(separator: ", ") }

    /// Where a request for `uri` goes first (RFC 3263 reduced to literal addresses and names).
    public func destination(for uri: SIPURI, outOfDialog: Bool = true) -> SIPEndpoint {
        if outOfDialog, let proxy = configuration.outboundProxy { return proxy }
        let transport: SIPTransportKind = uri.transport == "tcp" ? .tcp : (uri.transport == "udp" ? .udp : configuration.defaultTransport)
        let port = uri.port ?? (uri.scheme == "sips" ? 5061 : 5060)
        let maddr = uri.parameter("maddr").flatMap { $0 }
        return SIPEndpoint(transport, maddr ?? uri.host.address, port)
    }

    // MARK: sending

    /// A Call-ID for a new call or standalone request.
    func newCallID() -> String { random() + "@" + configuration.contactHost.address }

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

    /// Starts a client transaction for `request` and remembers what it is for.
    mutating func send(_ request: SIPRequest, to destination: SIPEndpoint, purpose: Purpose, authAttempts: Int = 0, now: Instant) -> [UserAgentOutput] {
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

    /// Sends `response` in the server transaction `key`.
    mutating func respond(_ key: TransactionKey, _ response: SIPResponse, now: Instant) -> [UserAgentOutput] {
        wrap(transactions.respond(response, to: key, now: now), now: now)
    }

    // MARK: input

    /// Takes one message off the wire.
    public mutating func receive(_ message: SIPMessage, from source: SIPEndpoint, now: Instant) -> [UserAgentOutput] {
        wrap(transactions.receive(message, from: source, now: now), now: now)
    }

    /// Takes octets off the wire: parse failures of requests are answered 400/505 statelessly.
    public mutating func receive(bytes: [UInt8], from source: SIPEndpoint, now: Instant) -> [UserAgentOutput] {
        do {
            let m = try SIPMessage(parsing: bytes, datagram: source.transport == .udp)
            return receive(m, from: source, now: now)
        } catch {
            guard let answer = SIPResponse.answering(unparsable: bytes, error: error) else { return [] }
            return [.send(.response(answer), to: source)]
        }
    }

    public var nextDeadline: Instant? {
        [transactions.nextDeadline, refreshAt].compactMap { $0 }.min()
    }

    public mutating func advance(to now: Instant) -> [UserAgentOutput] {
        var out = wrap(transactions.advance(to: now), now: now)
        out += refreshRegistrationIfDue(now: now)
        return out
    }

    // MARK: transaction events

    mutating func wrap(_ events: [TransactionEvent], now: Instant) -> [UserAgentOutput] {
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

    mutating func handleRequest(_ r: SIPRequest, from: SIPEndpoint, key: TransactionKey, now: Instant) -> [UserAgentOutput] {
        let toTag = random()
        if let rejection = configuration.capabilities.rejection(of: r, toTag: toTag) {
            return respond(key, rejection, now: now)
        }
        switch r.method {
        case .invite: return incomingInvite(r, from: from, key: key, toTag: toTag, now: now)
        case .bye: return incomingBye(r, key: key, now: now)
        case .cancel: return incomingCancel(r, key: key, now: now)
        case .options: return incomingOptions(r, key: key, toTag: toTag, now: now)
        case .message: return incomingMessage(r, key: key, toTag: toTag, now: now)
        default: return respond(key, SIPResponse(answering: r, status: 405), now: now)
        }
    }

    mutating func handleResponse(_ r: SIPResponse, key: TransactionKey, now: Instant) -> [UserAgentOutput] {
        guard let p = pending[key] else { return [] }
        if r.status == 401 || r.status == 407, let retry = authenticatedRetry(p, challenge: r) {
            pending[key] = nil
            let out = send(retry, to: p.destination, purpose: p.purpose, authAttempts: p.authAttempts + 1, now: now)
            retried(p.purpose, as: retry)
            return out
        }
        switch p.purpose {
        case .register(let expires): return registrationResponse(r, expires: expires, now: now)
        case .invite(let handle): return inviteResponse(r, handle: handle, now: now)
        case .cancel: return []
        case .inDialog(let handle, let method): return inDialogResponse(r, handle: handle, method: method, now: now)
        case .standalone(let id): return standaloneResponse(r, id: id)
        }
    }

    mutating func handleTimeout(_ key: TransactionKey) -> [UserAgentOutput] {
        if key.isServer { return serverTransactionTimedOut(key) }
        guard let p = pending[key] else { return [] }
        pending[key] = nil
        switch p.purpose {
        case .register: return registrationTimedOut()
        case .invite(let handle): return callTimedOut(handle)
        case .standalone(let id): return standaloneTimedOut(id: id)
        case .inDialog, .cancel: return []
        }
    }
}
