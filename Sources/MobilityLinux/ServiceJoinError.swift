import HTTPTransport
#if canImport(Glibc)
import Glibc
#endif

/// Every way `nemo mr --join` / `nemo join` can fail, each saying what to do about it.
public enum ServiceJoinError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `--token` is not `ID.SECRET` (16 and 32 hex digits).
    case badToken
    /// An `https://` service URL: nemo has no TLS of its own.
    case tlsNotBuiltIn(url: String)
    /// A service URL the client cannot use, and why.
    case badURL(url: String, reason: String)
    /// The service could not be reached (resolution, connection, timeout, a broken answer).
    case unreachable(url: String, HTTPClientError)
    /// 403: the token is unknown, already used or expired, or its proof failed.
    case refused(tokenID: String, detail: String?)
    /// 400: the service could not read the request (a nemo and service of different versions).
    case badRequest(url: String, detail: String?)
    /// 429 or 503: the service is busy or down for a moment (`retryAfter`: its Retry-After field).
    case busy(url: String, status: Int, retryAfter: String?)
    /// Any other status.
    case unexpectedStatus(url: String, status: Int, detail: String?)
    /// A 200 whose body is not `{"sealed": HEX}` (`field` names what is wrong).
    case malformedAnswer(url: String, field: String)
    /// The sealed answer did not open with the token.
    case sealBroken
    /// The answer opened but is not a mobile router configuration (`reason` from the decoder).
    case notAConfiguration(reason: String)
    /// The existing `--config` file could not be read or is not JSON with the keys' types.
    case unreadableLocalFile(path: String, reason: String)
    /// Writing the configuration failed at `step` (mkdir, create, write, sync, rename) with `errno`.
    case writeFailed(path: String, step: String, errno: Int32)

    public var description: String {
        switch self {
        case .badToken:
            "--token: not a join token; it is ID.SECRET, 16 and 32 hex digits, as the service's page shows it"
        case .tlsNotBuiltIn(let url):
            "\(url): https:// is not supported: nemo has no TLS built in. The join is sealed anyway (the token's "
                + "secret never travels, the answer is encrypted and authenticated with it), so http:// is fine: use "
                + "http://\(url.drop { $0 != ":" }.dropFirst(3))"
        case .badURL(let url, let reason): "--join \(url): \(reason)"
        case .unreachable(let url, let error):
            "cannot reach the Home Agent service at \(url): \(error)"
                + (error.isConnectFailure ? " (is the service running there, and is this its URL?)" : "")
        case .refused(let id, let detail):
            "the service refused token \(id) (unknown, used or expired): ask for a new one on the service's page (Re-key)"
                + Self.suffix(detail)
        case .badRequest(let url, let detail):
            "\(url) could not read the join request (HTTP 400): is this a Nautilus Home Agent service of the same version?"
                + Self.suffix(detail)
        case .busy(let url, let status, let retryAfter):
            "\(url) is busy (HTTP \(status)): try again " + (retryAfter.map { "in \($0) s" } ?? "in a minute")
        case .unexpectedStatus(let url, let status, let detail):
            "\(url) answered HTTP \(status) to the join: is this the Home Agent service's URL?" + Self.suffix(detail)
        case .malformedAnswer(let url, let field):
            "\(url) answered the join without a sealed configuration (\(field)): is this the Home Agent service's URL?"
        case .sealBroken:
            "the answer did not open with this token: wrong token, or not the service you meant"
        case .notAConfiguration(let reason):
            "the service's answer opened but is not a mobile router configuration: \(reason)"
        case .unreadableLocalFile(let path, let reason):
            "\(path): \(reason) (the join keeps this file's uplinks, ingress and other vehicle keys; fix or move it)"
        case .writeFailed(let path, let step, let code):
            "cannot write \(path) (\(step)): \(strerror(code).map { String(cString: $0) } ?? "errno \(code)")"
        }
    }
}

extension HTTPClientError {
    /// No connection was made (nothing listening, no route, no such host).
    var isConnectFailure: Bool {
        switch self {
        case .connectFailed, .resolution: true
        default: false
        }
    }
}

extension ServiceJoinError {
    private static func suffix(_ detail: String?) -> String {
        guard let detail, !detail.isEmpty else { return "" }
        return " (the service says: \(detail))"
    }
}
