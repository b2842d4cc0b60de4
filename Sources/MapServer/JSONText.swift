import Telemetry

/// Small helpers to write JSON text directly (the read endpoints stream large arrays).
enum JSONText {
    static func string(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func number(_ v: Double?) -> String { v.map(JSONNumber) ?? "null" }
}

/// What went wrong, as the API names it; the HTTP status follows from the case alone.
enum APIErrorCode: Sendable, Equatable {
    case badJSON, badReport, badRequest
    case unauthorized, unknownVehicle
    case forbidden
    case notFound
    case methodNotAllowed
    case tooLarge
    case unsupportedMediaType
    case invalidRecord, invalidPicture
    case tooManySubscriptions
    case rateLimited
    case internalError
    case busy
    /// An HTTP error raised by the framework with a status of its own.
    case http(Int)

    var status: Int {
        switch self {
        case .badJSON, .badReport, .badRequest: 400
        case .unauthorized, .unknownVehicle: 401
        case .forbidden: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .tooLarge: 413
        case .unsupportedMediaType: 415
        case .invalidRecord, .invalidPicture: 422
        case .tooManySubscriptions, .rateLimited: 429
        case .internalError: 500
        case .busy: 503
        case .http(let status): status
        }
    }

    /// The `error` member of the JSON body.
    var name: String {
        switch self {
        case .badJSON: "bad_json"
        case .badReport: "bad_report"
        case .badRequest: "bad_request"
        case .unauthorized: "unauthorized"
        case .unknownVehicle: "unknown_vehicle"
        case .forbidden: "forbidden"
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .tooLarge: "too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        case .invalidRecord: "invalid_record"
        case .invalidPicture: "invalid_picture"
        case .tooManySubscriptions: "too_many_subscriptions"
        case .rateLimited: "rate_limited"
        case .internalError: "internal"
        case .busy: "busy"
        case .http(let status): "http_\(status)"
        }
    }
}

/// The JSON error body every failure answers with: a code (which decides the status), prose for
/// people, and the data a client acts on (`field`, `index`, `retryAfter`).
struct APIError: Error, Sendable, CustomStringConvertible {
    var code: APIErrorCode
    var detail: String
    /// The query parameter or field at fault, when there is one (a client reads it instead of the prose).
    var field: String?
    /// The index of the offending record in a batch.
    var index: Int?
    /// Seconds after which the client should try again (429, 503), sent as `Retry-After`.
    var retryAfter: Int?
    init(_ code: APIErrorCode, _ detail: String, field: String? = nil, index: Int? = nil, retryAfter: Int? = nil) {
        self.code = code; self.detail = detail
        self.field = field; self.index = index; self.retryAfter = retryAfter
    }
    var status: Int { code.status }
    var json: String {
        var s = "{\"error\":\(JSONText.string(code.name)),\"detail\":\(JSONText.string(detail))"
        if let field { s += ",\"field\":\(JSONText.string(field))" }
        if let index { s += ",\"index\":\(index)" }
        return s + "}"
    }
    var description: String { "\(status) \(code.name): \(detail)" }

    static func unauthorized(_ detail: String) -> APIError { APIError(.unauthorized, detail) }
    static func notFound(_ detail: String) -> APIError { APIError(.notFound, detail) }
    static func badRequest(_ detail: String) -> APIError { APIError(.badRequest, detail) }
}
