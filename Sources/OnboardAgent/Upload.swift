import FoundationEssentials
import HTTPTransport
import Telemetry

/// Sends the two kinds of upload; the uploader does not care how.
public protocol UploadTransport: Sendable {
    func postTelemetry(_ body: Data) async throws -> UploadResponse
    func postPicture(_ picture: OutboxPicture) async throws -> UploadResponse
}

/// The transport over the agent's own HTTP/1.1 client (`HTTPClient`, plain HTTP: no TLS).
public final class HTTPUploadTransport: UploadTransport {
    let client: HTTPClient
    let token: String

    let timeout: TimeInterval
    let minimumBytesPerSecond: Double

    /// `timeout`: longest wait for a connection and for the answer to a small request; a slow
    /// server counts as a failure and is retried. (The wait for the answer gets the whole upload's
    /// time: a body that fits the socket buffers leaves while the server is still reading it.) A body of N bytes gets
    /// `timeout + N / minimumBytesPerSecond` in all, so a large picture on a slow link is not cut
    /// off (and retried forever) at a fixed timeout. Throws for a URL the client cannot use
    /// (`https://` among them: `HTTPClientError.tlsNotSupported`).
    public init(server: URL, token: String, timeout: TimeInterval = 15, minimumBytesPerSecond: Double = 8 * 1024) throws(HTTPClientError) {
        client = HTTPClient(endpoint: try HTTPEndpoint(url: server.absoluteString))
        self.token = token
        self.timeout = timeout
        self.minimumBytesPerSecond = minimumBytesPerSecond
    }

    public func postTelemetry(_ body: Data) async throws -> UploadResponse {
        try await send("/api/v1/telemetry", contentType: "application/json", body: [UInt8](body))
    }

    public func postPicture(_ picture: OutboxPicture) async throws -> UploadResponse {
        var query = "seq=\(picture.seq)&time=\(Self.percentEncoded(picture.time.rfc3339))"
        if let lat = picture.lat, let lon = picture.lon {
            query += "&lat=\(Self.percentEncoded(JSONNumber(lat)))&lon=\(Self.percentEncoded(JSONNumber(lon)))"
        }
        return try await send("/api/v1/pictures?" + query, contentType: "image/jpeg", body: picture.jpeg)
    }

    /// The whole time allowed for an upload of `bytes`: finite, whole (rounded up), at most a day.
    public static func timeout(forBytes bytes: Int, base: TimeInterval, minimumBytesPerSecond: Double) -> TimeInterval {
        let b = base.isFinite ? min(max(base, 1), 86_400) : 15
        guard minimumBytesPerSecond.isFinite, minimumBytesPerSecond > 0 else { return b.rounded(.up) }
        return min(b + Double(max(0, bytes)) / minimumBytesPerSecond, 86_400).rounded(.up)
    }

    /// A query value with everything but RFC 3986 unreserved characters percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }

    private func send(_ target: String, contentType: String, body: [UInt8]) async throws(HTTPClientError) -> UploadResponse {
        let total = Self.timeout(forBytes: body.count, base: timeout, minimumBytesPerSecond: minimumBytesPerSecond)
        let base = timeout.isFinite ? min(max(timeout, 1), 86_400) : 15
        let fields = [HTTPResponse.Field(name: "Content-Type", value: contentType),
                      HTTPResponse.Field(name: "Authorization", value: "Bearer \(token)"),
                      HTTPResponse.Field(name: "User-Agent", value: "monnemo-agent")]
        let response = try await client.send(method: "POST", target: target, fields: fields, body: body,
                                             timeouts: HTTPTimeouts(connect: base, idle: total, total: total))
        return UploadResponse(status: response.status, body: response.body)
    }
}
