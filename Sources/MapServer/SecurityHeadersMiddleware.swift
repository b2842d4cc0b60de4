import HTTPTypes
import Hummingbird

/// Adds the headers that keep the page and the API from being framed, sniffed or leaking where a
/// visitor came from, and the page's Content-Security-Policy, to every answer of the API listener.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let contentSecurityPolicy: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.frameOptions] = "DENY"
        response.headers[Self.referrerPolicy] = "no-referrer"
        response.headers[Self.permissionsPolicy] = "camera=(), microphone=(), geolocation=()"
        return response
    }

    // Names HTTPTypes has no constant for (valid tokens: the initialiser cannot fail on them).
    static var frameOptions: HTTPField.Name { HTTPField.Name("X-Frame-Options")! }
    static var referrerPolicy: HTTPField.Name { HTTPField.Name("Referrer-Policy")! }
    static var permissionsPolicy: HTTPField.Name { HTTPField.Name("Permissions-Policy")! }
}
