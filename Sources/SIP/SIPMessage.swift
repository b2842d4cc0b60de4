/// A SIP request (RFC 3261 §7.1).
public struct SIPRequest: Sendable, Hashable {
    public var method: SIPMethod
    public var uri: SIPURI
    public var headers: SIPHeaders
    public var body: [UInt8]

    public init(method: SIPMethod, uri: SIPURI, headers: SIPHeaders = SIPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
    }
}

/// A SIP response (RFC 3261 §7.2).
public struct SIPResponse: Sendable, Hashable {
    public var status: Int
    public var reason: String
    public var headers: SIPHeaders
    public var body: [UInt8]

    public init(status: Int, reason: String? = nil, headers: SIPHeaders = SIPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.reason = reason ?? SIPResponse.defaultReason(status)
        self.headers = headers
        self.body = body
    }

    public static func defaultReason(_ status: Int) -> String {
        switch status {
        case 100: return "Trying"
        case 180: return "Ringing"
        case 183: return "Session Progress"
        case 200: return "OK"
        case 202: return "Accepted"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 407: return "Proxy Authentication Required"
        case 408: return "Request Timeout"
        case 415: return "Unsupported Media Type"
        case 416: return "Unsupported URI Scheme"
        case 420: return "Bad Extension"
        case 423: return "Interval Too Brief"
        case 480: return "Temporarily Unavailable"
        case 481: return "Call/Transaction Does Not Exist"
        case 482: return "Loop Detected"
        case 483: return "Too Many Hops"
        case 486: return "Busy Here"
        case 487: return "Request Terminated"
        case 488: return "Not Acceptable Here"
        case 491: return "Request Pending"
        case 500: return "Server Internal Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "Version Not Supported"
        case 603: return "Decline"
        default: return "Status \(status)"
        }
    }
}

/// What a message is once parsed.
public enum SIPMessage: Sendable, Hashable {
    case request(SIPRequest)
    case response(SIPResponse)

    public var headers: SIPHeaders {
        get { switch self { case .request(let r): return r.headers; case .response(let r): return r.headers } }
    }
    public var body: [UInt8] {
        switch self { case .request(let r): return r.body; case .response(let r): return r.body }
    }
}

/// Largest message we take (a UDP datagram cannot be bigger; TCP framing caps it too).
public let sipMaximumMessageSize = 65_535

extension SIPMessage {
    /// Parses one message: a whole UDP datagram, or one message cut out of a TCP stream by
    /// `SIPStreamFramer`.
    ///
    /// With `datagram: true` a missing Content-Length means "the rest of the datagram" (RFC 2543
    /// style); on a stream Content-Length is required and framing already applied it.
    /// Well-known headers (Via, From, To, Contact, CSeq, Call-ID, Max-Forwards,
    /// Content-Length, Route, Record-Route, Date) are checked here, so a message that
    /// parses can be used without further syntax errors.
    public init(parsing bytes: some Collection<UInt8>, datagram: Bool = true) throws(SIPParseError) {
        let raw = SIPMessage.RawMessage.self
        let r = try raw.init(bytes: Array(bytes))
        try self.init(raw: r, datagram: datagram)
    }

    init(raw r: RawMessage, datagram: Bool) throws(SIPParseError) {
        var headers = r.headers
        // Content-Length and the body; the length is not kept, `write(to:)` derives it from the body.
        var body = r.body
        let lengths = headers.values("Content-Length")
        // RFC 4475 §3.3.9 (mcl01): more than one Content-Length leaves the body length unknown
        if Set(lengths).count > 1 {
            throw SIPParseError(.badContentLength, "\(lengths.count) Content-Length values (\(lengths.prefix(4).joined(separator: ", ")))")
        }
        if let cl = lengths.first {
            guard !cl.isEmpty, cl.count <= 9, cl.utf8.allSatisfy(Grammar.isDigit), let n = Int(cl) else {
                throw SIPParseError(.badContentLength, "Content-Length '\(cl)' is not a non-negative number")
            }
            guard n <= body.count else {
                throw SIPParseError(.bodyTooShort, "Content-Length says \(n) octets but only \(body.count) arrived")
            }
            if n < body.count { body = Array(body[0..<n]) }
        } else if !datagram {
            body = []
        }
        headers.remove("Content-Length")
        // Typed headers that must be well formed, in one pass over the fields.
        var cseqs: [SIPCSeq] = []
        for field in headers.fields {
            let v = field.value
            switch field.name {
            case "Via": _ = try SIPVia(parsing: v[...])
            case "From", "To", "Reply-To": _ = try SIPAddress(parsing: v[...])
            case "Route", "Record-Route":
                let a = try SIPAddress(parsing: v[...])
                guard v.utf8.contains(60) else { throw SIPParseError(.badAddress, "\(field.name) value '\(a.uri)' must be inside <>") }
            case "Contact" where v != "*": _ = try SIPAddress(parsing: v[...])
            case "CSeq": cseqs.append(try SIPCSeq(parsing: v[...]))
            case "Call-ID":
                guard !v.isEmpty, v.utf8.allSatisfy({ Grammar.isWordChar($0) || $0 == 64 }) else {
                    throw SIPParseError(.badCallID, "Call-ID '\(v)' is not a word[@word]")
                }
            case "Max-Forwards":
                guard !v.isEmpty, v.utf8.count <= 9, v.utf8.allSatisfy(Grammar.isDigit) else {
                    throw SIPParseError(.badMaxForwards, "Max-Forwards '\(v)' is not a number")
                }
            case "Date":
                guard v.hasSuffix(" GMT") else { throw SIPParseError(.badDate, "Date '\(v)' is not in GMT (RFC 3261 §20.17)") }
            default: break
            }
        }
        switch r.startLine {
        case .request(let method, let uri):
            if let c = cseqs.first, c.method != method {
                throw SIPParseError(.cseqMethodMismatch, "CSeq method \(c.method) differs from request method \(method)")
            }
            self = .request(SIPRequest(method: method, uri: uri, headers: headers, body: body))
        case .response(let status, let reason):
            self = .response(SIPResponse(status: status, reason: reason, headers: headers, body: body))
        }
    }

    /// The octets of this message. Content-Length is always written from the body.
    public func write(to out: inout [UInt8]) {
        switch self {
        case .request(let r): r.write(to: &out)
        case .response(let r): r.write(to: &out)
        }
    }

    public var bytes: [UInt8] { var o: [UInt8] = []; write(to: &o); return o }
}

func writeHeadersAndBody(_ headers: SIPHeaders, _ body: [UInt8], to out: inout [UInt8]) {
    for h in headers where h.name != "Content-Length" {
        out.append(contentsOf: h.name.utf8)
        out.append(contentsOf: ": ".utf8)
        out.append(contentsOf: h.value.utf8)
        out.append(13); out.append(10)
    }
    out.append(contentsOf: "Content-Length: \(body.count)\r\n\r\n".utf8)
    out.append(contentsOf: body)
}

extension SIPRequest {
    public func write(to out: inout [UInt8]) {
        out.append(contentsOf: "\(method) \(uri) SIP/2.0\r\n".utf8)
        writeHeadersAndBody(headers, body, to: &out)
    }
    public var bytes: [UInt8] { var o: [UInt8] = []; write(to: &o); return o }

    public init(parsing bytes: some Collection<UInt8>, datagram: Bool = true) throws(SIPParseError) {
        guard case .request(let r) = try SIPMessage(parsing: bytes, datagram: datagram) else {
            throw SIPParseError(.badStartLine, "expected a request, got a response")
        }
        self = r
    }
}

extension SIPResponse {
    public func write(to out: inout [UInt8]) {
        out.append(contentsOf: "SIP/2.0 \(status) \(reason)\r\n".utf8)
        writeHeadersAndBody(headers, body, to: &out)
    }
    public var bytes: [UInt8] { var o: [UInt8] = []; write(to: &o); return o }

    public init(parsing bytes: some Collection<UInt8>, datagram: Bool = true) throws(SIPParseError) {
        guard case .response(let r) = try SIPMessage(parsing: bytes, datagram: datagram) else {
            throw SIPParseError(.badStartLine, "expected a response, got a request")
        }
        self = r
    }
}
