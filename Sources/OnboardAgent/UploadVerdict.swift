import Telemetry

/// One HTTP answer: status and body.
public struct UploadResponse: Sendable, Hashable {
    public var status: Int
    public var body: [UInt8]
    public init(status: Int, body: [UInt8]) { self.status = status; self.body = body }
}

/// What an answer means for the readings that were sent (sans-I/O: decided from status and body).
public enum UploadVerdict: Sendable, Hashable {
    /// The server has them (stored now or before): remove them from the outbox.
    case acknowledged(accepted: Int, duplicates: Int)
    /// The server refuses the reading at this index as invalid: quarantine it, send the rest again.
    case invalid(index: Int, reason: String)
    /// The server refuses something in the batch as invalid but does not say what: send one at a time.
    case invalidUnlocated(reason: String)
    /// Try again later (server error, garbage, unauthorized, too large, ...).
    case retry(reason: String)

    /// What the outbox must do for the readings `seqs` that were sent, under this verdict. Total:
    /// an index outside the batch (a lying server) becomes a retry, never a crash.
    public func outboxAction(seqs: [UInt64]) -> OutboxAction {
        switch self {
        case .acknowledged: return .remove(seqs)
        case .invalid(let index, let reason):
            guard seqs.indices.contains(index) else { return .retry(reason: "refusal names record \(index) of \(seqs.count): \(reason)") }
            return .quarantine(seqs[index], reason: reason)
        case .invalidUnlocated(let reason):
            guard let last = seqs.last else { return .retry(reason: reason) }
            return .oneByOneThrough(last, reason: reason)
        case .retry(let reason): return .retry(reason: reason)
        }
    }

    /// Reads the answer to `POST /api/v1/telemetry` for a batch of `count` records.
    public static func forTelemetry(_ r: UploadResponse, count: Int) -> UploadVerdict {
        let object = JSONObjectReader.members(r.body)
        switch r.status {
        case 200:
            // Counts are read exactly and compared without arithmetic that could overflow: a server
            // (or a man in the middle) may send any number.
            guard let accepted = exactCount(object?["accepted"]),
                  let duplicates = exactCount(object?["duplicates"]),
                  count >= 0, accepted <= count, duplicates == count - accepted else {
                return .retry(reason: "200 without a matching {\"accepted\", \"duplicates\"} body: \(preview(r.body))")
            }
            return .acknowledged(accepted: accepted, duplicates: duplicates)
        case 422:
            // The record at fault is named by the `index` field; the prose is for people only.
            let detail = text(object?["detail"]) ?? preview(r.body)
            if let index = exactCount(object?["index"]), index < count { return .invalid(index: index, reason: detail) }
            if count == 1 { return .invalid(index: 0, reason: detail) }
            return .invalidUnlocated(reason: detail)
        default:
            return .retry(reason: "HTTP \(r.status): \(preview(r.body))")
        }
    }

    /// Reads the answer to `POST /api/v1/pictures`.
    public static func forPicture(_ r: UploadResponse) -> UploadVerdict {
        let object = JSONObjectReader.members(r.body)
        switch r.status {
        case 200, 201:
            guard text(object?["id"]) != nil else {
                return .retry(reason: "\(r.status) without an id: \(preview(r.body))")
            }
            let duplicate = object?["duplicate"] == .bool(true)
            return .acknowledged(accepted: duplicate ? 0 : 1, duplicates: duplicate ? 1 : 0)
        case 413, 415, 422:
            return .invalid(index: 0, reason: "HTTP \(r.status): \(text(object?["detail"]) ?? preview(r.body))")
        default:
            return .retry(reason: "HTTP \(r.status): \(preview(r.body))")
        }
    }

    /// A non-negative integer that fits an `Int`, from a decoded JSON value; nil for anything else
    /// (booleans, fractions, exponents, negative numbers, numbers beyond 64 bits, strings).
    static func exactCount(_ value: JSONObjectReader.Member?) -> Int? {
        guard case .number(_, let integer?) = value, integer <= UInt64(Int.max) else { return nil }
        return Int(integer)
    }

    static func text(_ value: JSONObjectReader.Member?) -> String? {
        guard case .string(let s) = value else { return nil }
        return s
    }

    static func preview(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(120), as: UTF8.self)
            .map { $0.isASCII && ($0.isLetter || $0.isNumber || $0.isPunctuation || $0 == " " || $0.isSymbol) ? $0 : "." }
        return text.isEmpty ? "(empty body)" : String(text)
    }
}

/// What the uploader does to the outbox after an answer.
public enum OutboxAction: Sendable, Hashable {
    /// Acknowledged: delete these.
    case remove([UInt64])
    /// Refused as invalid: keep this one aside with the reason, send the rest again.
    case quarantine(UInt64, reason: String)
    /// Refused without saying which: send the readings through this seq one at a time.
    case oneByOneThrough(UInt64, reason: String)
    /// Keep everything and try again later.
    case retry(reason: String)
}
