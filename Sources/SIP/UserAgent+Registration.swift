import Timekeeping

/// Registration (RFC 3261 §10): REGISTER, its refresh before the binding expires, and
/// removal with expires 0.
extension UserAgent {
    /// Sends REGISTER (expires 0 removes the binding).
    public mutating func register(now: Instant, expires: Int? = nil) -> [UserAgentOutput] {
        let exp = expires ?? configuration.registrationExpires
        let uri = registrarURI
        let dest = destination(for: uri)
        registrationSequence += 1
        var r = newRequest(.register, to: uri, toAddress: addressOfRecord, callID: registrationCallID, sequence: registrationSequence, transport: dest.transport)
        r.headers.add("Contact", contact(dest.transport).description)
        r.headers.add("Expires", String(exp))
        r.headers.add("Allow", allowHeader)
        refreshAt = nil
        return send(r, to: dest, purpose: .register(expires: exp), now: now)
    }

    /// Registers again when the refresh time has come.
    mutating func refreshRegistrationIfDue(now: Instant) -> [UserAgentOutput] {
        guard let r = refreshAt, r <= now else { return [] }
        refreshAt = nil
        return register(now: now)
    }

    mutating func registrationResponse(_ r: SIPResponse, expires: Int, now: Instant) -> [UserAgentOutput] {
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
            refreshAt = now + Swift.max(.seconds(1), .milliseconds(granted * 800))   // 80 % of it, at least 1 s
            return [.event(.registered(expires: granted))]
        }
        if r.status == 423, let min = r.headers["Min-Expires"].flatMap({ Int($0) }), min > expires, min <= UserAgent.maximumExpires {
            configuration.registrationExpires = min
            return register(now: now, expires: min)
        }
        isRegistered = false
        return [.event(.registrationFailed(status: r.status, reason: r.reason))]
    }

    mutating func registrationTimedOut() -> [UserAgentOutput] {
        isRegistered = false
        return [.event(.registrationFailed(status: 408, reason: "Request Timeout"))]
    }
}
