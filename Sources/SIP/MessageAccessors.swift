extension SIPHeaders {
    /// All Via values, top first.
    public var vias: [SIPVia] { values("Via").compactMap { try? SIPVia(parsing: $0[...]) } }
    public var topVia: SIPVia? { self["Via"].flatMap { try? SIPVia(parsing: $0[...]) } }
    public var from: SIPAddress? { self["From"].flatMap { try? SIPAddress(parsing: $0[...]) } }
    public var to: SIPAddress? { self["To"].flatMap { try? SIPAddress(parsing: $0[...]) } }
    public var callID: String? { self["Call-ID"] }
    public var cseq: SIPCSeq? { self["CSeq"].flatMap { try? SIPCSeq(parsing: $0[...]) } }
    public var contacts: [SIPAddress] { values("Contact").filter { $0 != "*" }.compactMap { try? SIPAddress(parsing: $0[...]) } }
    public var recordRoutes: [SIPAddress] { values("Record-Route").compactMap { try? SIPAddress(parsing: $0[...]) } }
    public var routes: [SIPAddress] { values("Route").compactMap { try? SIPAddress(parsing: $0[...]) } }
    /// Max-Forwards as a number (leading zeros allowed; values above 255 are clamped).
    public var maxForwards: Int? { self["Max-Forwards"].flatMap { Int($0.suffix(9)) }.map { Swift.min($0, 255) } }
    /// Content-Type without parameters, lower-cased.
    public var contentType: String? {
        self["Content-Type"].map { String($0.split(separator: ";").first ?? "").trimmingSpaces().lowercased() }
    }
    public var expires: Int? { self["Expires"].flatMap { Int($0) } }

    /// Option tags listed in a header such as Require, Supported or Proxy-Require.
    public func optionTags(_ name: String) -> [String] { values(name).map { $0.trimmingSpaces() } }
}

extension String {
    func trimmingSpaces() -> String { String(Grammar.trimmed(self[...])) }
}

extension SIPResponse {
    /// A response to `request` (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied,
    /// plus a To tag when given and the To has none.
    public init(answering request: SIPRequest, status: Int, reason: String? = nil, toTag: String? = nil) {
        var h = SIPHeaders()
        for v in request.headers.values("Via") { h.add("Via", v) }
        if let f = request.headers["From"] { h.add("From", f) }
        if let t = request.headers["To"] {
            if let toTag, status > 100, var to = try? SIPAddress(parsing: t[...]), to.tag == nil {
                to.tag = toTag
                h.add("To", to.description)
            } else {
                h.add("To", t)
            }
        }
        if let c = request.headers["Call-ID"] { h.add("Call-ID", c) }
        if let c = request.headers["CSeq"] { h.add("CSeq", c) }
        self.init(status: status, reason: reason, headers: h)
    }
}

extension SIPRequest {
    /// The transaction key of RFC 3261 §17.2.3: top Via branch and method (ACK matches INVITE).
    public var branch: String? { headers.topVia?.branch }
}
