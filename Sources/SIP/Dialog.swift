/// A SIP dialog (RFC 3261 §12): the peer-to-peer relationship an INVITE sets up.
public struct SIPDialog: Sendable, Hashable {
    public var callID: String
    public var localTag: String
    public var remoteTag: String
    public var localSequence: UInt32
    public var remoteSequence: UInt32?
    public var localAddress: SIPAddress
    public var remoteAddress: SIPAddress
    /// Where in-dialog requests go: the peer's Contact.
    public var remoteTarget: SIPURI
    /// Route set, first hop first.
    public var routeSet: [SIPAddress]

    /// The dialog a UAC gets from a 2xx (or 1xx with a To tag) to its INVITE (§12.1.2).
    public init?(uacRequest request: SIPRequest, response: SIPResponse) {
        guard let callID = request.headers.callID, let from = request.headers.from, let fromTag = from.tag,
              let to = response.headers.to, let toTag = to.tag, let cseq = request.headers.cseq else { return nil }
        self.callID = callID
        localTag = fromTag
        remoteTag = toTag
        localSequence = cseq.sequence
        remoteSequence = nil
        localAddress = from
        remoteAddress = to
        remoteTarget = response.headers.contacts.first?.uri ?? request.uri
        routeSet = response.headers.recordRoutes.reversed()
    }

    /// The dialog a UAS gets when it answers an INVITE with `localTag` (§12.1.1).
    public init?(uasRequest request: SIPRequest, localTag: String) {
        guard let callID = request.headers.callID, let from = request.headers.from, let fromTag = from.tag,
              var to = request.headers.to, let cseq = request.headers.cseq else { return nil }
        self.callID = callID
        self.localTag = localTag
        remoteTag = fromTag
        localSequence = UInt32.random(in: 1...0x7FFF_FFFF)
        remoteSequence = cseq.sequence
        to.tag = localTag
        localAddress = to
        remoteAddress = from
        remoteTarget = request.headers.contacts.first?.uri ?? from.uri
        routeSet = request.headers.recordRoutes
    }

    /// True when a request from the peer belongs to this dialog.
    public func contains(_ request: SIPRequest) -> Bool {
        request.headers.callID == callID && request.headers.from?.tag == remoteTag && request.headers.to?.tag == localTag
    }

    /// Builds the next in-dialog request (§12.2.1.1) and the URI of its first hop.
    /// Loose routing puts the route set in Route headers; a strict router (no `lr`) gets the
    /// Request-URI and the remote target goes last in the route set.
    public mutating func makeRequest(_ method: SIPMethod, via: SIPVia, contact: SIPAddress?, sequence: UInt32? = nil) -> (SIPRequest, nextHop: SIPURI) {
        let seq: UInt32
        if let sequence { seq = sequence } else { localSequence &+= 1; seq = localSequence }
        var h = SIPHeaders()
        h.add("Via", via.description)
        var uri = remoteTarget
        var nextHop = remoteTarget
        if let first = routeSet.first {
            nextHop = first.uri
            if first.uri.isLooseRouter {
                for r in routeSet { h.add("Route", "<\(r.uri)>") }
            } else {
                uri = first.uri
                for r in routeSet.dropFirst() { h.add("Route", "<\(r.uri)>") }
                h.add("Route", "<\(remoteTarget)>")
            }
        }
        h.add("Max-Forwards", "70")
        h.add("From", localAddress.description)
        h.add("To", remoteAddress.description)
        h.add("Call-ID", callID)
        h.add("CSeq", "\(seq) \(method)")
        if let contact, method == .invite || method == .update { h.add("Contact", contact.description) }
        return (SIPRequest(method: method, uri: uri, headers: h), nextHop)
    }
}
