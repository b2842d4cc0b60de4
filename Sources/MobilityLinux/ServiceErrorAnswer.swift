/// The body of the Home Agent service's refusals: `{"error": "forbidden", "detail": "..."}`.
struct ServiceErrorAnswer: Decodable {
    var error: String?
    var detail: String?

    /// `detail` fit for a terminal and a log line: printable ASCII only (a hostile service could
    /// otherwise send escape sequences), at most 200 characters; nil when there is none.
    var printableDetail: String? {
        guard let detail else { return nil }
        let clean = String(decoding: detail.utf8.prefix(200).map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        return clean.isEmpty ? nil : clean
    }
}
