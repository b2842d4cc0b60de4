/// Handle of one call: its Call-ID.
public typealias CallHandle = String

/// Why a call ended, as the CLI reports it.
public enum CallEndReason: Sendable, Hashable, CustomStringConvertible {
    case localHangup
    case remoteHangup
    /// The callee or a proxy refused the call with a final status.
    case rejected(status: Int, reason: String)
    /// The caller gave up before an answer (we sent or received CANCEL).
    case cancelled
    /// No final response, or no ACK for our 2xx.
    case timeout
    /// The offer or answer had nothing we could use.
    case mediaFailure(String)

    public var description: String {
        switch self {
        case .localHangup: return "local-hangup"
        case .remoteHangup: return "remote-hangup"
        case .rejected(let s, let r): return "rejected \(s) \(r)"
        case .cancelled: return "cancelled"
        case .timeout: return "timeout"
        case .mediaFailure(let why): return "media-failure: \(why)"
        }
    }
}

/// What the user agent reports to the application.
public enum UserAgentEvent: Sendable, Equatable {
    case registered(expires: Int)
    case registrationFailed(status: Int, reason: String)
    case unregistered
    /// An INVITE arrived; answer with `answer(_:sdp:now:)` or `reject(_:status:now:)`.
    case incomingCall(CallHandle, from: SIPAddress, offer: [UInt8])
    case ringing(CallHandle, status: Int)
    /// Our INVITE got a 2xx; `sdp` is the answer.
    case answered(CallHandle, sdp: [UInt8])
    /// The ACK for our 2xx arrived: media may flow both ways.
    case established(CallHandle)
    /// A re-INVITE in a call; reply with `answerReoffer(_:sdp:now:)`.
    case reoffer(CallHandle, sdp: [UInt8])
    case ended(CallHandle, CallEndReason)
    case messageReceived(from: SIPAddress, contentType: String, body: [UInt8])
    /// Final status of a MESSAGE or OPTIONS we sent (the id `sendMessage`/`sendOptions` returned).
    case requestCompleted(id: String, status: Int, reason: String, headers: SIPHeaders)
}

/// What the user agent asks its driver to do.
public enum UserAgentOutput: Sendable, Equatable {
    case send(SIPMessage, to: SIPEndpoint)
    case event(UserAgentEvent)
}
