/// Why bytes are not a SIP message we accept.
///
/// Every error says what was wrong and where; `responseStatus` is what a user agent
/// server answers when the bytes were a request (RFC 3261 §8.2, RFC 4475): 505 for a
/// SIP version it does not speak, 400 for anything else. Responses that fail are dropped.
public struct SIPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case empty, truncated, badStartLine, badVersion, badMethod, badStatusCode
        case badHeaderLine, badURI, badVia, badAddress, badParameter, badCSeq
        case cseqMethodMismatch, badContentLength, bodyTooShort, badMaxForwards
        case badCallID, badDate, tooLarge
    }
    public var kind: Kind
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// The status a UAS answers a request that failed this way.
    public var responseStatus: Int { kind == .badVersion ? 505 : 400 }

    public var description: String { "\(kind.rawValue): \(detail)" }
}
