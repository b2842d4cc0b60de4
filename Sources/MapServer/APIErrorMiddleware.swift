import Foundation
import Hummingbird
import Logging

/// Turns every failure into the API's JSON error, logs one line per request (method, path,
/// status, duration) and counts answers by status.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    let metrics: ServerMetrics
    /// Path patterns (`*` = one segment) the router serves; a miss on one of them is a wrong method.
    let knownPaths: [[String]]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = Self.response(error)
        } catch let error as CommitQueueFull {
            metrics.commitQueueFull()
            response = Self.response(APIError(.busy,
                "\(error.limit) ingest requests are already waiting for the disk; nothing of this one was stored, send it again later",
                retryAfter: 1))
        } catch let error as StoreUnavailable {
            metrics.storeUnavailable()
            logger.warning("\(request.method) \(request.uri.path): \(error)")
            response = Self.response(APIError(.busy,
                "the database is unavailable; nothing of this request was stored, send it again later", retryAfter: 5))
        } catch let error as HTTPError {
            response = Self.response(mapped(error, request))
        } catch {
            logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            response = Self.response(APIError(.internalError, "the server failed to handle this request; it has been logged"))
        }
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        metrics.request(status: Int(response.status.code))
        logger.info("\(request.method) \(request.uri.path) \(response.status.code) \(String(format: "%.1f", ms))ms")
        return response
    }

    func mapped(_ error: HTTPError, _ request: Request) -> APIError {
        switch error.status.code {
        case 404:
            let segments = request.uri.path.split(separator: "/").map(String.init)
            let pathKnown = knownPaths.contains { pattern in
                pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0 == "*" || $0 == $1 }
            }
            if pathKnown {
                return APIError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)")
            }
            return APIError.notFound("no such endpoint: \(request.uri.path); the API is described in docs/telemetry-api.md")
        case 413:
            return APIError(.tooLarge, error.body ?? "the body is too large")
        default:
            return APIError(.http(Int(error.status.code)), error.body ?? error.status.reasonPhrase)
        }
    }

    static func response(_ error: APIError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let seconds = error.retryAfter { headers[.retryAfter] = String(seconds) }
        return Response(status: .init(code: error.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: error.json)))
    }
}
