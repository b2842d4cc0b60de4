import Foundation

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

    /// Reads the answer to `POST /api/v1/telemetry` for a batch of `count` records.
    public static func forTelemetry(_ r: UploadResponse, count: Int) -> UploadVerdict {
        let object = try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
        switch r.status {
        case 200:
            guard let accepted = (object?["accepted"] as? NSNumber)?.intValue,
                  let duplicates = (object?["duplicates"] as? NSNumber)?.intValue,
                  accepted >= 0, duplicates >= 0, accepted + duplicates == count else {
                return .retry(reason: "200 without a matching {\"accepted\", \"duplicates\"} body: \(preview(r.body))")
            }
            return .acknowledged(accepted: accepted, duplicates: duplicates)
        case 422:
            let detail = (object?["detail"] as? String) ?? preview(r.body)
            if let index = recordIndex(in: detail), index < count { return .invalid(index: index, reason: detail) }
            if count == 1 { return .invalid(index: 0, reason: detail) }
            return .invalidUnlocated(reason: detail)
        default:
            return .retry(reason: "HTTP \(r.status): \(preview(r.body))")
        }
    }

    /// Reads the answer to `POST /api/v1/pictures`.
    public static func forPicture(_ r: UploadResponse) -> UploadVerdict {
        let object = try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
        switch r.status {
        case 200, 201:
            guard object?["id"] is String else {
                return .retry(reason: "\(r.status) without an id: \(preview(r.body))")
            }
            let duplicate = (object?["duplicate"] as? Bool) ?? false
            return .acknowledged(accepted: duplicate ? 0 : 1, duplicates: duplicate ? 1 : 0)
        case 413, 415, 422:
            return .invalid(index: 0, reason: "HTTP \(r.status): \((object?["detail"] as? String) ?? preview(r.body))")
        default:
            return .retry(reason: "HTTP \(r.status): \(preview(r.body))")
        }
    }

    /// The index in a detail such as `record 3: lat 91.0 outside -90…90; ...`.
    static func recordIndex(in detail: String) -> Int? {
        guard let range = detail.range(of: "record ") else { return nil }
        let digits = detail[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return Int(digits)
    }

    static func preview(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(120), as: UTF8.self)
            .map { $0.isASCII && ($0.isLetter || $0.isNumber || $0.isPunctuation || $0 == " " || $0.isSymbol) ? $0 : "." }
        return text.isEmpty ? "(empty body)" : String(text)
    }
}
