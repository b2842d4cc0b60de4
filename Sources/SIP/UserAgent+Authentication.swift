/// Answering 401/407 digest challenges (RFC 3261 §22), for every request the user agent
/// sends: one retry path whatever the request is for.
extension UserAgent {
    /// Whether credentials may answer `challenge` for a request sent to `destination`
    /// (see `UserAgentConfiguration.authRealm`).
    func mayAnswer(_ challenge: DigestChallenge, sentTo dest: SIPEndpoint) -> Bool {
        if let realm = configuration.authRealm { return challenge.realm == realm }
        func same(_ a: SIPEndpoint, _ b: SIPEndpoint) -> Bool {
            a.address.lowercased() == b.address.lowercased() && a.port == b.port
        }
        if let proxy = configuration.outboundProxy, same(proxy, dest) { return true }
        let registrar = destination(for: registrarURI, outOfDialog: false)
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
        }
        req.headers = SIPHeaders(fields)
        for ch in challenges { req.headers.add(answerHeader, digest.authorization(for: ch, method: req.method, uri: req.uri)) }
        self.digest = digest
        return req
    }

    /// `retry` replaced the request sent for `purpose`: the part that sent it follows the new
    /// CSeq and transaction.
    mutating func retried(_ purpose: Purpose, as retry: SIPRequest) {
        switch purpose {
        case .register:
            if let seq = retry.headers.cseq { registrationSequence = seq.sequence }
        case .invite(let handle):
            guard var c = calls[handle] else { return }
            c.invite = retry
            c.inviteKey = TransactionKey.forRequest(retry, server: false)
            calls[handle] = c
        case .inDialog, .cancel, .standalone:
            break
        }
    }
}
