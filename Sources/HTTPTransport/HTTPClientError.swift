#if canImport(Glibc)
import Glibc
#endif

/// Every way an exchange of `HTTPClient` can fail.
public enum HTTPClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What the client was doing.
    public enum Phase: String, Sendable {
        case connect = "connecting"
        case send = "sending the request"
        case receive = "waiting for the answer"
    }

    /// An `https://` server URL: the agent has no TLS (see docs/agent.md, "TLS").
    case tlsNotSupported(url: String)
    /// A scheme other than http.
    case unsupportedScheme(url: String, scheme: String)
    /// A URL the client cannot use, and why.
    case badURL(url: String, reason: String)
    /// A request header value holding CR, LF or NUL (it would split the request).
    case invalidFieldValue(name: String)
    /// getaddrinfo failed (its code and message).
    case resolution(host: String, code: Int32, message: String)
    /// No address of the host accepted the connection; `errno` of the last attempt.
    case connectFailed(host: String, port: UInt16, errno: Int32)
    /// Nothing happened for `seconds` (or the whole exchange took longer than allowed).
    case timedOut(phase: Phase, seconds: Double)
    /// A socket call failed with `errno`.
    case socket(phase: Phase, errno: Int32)
    /// The server's answer is not a well-formed HTTP/1.1 response.
    case badResponse(HTTPResponseParseError)
    /// The task that asked for the exchange was cancelled (the agent is stopping).
    case cancelled

    public var description: String {
        switch self {
        case .tlsNotSupported(let url):
            "\(url): https:// is not supported: monnemo-agent speaks plain HTTP only (no TLS, to stay small). "
                + "Either run a TLS-terminating proxy on the vehicle (for example stunnel or nginx listening on "
                + "127.0.0.1 and forwarding to the server over https) and point --server at it with http://, or use "
                + "http:// over the vehicle network or a VPN (see docs/agent.md, \"TLS\")"
        case .unsupportedScheme(let url, let scheme): "\(url): unsupported scheme \(scheme)://; use http://HOST[:PORT]"
        case .badURL(let url, let reason): "\(url): \(reason)"
        case .invalidFieldValue(let name): "the \(name) header value holds a line break or NUL"
        case .resolution(let host, _, let message): "cannot resolve \(host): \(message)"
        case .connectFailed(let host, let port, let code): "cannot connect to \(host) port \(port): \(Self.text(errno: code))"
        case .timedOut(let phase, let seconds): "no progress in \(Self.seconds(seconds)) s while \(phase.rawValue)"
        case .socket(let phase, let code): "connection error while \(phase.rawValue): \(Self.text(errno: code))"
        case .badResponse(let error): "bad answer: \(error)"
        case .cancelled: "cancelled (the agent is stopping)"
        }
    }

    static func text(errno code: Int32) -> String {
        guard let s = strerror(code) else { return "errno \(code)" }
        return String(cString: s).lowercased()
    }

    static func seconds(_ s: Double) -> String {
        guard s.isFinite, s >= 0, s < 1e9 else { return "\(s)" }
        return s == s.rounded() ? String(Int(s)) : String(s)
    }
}
