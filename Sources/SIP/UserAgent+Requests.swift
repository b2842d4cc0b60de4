import Timekeeping

/// Standalone requests outside any call: MESSAGE (RFC 3428) and OPTIONS (RFC 3261 §11),
/// sent and answered.
extension UserAgent {
    /// Sends a MESSAGE (RFC 3428); the returned id comes back in `.requestCompleted`.
    public mutating func sendMessage(to uri: SIPURI, text: String, contentType: String = "text/plain", now: Instant) -> (String, [UserAgentOutput]) {
        sendStandalone(.message, to: uri, now: now) { r in
            r.headers.add("Content-Type", contentType)
            r.body = Array(text.utf8)
        }
    }

    /// Sends OPTIONS (a capability query or keep-alive).
    public mutating func sendOptions(to uri: SIPURI, now: Instant) -> (String, [UserAgentOutput]) {
        sendStandalone(.options, to: uri, now: now) { r in r.headers.add("Accept", "application/sdp") }
    }

    /// Sends a request in a Call-ID of its own; its id (the Call-ID) comes back in `.requestCompleted`.
    mutating func sendStandalone(_ method: SIPMethod, to uri: SIPURI, now: Instant, finish: (inout SIPRequest) -> Void) -> (String, [UserAgentOutput]) {
        let dest = destination(for: uri)
        var r = newRequest(method, to: uri, callID: newCallID(), sequence: 1, transport: dest.transport)
        finish(&r)
        let id = r.headers.callID ?? ""
        return (id, send(r, to: dest, purpose: .standalone(id: id), now: now))
    }

    func standaloneResponse(_ r: SIPResponse, id: String) -> [UserAgentOutput] {
        guard r.status >= 200 else { return [] }
        return [.event(.requestCompleted(id: id, status: r.status, reason: r.reason, headers: r.headers))]
    }

    func standaloneTimedOut(id: String) -> [UserAgentOutput] {
        [.event(.requestCompleted(id: id, status: 408, reason: "Request Timeout", headers: SIPHeaders()))]
    }

    mutating func incomingOptions(_ r: SIPRequest, key: TransactionKey, toTag: String, now: Instant) -> [UserAgentOutput] {
        var ok = SIPResponse(answering: r, status: 200, toTag: toTag)
        ok.headers.add("Allow", allowHeader)
        ok.headers.add("Accept", configuration.capabilities.acceptedContentTypes.joined(separator: ", "))
        ok.headers.add("Server", configuration.userAgentName)
        return respond(key, ok, now: now)
    }

    mutating func incomingMessage(_ r: SIPRequest, key: TransactionKey, toTag: String, now: Instant) -> [UserAgentOutput] {
        let out = respond(key, SIPResponse(answering: r, status: 200, toTag: toTag), now: now)
        return out + [.event(.messageReceived(from: r.headers.from ?? SIPAddress(uri: r.uri),
                                              contentType: r.headers.contentType ?? "text/plain", body: r.body))]
    }
}
