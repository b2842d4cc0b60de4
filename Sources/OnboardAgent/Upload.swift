import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Telemetry

/// Sends the two kinds of upload; the uploader does not care how.
public protocol UploadTransport: Sendable {
    func postTelemetry(_ body: Data) async throws -> UploadResponse
    func postPicture(_ picture: OutboxPicture) async throws -> UploadResponse
}

/// The transport over URLSession (FoundationNetworking on Linux).
public final class HTTPUploadTransport: UploadTransport {
    let server: URL
    let token: String
    let session: URLSession

    let timeout: TimeInterval
    let minimumBytesPerSecond: Double

    /// `timeout`: longest wait for an answer to a small request; a slow server counts as a failure
    /// and is retried. A body of N bytes gets `timeout + N / minimumBytesPerSecond` in all, so a
    /// large picture on a slow link is not cut off (and retried forever) at a fixed timeout.
    public init(server: URL, token: String, timeout: TimeInterval = 15, minimumBytesPerSecond: Double = 8 * 1024) {
        self.server = server
        self.token = token
        self.timeout = timeout
        self.minimumBytesPerSecond = minimumBytesPerSecond
        let configuration = URLSessionConfiguration.ephemeral
        // Per request: `request.timeoutInterval` is set from the body's size in `send`.
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = 7 * 86_400
        configuration.httpMaximumConnectionsPerHost = 1
        configuration.urlCache = nil
        session = URLSession(configuration: configuration)
    }

    public func postTelemetry(_ body: Data) async throws -> UploadResponse {
        var request = URLRequest(url: server.appendingPathComponent("api/v1/telemetry"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        return try await send(request, body: body)
    }

    public func postPicture(_ picture: OutboxPicture) async throws -> UploadResponse {
        var components = URLComponents(url: server.appendingPathComponent("api/v1/pictures"), resolvingAgainstBaseURL: false)!
        var items = [URLQueryItem(name: "seq", value: String(picture.seq)), URLQueryItem(name: "time", value: picture.time.rfc3339)]
        if let lat = picture.lat, let lon = picture.lon {
            items += [URLQueryItem(name: "lat", value: JSONNumber(lat)), URLQueryItem(name: "lon", value: JSONNumber(lon))]
        }
        components.queryItems = items
        var request = URLRequest(url: components.url!)
        request.httpMethod = "POST"
        request.setValue("image/jpeg", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        return try await send(request, body: Data(picture.jpeg))
    }

    /// The whole time allowed for an upload of `bytes`.
    public static func timeout(forBytes bytes: Int, base: TimeInterval, minimumBytesPerSecond: Double) -> TimeInterval {
        // FoundationNetworking turns this into `Int(timeout) * 1000` (whole seconds, truncated; a trap
        // beyond Int): keep it finite, whole (rounded up) and at most a day.
        let b = base.isFinite ? min(max(base, 1), 86_400) : 15
        guard minimumBytesPerSecond.isFinite, minimumBytesPerSecond > 0 else { return b.rounded(.up) }
        return min(b + Double(max(0, bytes)) / minimumBytesPerSecond, 86_400).rounded(.up)
    }

    private func send(_ request: URLRequest, body: Data) async throws -> UploadResponse {
        var request = request
        request.httpBody = body
        request.timeoutInterval = Self.timeout(forBytes: body.count, base: timeout, minimumBytesPerSecond: minimumBytesPerSecond)
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        return UploadResponse(status: http.statusCode, body: [UInt8](data))
    }
}
