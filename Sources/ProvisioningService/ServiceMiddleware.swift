import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Provisioning

/// Turns every failure into the API's JSON error (a field error is a 400 naming its field) and
/// logs one line per request.
struct ServiceErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as ServiceError {
            response = Self.response(error)
        } catch let error as FieldError {
            response = Self.response(ServiceError(.badRequest, error.description, field: error.field))
        } catch let error as StoreFailure {
            if case .notFound(let what) = error {
                response = Self.response(ServiceError(.notFound, "\(what) does not exist"))
            } else {
                logger.error("\(request.method) \(request.uri.path): \(error)")
                response = Self.response(ServiceError(.internalError, "the service failed to handle this request; it has been logged"))
            }
        } catch let error as HTTPError {
            let code: ServiceError.Code = error.status == .notFound ? .notFound : error.status == .methodNotAllowed ? .badRequest : .badRequest
            response = Self.response(ServiceError(code, error.status == .notFound ? "no such page or endpoint" : "\(error.status)"))
        } catch {
            logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            response = Self.response(ServiceError(.internalError, "the service failed to handle this request; it has been logged"))
        }
        logger.info("\(request.method) \(request.uri.path) \(response.status.code)")
        return response
    }

    static func response(_ error: ServiceError) -> Response {
        var body: [String: String] = ["error": error.code.rawValue, "detail": error.detail]
        if let f = error.field { body["field"] = f }
        return ProvisioningServer.json(Int(error.code.status.code), body)
    }
}

/// Headers of every answer: no framing, no sniffing, no referrer, a strict content policy (the
/// pages have no script), and no caching (pages show keys once).
struct ServiceHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
