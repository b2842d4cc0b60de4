import Timekeeping

/// Transport protocols SIP runs over here.
public enum SIPTransportKind: String, Sendable, Hashable {
    case udp = "UDP", tcp = "TCP"
    /// Reliable transports need no retransmissions (RFC 3261 §17).
    public var isReliable: Bool { self != .udp }
}

/// Where a message comes from or goes to: transport, address (no brackets) and port.
public struct SIPEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var transport: SIPTransportKind
    public var address: String
    public var port: Int
    public init(_ transport: SIPTransportKind, _ address: String, _ port: Int) {
        self.transport = transport
        self.address = address
        self.port = port
    }
    public var host: SIPHost { SIPHost(address: address) }
    public var description: String { "\(transport.rawValue.lowercased()):\(host):\(port)" }
}

/// Timer base values of RFC 3261 §17. Tests shrink nothing: the clock is virtual.
public struct SIPTimerValues: Sendable, Hashable {
    public var t1: Duration = .milliseconds(500)
    public var t2: Duration = .seconds(4)
    public var t4: Duration = .seconds(5)
    public init() {}
    public init(t1: Duration, t2: Duration, t4: Duration) { self.t1 = t1; self.t2 = t2; self.t4 = t4 }
}

/// Identifies a transaction: top Via branch plus method, with ACK folded into INVITE
/// (RFC 3261 §17.1.3, §17.2.3).
public struct TransactionKey: Sendable, Hashable, CustomStringConvertible {
    public var branch: String
    public var method: SIPMethod
    public var isServer: Bool
    public var description: String { "\(isServer ? "server" : "client") \(method) \(branch)" }

    static func forRequest(_ r: SIPRequest, server: Bool) -> TransactionKey {
        let method: SIPMethod = r.method == .ack ? .invite : r.method
        let via = r.headers.topVia
        if let via, via.hasRFC3261Branch, let b = via.branch {
            return TransactionKey(branch: b + (server ? "|\(via.host):\(via.port ?? 0)" : ""), method: method, isServer: server)
        }
        // RFC 2543 peers: match on the request's identity instead of the branch
        let legacy = "2543|\(r.headers.callID ?? "")|\(r.headers.cseq?.sequence ?? 0)|\(r.headers.from?.tag ?? "")|\(via?.host.description ?? "")"
        return TransactionKey(branch: legacy, method: method, isServer: server)
    }

    static func forResponse(_ r: SIPResponse) -> TransactionKey? {
        guard let b = r.headers.topVia?.branch, let m = r.headers.cseq?.method else { return nil }
        return TransactionKey(branch: b, method: m == .ack ? .invite : m, isServer: false)
    }
}

/// What the transaction layer asks its driver and its user to do.
public enum TransactionEvent: Sendable, Equatable {
    /// Put these octets on the wire.
    case send(SIPMessage, to: SIPEndpoint)
    /// A new request for the transaction user (retransmissions are absorbed).
    case request(SIPRequest, from: SIPEndpoint, key: TransactionKey)
    /// A response for a client transaction the user started.
    case response(SIPResponse, key: TransactionKey)
    /// An ACK to a 2xx (its own transaction-less request, RFC 3261 §17.1.1.3).
    case ackFor2xx(SIPRequest, from: SIPEndpoint)
    /// A 2xx that belongs to no transaction any more (a forked or retransmitted 2xx).
    case strayResponse(SIPResponse, from: SIPEndpoint)
    /// Timer B or F fired, or Timer H (no ACK for a final response).
    case timeout(key: TransactionKey)
    case terminated(key: TransactionKey)
}

/// RFC 3261 §17 client and server transactions, INVITE and non-INVITE, sans-I/O.
///
/// Feed it with `start(_:to:now:)`, `receive(_:from:now:)`, `respond(_:to:now:)` and
/// `advance(to:)`; it returns `TransactionEvent`s. `nextDeadline` says when it next
/// wants `advance(to:)`: timers A–K live here and follow the clock the caller passes.
/// INVITE transactions that saw a 2xx stay in RFC 6026's Accepted state for 64·T1, so
/// 2xx retransmissions and forked 2xx reach the user.
public struct TransactionLayer: Sendable {
    public var timers: SIPTimerValues

    enum State: Sendable, Equatable { case calling, trying, proceeding, accepted, completed, confirmed, terminated }

    struct Client: Sendable {
        var request: SIPRequest
        var destination: SIPEndpoint
        var state: State
        var retransmitInterval: Duration
        var retransmitAt: Instant?
        var timeoutAt: Instant?      // B, F, M
        var endAt: Instant?          // D, K
        var ack: SIPRequest?
    }

    struct Server: Sendable {
        var request: SIPRequest
        var source: SIPEndpoint
        var state: State
        var lastResponse: SIPResponse?
        var retransmitInterval: Duration
        var retransmitAt: Instant?   // G, and 2xx retransmission
        var timeoutAt: Instant?      // H, L
        var endAt: Instant?          // I, J
    }

    var clients: [TransactionKey: Client] = [:]
    var servers: [TransactionKey: Server] = [:]
    /// Most server transactions alive at once; a new request beyond it gets a stateless 503.
    public var maximumServerTransactions = 4096

    public init(timers: SIPTimerValues = SIPTimerValues()) { self.timers = timers }

    public var clientCount: Int { clients.count }
    public var serverCount: Int { servers.count }
    /// Client transactions still waiting for their final response (and retransmitting over UDP).
    public var clientsAwaitingFinalResponse: Int {
        clients.values.count { $0.state == .calling || $0.state == .trying || $0.state == .proceeding }
    }

    /// Starts a client transaction and sends the request. ACKs to 2xx have no transaction
    /// and are only sent.
    public mutating func start(_ request: SIPRequest, to destination: SIPEndpoint, now: Instant) -> [TransactionEvent] {
        let send = TransactionEvent.send(.request(request), to: destination)
        guard request.method != .ack else { return [send] }
        let key = TransactionKey.forRequest(request, server: false)
        let reliable = destination.transport.isReliable
        let invite = request.method == .invite
        clients[key] = Client(request: request, destination: destination, state: invite ? .calling : .trying,
                              retransmitInterval: timers.t1, retransmitAt: reliable ? nil : now + timers.t1,
                              timeoutAt: now + timers.t1 * 64, endAt: nil, ack: nil)
        return [send]
    }

    /// Hands the layer a message that arrived.
    public mutating func receive(_ message: SIPMessage, from source: SIPEndpoint, now: Instant) -> [TransactionEvent] {
        switch message {
        case .response(let r): return receiveResponse(r, from: source, now: now)
        case .request(let r): return receiveRequest(r, from: source, now: now)
        }
    }

    mutating func receiveResponse(_ r: SIPResponse, from source: SIPEndpoint, now: Instant) -> [TransactionEvent] {
        guard let key = TransactionKey.forResponse(r), var t = clients[key] else {
            return (200..<300).contains(r.status) ? [.strayResponse(r, from: source)] : []
        }
        var out: [TransactionEvent] = []
        let reliable = t.destination.transport.isReliable
        let invite = key.method == .invite
        switch (t.state, r.status) {
        case (.calling, 100..<200), (.trying, 100..<200), (.proceeding, 100..<200):
            t.state = .proceeding
            if invite { t.retransmitAt = nil } else if !reliable { t.retransmitInterval = timers.t2 }
            out.append(.response(r, key: key))
        case (.calling, 200..<300) where invite, (.proceeding, 200..<300) where invite:
            t.state = .accepted
            t.retransmitAt = nil
            t.timeoutAt = nil
            t.endAt = now + timers.t1 * 64           // Timer M
            out.append(.response(r, key: key))
        case (.accepted, 200..<300):
            out.append(.response(r, key: key))         // retransmitted or forked 2xx
        case (.calling, 300...), (.proceeding, 300...):
            if invite {
                let ack = TransactionLayer.ackForFailure(t.request, response: r)
                t.ack = ack
                out.append(.send(.request(ack), to: t.destination))
                t.endAt = now + (reliable ? Duration.zero : .seconds(32))    // Timer D
            } else {
                t.endAt = now + (reliable ? Duration.zero : timers.t4)  // Timer K
            }
            t.state = .completed
            t.retransmitAt = nil
            t.timeoutAt = nil
            out.append(.response(r, key: key))
        case (.trying, 200...), (.proceeding, 200...):
            t.state = .completed
            t.retransmitAt = nil
            t.timeoutAt = nil
            t.endAt = now + (reliable ? Duration.zero : timers.t4)      // Timer K
            out.append(.response(r, key: key))
        case (.completed, 300...) where invite:
            if let ack = t.ack { out.append(.send(.request(ack), to: t.destination)) }
        default:
            break
        }
        clients[key] = t
        out += collect(now: now)
        return out
    }

    mutating func receiveRequest(_ r: SIPRequest, from source: SIPEndpoint, now: Instant) -> [TransactionEvent] {
        var request = r
        TransactionLayer.stampVia(&request, source: source)
        let key = TransactionKey.forRequest(request, server: true)
        if var t = servers[key] {
            if request.method == .ack {
                if t.state == .completed {
                    t.state = .confirmed
                    t.retransmitAt = nil
                    t.timeoutAt = nil
                    t.endAt = now + (source.transport.isReliable ? Duration.zero : timers.t4)   // Timer I
                    servers[key] = t
                    return collect(now: now)
                }
                if t.state == .accepted {
                    // an ACK to our 2xx that reused the INVITE branch (RFC 2543 style)
                    t.retransmitAt = nil
                    servers[key] = t
                    return [.ackFor2xx(request, from: source)]
                }
                return []
            }
            // a retransmitted request: repeat the last response
            if let last = t.lastResponse { return [.send(.response(last), to: t.source)] }
            return []
        }
        if request.method == .ack {
            // ACK to a 2xx: stop retransmitting that 2xx
            for (k, var t) in servers where t.state == .accepted && k.method == .invite
                && t.request.headers.callID == request.headers.callID
                && t.request.headers.cseq?.sequence == request.headers.cseq?.sequence {
                t.retransmitAt = nil
                servers[k] = t
            }
            return [.ackFor2xx(request, from: source)]
        }
        guard servers.count < maximumServerTransactions else {
            // a flood of new requests (each would hold state until its timer ends):
            // answered 503 statelessly, nothing kept (RFC 3261 §21.5.4)
            var busy = SIPResponse(answering: request, status: 503)
            busy.headers.add("Retry-After", "5")
            return [.send(.response(busy), to: source)]
        }
        servers[key] = Server(request: request, source: source, state: request.method == .invite ? .proceeding : .trying,
                              lastResponse: nil, retransmitInterval: timers.t1, retransmitAt: nil, timeoutAt: nil, endAt: nil)
        return [.request(request, from: source, key: key)]
    }

    /// The server transaction a request belongs to (for CANCEL: the INVITE it cancels).
    public func serverKey(for request: SIPRequest, method: SIPMethod? = nil) -> TransactionKey? {
        var key = TransactionKey.forRequest(request, server: true)
        if let method { key.method = method }
        return servers[key] != nil ? key : nil
    }

    /// The request of a live server transaction.
    public func serverRequest(_ key: TransactionKey) -> SIPRequest? { servers[key]?.request }
    /// True while a server INVITE transaction has sent no final response.
    public func isPending(_ key: TransactionKey) -> Bool {
        guard let t = servers[key] else { return false }
        return t.state == .proceeding || t.state == .trying
    }

    /// Sends a response on a server transaction.
    public mutating func respond(_ response: SIPResponse, to key: TransactionKey, now: Instant) -> [TransactionEvent] {
        guard var t = servers[key] else { return [] }
        guard t.state == .proceeding || t.state == .trying else { return [] }
        let reliable = t.source.transport.isReliable
        var out: [TransactionEvent] = [.send(.response(response), to: t.source)]
        t.lastResponse = response
        switch response.status {
        case 100..<200:
            if t.state == .trying { t.state = .proceeding }
        case 200..<300 where key.method == .invite:
            // RFC 6026 Accepted: the UAS core retransmits the 2xx until the ACK (RFC 3261 §13.3.1.4)
            t.state = .accepted
            t.retransmitAt = reliable ? nil : now + timers.t1
            t.retransmitInterval = timers.t1
            t.timeoutAt = now + timers.t1 * 64     // Timer L / give up on the ACK
        default:
            t.state = .completed
            if key.method == .invite {
                t.retransmitAt = reliable ? nil : now + timers.t1   // Timer G
                t.retransmitInterval = timers.t1
                t.timeoutAt = now + timers.t1 * 64                  // Timer H
            } else {
                t.endAt = now + (reliable ? Duration.zero : timers.t1 * 64)     // Timer J
            }
        }
        servers[key] = t
        out += collect(now: now)
        return out
    }

    /// The earliest time a timer of any transaction fires.
    public var nextDeadline: Instant? {
        var d: Instant? = nil
        func take(_ x: Instant?) { if let x { d = d.map { Swift.min($0, x) } ?? x } }
        for t in clients.values { take(t.retransmitAt); take(t.timeoutAt); take(t.endAt) }
        for t in servers.values { take(t.retransmitAt); take(t.timeoutAt); take(t.endAt) }
        return d
    }

    /// Fires every timer due at `now`.
    public mutating func advance(to now: Instant) -> [TransactionEvent] {
        var out: [TransactionEvent] = []
        for (key, var t) in clients {
            if let at = t.retransmitAt, at <= now {
                out.append(.send(.request(t.request), to: t.destination))     // Timer A / E
                if key.method == .invite {
                    t.retransmitInterval *= 2
                } else {
                    t.retransmitInterval = Swift.min(t.retransmitInterval * 2, timers.t2)
                }
                t.retransmitAt = now + t.retransmitInterval
            }
            if let at = t.timeoutAt, at <= now {
                out.append(.timeout(key: key))                                 // Timer B / F
                t.state = .terminated
            }
            if let at = t.endAt, at <= now { t.state = .terminated }            // Timer D / K / M
            clients[key] = t
        }
        for (key, var t) in servers {
            if let at = t.retransmitAt, at <= now, let last = t.lastResponse {
                out.append(.send(.response(last), to: t.source))               // Timer G / 2xx
                t.retransmitInterval = Swift.min(t.retransmitInterval * 2, timers.t2)
                t.retransmitAt = now + t.retransmitInterval
            }
            if let at = t.timeoutAt, at <= now {
                if t.state == .completed { out.append(.timeout(key: key)) }    // Timer H: no ACK
                t.state = .terminated
            }
            if let at = t.endAt, at <= now { t.state = .terminated }            // Timer I / J
            servers[key] = t
        }
        out += collect(now: now)
        return out
    }

    mutating func collect(now: Instant) -> [TransactionEvent] {
        var out: [TransactionEvent] = []
        for (k, t) in clients where t.state == .terminated || (t.endAt.map { $0 <= now } ?? false) {
            clients[k] = nil
            out.append(.terminated(key: k))
        }
        for (k, t) in servers where t.state == .terminated || (t.endAt.map { $0 <= now } ?? false) {
            servers[k] = nil
            out.append(.terminated(key: k))
        }
        return out
    }

    /// ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same branch and Request-URI.
    static func ackForFailure(_ invite: SIPRequest, response: SIPResponse) -> SIPRequest {
        var h = SIPHeaders()
        if let via = invite.headers["Via"] { h.add("Via", via) }
        for r in invite.headers.values("Route") { h.add("Route", r) }
        if let f = invite.headers["From"] { h.add("From", f) }
        if let t = response.headers["To"] { h.add("To", t) }
        if let c = invite.headers["Call-ID"] { h.add("Call-ID", c) }
        h.add("CSeq", "\(invite.headers.cseq?.sequence ?? 0) ACK")
        h.add("Max-Forwards", "70")
        return SIPRequest(method: .ack, uri: invite.uri, headers: h)
    }

    /// RFC 3261 §18.2.1 and RFC 3581: note where the request really came from.
    static func stampVia(_ r: inout SIPRequest, source: SIPEndpoint) {
        guard let first = r.headers.values("Via").first, var via = try? SIPVia(parsing: first[...]) else { return }
        var changed = false
        if via.host.address.lowercased() != source.address.lowercased() {
            via.parameters["received"] = source.address
            changed = true
        }
        if via.parameters.contains("rport") {
            via.parameters["rport"] = String(source.port)
            if via.parameters["received"] == nil { via.parameters["received"] = source.address }
            changed = true
        }
        guard changed else { return }
        var fields = r.headers.fields
        if let i = fields.firstIndex(where: { $0.name == "Via" }) { fields[i].value = via.description }
        r.headers = SIPHeaders(fields)
    }
}
