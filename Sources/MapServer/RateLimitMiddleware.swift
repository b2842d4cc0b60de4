import Hummingbird
import Timekeeping

/// Holds each client (address, or /64 for IPv6) and each bearer token to its request rate: beyond
/// it the answer is 429 with Retry-After, before any work is done for the request. Runs inside
/// `APIErrorMiddleware`, so the refusal is the API's JSON error; static files count too.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext
    let perClient: RateLimiter?
    let perToken: RateLimiter?
    let clock: any InstantClock
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let now = clock.now()
        if let perClient, let address = context.peerAddress,
           case .limited(let seconds) = perClient.admit(ClientKey.of(address: address), now: now) {
            metrics.rateLimited()
            throw APIError(.rateLimited,
                           "more than \(perClient.limit.perSecond) requests per second from your address; try again in \(seconds) s",
                           retryAfter: seconds)
        }
        if let perToken, let authorization = request.headers[.authorization] {
            // Keyed by the header's hash (as the store keys tokens): a fixed-size key whatever a client sends.
            if case .limited(let seconds) = perToken.admit(TokenHash.hash(authorization), now: now) {
                metrics.rateLimited()
                throw APIError(.rateLimited,
                               "more than \(perToken.limit.perSecond) requests per second with this token; try again in \(seconds) s",
                               retryAfter: seconds)
            }
        }
        return try await next(request, context)
    }
}
