/// Every way an HTTP/1.1 response can be wrong on the wire (as read by `HTTPResponseParser`).
public enum HTTPResponseParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Where the bytes stopped or went wrong.
    public enum Part: String, Sendable {
        case statusLine = "status line"
        case headers
        case body
        case chunkSize = "chunk size"
        case chunkData = "chunk data"
        case trailers
    }

    /// The first line is not `HTTP/1.x DDD reason` (a preview of the line).
    case badStatusLine(String)
    /// An HTTP version other than 1.0 or 1.1.
    case unsupportedVersion(String)
    /// The status line and headers (or the trailers) run past `limit` bytes.
    case headersTooLarge(limit: Int)
    /// More than `limit` header fields.
    case tooManyHeaders(limit: Int)
    /// A header line that is not `name: value` (a preview of the line).
    case badHeaderLine(String)
    /// A Content-Length that is not a non-negative decimal number that fits an Int.
    case badContentLength(String)
    /// Two Content-Length fields that disagree.
    case conflictingContentLength(first: Int, second: Int)
    /// A Transfer-Encoding whose last coding is not `chunked`.
    case unsupportedTransferEncoding(String)
    /// A chunk-size line that is not hexadecimal or does not fit an Int (a preview of the line).
    case badChunkSize(String)
    /// Chunk data not followed by CRLF (the byte found instead).
    case badChunkTerminator(found: UInt8)
    /// The body is (or says it will be) longer than `limit` bytes.
    case bodyTooLarge(limit: Int, declared: Int?)
    /// The stream ended inside `part`, after `received` bytes of it (of `expected`, when known).
    case prematureEnd(part: Part, received: Int, expected: Int?)

    public var description: String {
        switch self {
        case .badStatusLine(let line): "bad status line \"\(line)\""
        case .unsupportedVersion(let version): "unsupported HTTP version \(version)"
        case .headersTooLarge(let limit): "response headers larger than \(limit) bytes"
        case .tooManyHeaders(let limit): "more than \(limit) response header fields"
        case .badHeaderLine(let line): "bad header line \"\(line)\""
        case .badContentLength(let value): "bad Content-Length \"\(value)\""
        case .conflictingContentLength(let a, let b): "conflicting Content-Length \(a) and \(b)"
        case .unsupportedTransferEncoding(let value): "unsupported Transfer-Encoding \"\(value)\""
        case .badChunkSize(let line): "bad chunk size \"\(line)\""
        case .badChunkTerminator(let byte): "chunk data not followed by CRLF (found byte \(byte))"
        case .bodyTooLarge(let limit, let declared):
            "response body larger than \(limit) bytes" + (declared.map { " (Content-Length \($0))" } ?? "")
        case .prematureEnd(let part, let received, let expected):
            "connection closed inside the \(part.rawValue) after \(received)" + (expected.map { " of \($0)" } ?? "") + " bytes"
        }
    }

    /// A printable preview of raw bytes for error messages (at most 60 characters).
    static func preview(_ bytes: some Collection<UInt8>) -> String {
        String(bytes.prefix(60).map { $0 >= 0x20 && $0 < 0x7F ? Character(Unicode.Scalar($0)) : "." })
    }
}
