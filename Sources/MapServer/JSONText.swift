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

/// The JSON error body every failure answers with.
struct APIError: Error, Sendable, CustomStringConvertible {
    var status: Int
    var code: String
    var detail: String
    /// The query parameter or field at fault, when there is one (a client reads it instead of the prose).
    var field: String?
    /// The index of the offending record in a batch.
    var index: Int?
    /// Seconds after which the client should try again (503), sent as `Retry-After`.
    var retryAfter: Int?
    init(_ status: Int, _ code: String, _ detail: String, field: String? = nil, index: Int? = nil, retryAfter: Int? = nil) {
        self.status = status; self.code = code; self.detail = detail
        self.field = field; self.index = index; self.retryAfter = retryAfter
    }
    var json: String {
        var s = "{\"error\":\(JSONText.string(code)),\"detail\":\(JSONText.string(detail))"
        if let field { s += ",\"field\":\(JSONText.string(field))" }
        if let index { s += ",\"index\":\(index)" }
        return s + "}"
    }
    var description: String { "\(status) \(code): \(detail)" }

    static func unauthorized(_ detail: String) -> APIError { APIError(401, "unauthorized", detail) }
    static func notFound(_ detail: String) -> APIError { APIError(404, "not_found", detail) }
    static func badRequest(_ detail: String) -> APIError { APIError(400, "bad_request", detail) }
}
