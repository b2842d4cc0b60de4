/// How the local user agent is reached and who it is.
public struct UserAgentConfiguration: Sendable {
    /// User part of our address of record and Contact.
    public var user: String
    public var displayName: String?
    /// Domain of the address of record (the registrar's host when registering).
    public var domain: String
    /// Where we listen: the address and port written into Contact and Via.
    public var contactHost: SIPHost
    public var contactPort: Int
    /// Transport for requests whose URI does not say `transport=`.
    public var defaultTransport: SIPTransportKind
    public var password: String?
    /// Digest user name when it differs from `user`.
    public var authUser: String?
    /// Registrar URI; nil means `sip:domain`.
    public var registrar: SIPURI?
    /// Every out-of-dialog request goes here when set.
    public var outboundProxy: SIPEndpoint?
    public var registrationExpires: Int
    /// The digest realm credentials may be given to. When nil, credentials go only in
    /// requests sent to the registrar or the outbound proxy; when set, only in answer to
    /// challenges for this realm. A callee anywhere else that challenges us gets nothing
    /// (no digest response to crack offline).
    public var authRealm: String?
    /// Most calls at once; a further INVITE is answered 486 Busy Here.
    public var maximumCalls: Int
    public var capabilities: UASCapabilities
    public var userAgentName: String
    public var timers: SIPTimerValues

    public init(user: String, domain: String, contactHost: SIPHost, contactPort: Int,
                defaultTransport: SIPTransportKind = .udp, password: String? = nil) {
        self.user = user
        self.displayName = nil
        self.domain = domain
        self.contactHost = contactHost
        self.contactPort = contactPort
        self.defaultTransport = defaultTransport
        self.password = password
        self.authUser = nil
        self.registrar = nil
        self.outboundProxy = nil
        self.registrationExpires = 3600
        self.authRealm = nil
        self.maximumCalls = 8
        self.capabilities = UASCapabilities()
        self.userAgentName = "Nautilus softphone"
        self.timers = SIPTimerValues()
    }
}
