/// What a user agent server supports, for the checks of RFC 3261 §8.2.
public struct UASCapabilities: Sendable {
    public var methods: Set<SIPMethod>
    /// Option tags this element understands in Require.
    public var extensions: Set<String>
    /// Body types it can read.
    public var acceptedContentTypes: [String]
    /// A registrar refuses REGISTERs whose To is not a SIP or SIPS address of record.
    public var isRegistrar: Bool

    public init(methods: Set<SIPMethod> = [.invite, .ack, .bye, .cancel, .options, .message],
                extensions: Set<String> = [],
                acceptedContentTypes: [String] = ["application/sdp", "text/plain"],
                isRegistrar: Bool = false) {
        self.methods = methods
        self.extensions = extensions
        self.acceptedContentTypes = acceptedContentTypes
        self.isRegistrar = isRegistrar
    }

    /// Methods RFC 3261 and its extensions define; others are answered 501, these 405.
    static let knownMethods: Set<SIPMethod> = [.invite, .ack, .bye, .cancel, .options, .register, .message,
                                               .info, .update, .prack, .subscribe, .notify, .refer, "PUBLISH"]

    /// The error response a UAS sends before any method-specific processing, or nil
    /// when the request may go on (RFC 3261 §8.2.1–§8.2.3, RFC 4475 §3.3).
    public func rejection(of request: SIPRequest, toTag: String? = nil) -> SIPResponse? {
        let h = request.headers
        func answer(_ status: Int, _ why: String? = nil) -> SIPResponse {
            var r = SIPResponse(answering: request, status: status, toTag: toTag)
            if let why { r.headers.add("Warning", "399 - \(Grammar.quoted(why))") }
            return r
        }
        for name in ["To", "From", "Call-ID", "CSeq"] {
            let n = h.count(name)
            if n == 0 { return answer(400, "missing \(name)") }
            if n > 1 { return answer(400, "\(name) appears \(n) times") }
        }
        if h.count("Max-Forwards") > 1 { return answer(400, "Max-Forwards appears more than once") }
        guard let via = h.topVia else { return answer(400, "missing Via") }
        if let b = via.branch, b == "z9hG4bK" { return answer(400, "Via branch is only the magic cookie") }
        if let mf = h.maxForwards, mf == 0, request.method != .options, request.method != .ack {
            return answer(483)
        }
        guard request.uri.isSIP else {
            return answer(416, "scheme '\(request.uri.scheme)' not supported")
        }
        if isRegistrar, request.method == .register, let to = h.to, !to.uri.isSIP {
            return answer(400, "the To of a REGISTER must be a sip or sips address of record")
        }
        let unknown = h.optionTags("Require").filter { !extensions.contains($0) }
        if !unknown.isEmpty, request.method != .ack, request.method != .cancel {
            var r = answer(420)
            for tag in unknown { r.headers.add("Unsupported", tag) }
            return r
        }
        if !methods.contains(request.method) {
            if SIPRequest.isKnown(request.method) {
                var r = answer(405)
                r.headers.add("Allow", methods.map(\.rawValue).sorted().joined(separator: ", "))
                return r
            }
            return answer(501)
        }
        if !request.body.isEmpty, let type = h.contentType, !acceptedContentTypes.contains(type) {
            var r = answer(415)
            r.headers.add("Accept", acceptedContentTypes.joined(separator: ", "))
            return r
        }
        let accepts = h.values("Accept").map { String($0.split(separator: ";").first ?? "").trimmingSpaces().lowercased() }
        if request.method == .invite || request.method == .options, !accepts.isEmpty,
           !accepts.contains(where: { $0 == "application/sdp" || $0 == "*/*" || $0 == "application/*" }) {
            return answer(406, "we can only answer with application/sdp")
        }
        return nil
    }
}

extension SIPRequest {
    static func isKnown(_ m: SIPMethod) -> Bool { UASCapabilities.knownMethods.contains(m) }
}
