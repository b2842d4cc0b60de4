import Hummingbird
import Provisioning

/// A refusal the API answers as `{"error": CODE, "detail": TEXT}` with its HTTP status (pages
/// show the detail on the page).
public struct ServiceError: Error, Sendable {
    public enum Code: String, Sendable {
        case badRequest = "bad_request", unauthorized, forbidden, notFound = "not_found", conflict,
             tooLarge = "too_large", unsupportedMediaType = "unsupported_media_type", tooManyRequests = "too_many_requests",
             internalError = "internal_error"

        var status: HTTPResponse.Status {
            switch self {
            case .badRequest: return .badRequest
            case .unauthorized: return .unauthorized
            case .forbidden: return .forbidden
            case .notFound: return .notFound
            case .conflict: return .conflict
            case .tooLarge: return .contentTooLarge
            case .unsupportedMediaType: return .unsupportedMediaType
            case .tooManyRequests: return .tooManyRequests
            case .internalError: return .internalServerError
            }
        }
    }

    public var code: Code
    public var detail: String
    public var field: String?

    public init(_ code: Code, _ detail: String, field: String? = nil) {
        self.code = code; self.detail = detail; self.field = field
    }
}
