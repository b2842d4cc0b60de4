/// Reads one HTTP/1.1 response from bytes as they arrive (sans-I/O: the caller owns the socket).
///
/// Feed it with `parse(_:)` in pieces of any size; it returns the response once the body is
/// complete. When the peer closes, call `endOfStream()`: a body delimited by the close ends there,
/// anything else unfinished is `prematureEnd`. Status line, fields, Content-Length and chunked
/// bodies are checked against `Limits`; every number from the wire is read without trapping.
/// Interim 1xx responses are skipped. Trailers are read and dropped.
public struct HTTPResponseParser: Sendable {
    public struct Limits: Sendable, Hashable {
        /// Status line plus header fields (and, separately, the trailers), CRLFs included.
        public var headerBytes: Int
        public var headerFields: Int
        public var bodyBytes: Int
        /// A chunk-size line, extensions included.
        public var chunkLineBytes: Int

        public init(headerBytes: Int = 16 * 1024, headerFields: Int = 100, bodyBytes: Int = 1 << 20, chunkLineBytes: Int = 1024) {
            self.headerBytes = headerBytes; self.headerFields = headerFields
            self.bodyBytes = bodyBytes; self.chunkLineBytes = chunkLineBytes
        }
    }

    enum State: Sendable, Equatable {
        case statusLine
        case headers
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilEnd
        case done
    }

    public let limits: Limits
    /// The request was HEAD: whatever the fields say, no body follows.
    let headRequest: Bool

    private var state = State.statusLine
    private var buffer: [UInt8] = []
    /// Start of the bytes not consumed yet.
    private var position = 0
    /// Where the search for the next LF resumes (never before `position`).
    private var scanned = 0
    /// Bytes of the current header section (status line and fields, or trailers) consumed so far.
    private var sectionBytes = 0
    private var response = HTTPResponse(status: 0)
    private var contentLength: Int?
    private var chunked = false
    /// HTTP/1.1 without `Connection: close`: the server keeps the connection open after the body.
    private var persistent = false

    public init(limits: Limits = Limits(), headRequest: Bool = false) {
        self.limits = limits
        self.headRequest = headRequest
    }

    /// True once a whole response has been read.
    public var isComplete: Bool { state == .done }

    /// The connection may carry another request: the response is complete, HTTP/1.1 without
    /// `Connection: close`, its body was delimited by its length (not by the close), and nothing
    /// followed it.
    public var connectionReusable: Bool { state == .done && persistent && position == buffer.count }

    /// Takes the next bytes; returns the response when it is complete (and again on later calls;
    /// bytes after a complete response are ignored).
    public mutating func parse(_ bytes: some Collection<UInt8>) throws(HTTPResponseParseError) -> HTTPResponse? {
        guard state != .done else { return response }
        buffer.append(contentsOf: bytes)
        try advance()
        compact()
        return state == .done ? response : nil
    }

    /// The peer closed the stream: the response if it is complete (or its body runs to the close).
    public mutating func endOfStream() throws(HTTPResponseParseError) -> HTTPResponse {
        let pending = buffer.count - position
        switch state {
        case .done: return response
        case .untilEnd:
            state = .done
            return response
        case .statusLine: throw .prematureEnd(part: .statusLine, received: pending, expected: nil)
        case .headers: throw .prematureEnd(part: .headers, received: sectionBytes + pending, expected: nil)
        case .fixedBody: throw .prematureEnd(part: .body, received: response.body.count, expected: contentLength)
        case .chunkSize: throw .prematureEnd(part: .chunkSize, received: pending, expected: nil)
        case .chunkData, .chunkDataEnd: throw .prematureEnd(part: .chunkData, received: response.body.count, expected: nil)
        case .trailers: throw .prematureEnd(part: .trailers, received: sectionBytes + pending, expected: nil)
        }
    }

    // MARK: - The state machine

    private mutating func advance() throws(HTTPResponseParseError) {
        while true {
            switch state {
            case .done:
                return
            case .statusLine:
                guard let line = try nextLine(part: .statusLine) else { return }
                try readStatusLine(line)
                state = .headers
            case .headers:
                guard let line = try nextLine(part: .headers) else { return }
                if line.isEmpty { try endOfHeaders() } else { try readField(line) }
            case .fixedBody(let remaining):
                let n = min(remaining, buffer.count - position)
                guard n > 0 else { return }
                response.body.append(contentsOf: buffer[position..<(position + n)])
                position += n
                state = remaining - n == 0 ? .done : .fixedBody(remaining: remaining - n)
            case .chunkSize:
                guard let line = try nextLine(part: .chunkSize) else { return }
                try readChunkSize(line)
            case .chunkData(let remaining):
                let n = min(remaining, buffer.count - position)
                guard n > 0 else { return }
                response.body.append(contentsOf: buffer[position..<(position + n)])
                position += n
                state = remaining - n == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            case .chunkDataEnd:
                guard position < buffer.count else { return }
                let first = buffer[position]
                if first == 0x0A {
                    position += 1
                } else if first == 0x0D {
                    guard position + 1 < buffer.count else { return }
                    guard buffer[position + 1] == 0x0A else { throw .badChunkTerminator(found: buffer[position + 1]) }
                    position += 2
                } else {
                    throw .badChunkTerminator(found: first)
                }
                state = .chunkSize
            case .trailers:
                guard let line = try nextLine(part: .trailers) else { return }
                if line.isEmpty { state = .done }
                // Trailer fields are not used; they only count against the header limit.
            case .untilEnd:
                let n = buffer.count - position
                guard n > 0 else { return }
                guard n <= limits.bodyBytes - response.body.count else { throw .bodyTooLarge(limit: limits.bodyBytes, declared: nil) }
                response.body.append(contentsOf: buffer[position...])
                position = buffer.count
            }
        }
    }

    /// The next line without its LF (and CR), or nil when it has not fully arrived.
    private mutating func nextLine(part: HTTPResponseParseError.Part) throws(HTTPResponseParseError) -> ArraySlice<UInt8>? {
        var i = max(scanned, position)
        while i < buffer.count, buffer[i] != 0x0A { i += 1 }
        let isChunkLine = part == .chunkSize
        guard i < buffer.count else {
            scanned = i
            let pending = buffer.count - position
            if isChunkLine {
                if pending > limits.chunkLineBytes { throw .badChunkSize(HTTPResponseParseError.preview(buffer[position...])) }
            } else if pending > limits.headerBytes - sectionBytes {
                throw .headersTooLarge(limit: limits.headerBytes)
            }
            return nil
        }
        let length = i + 1 - position
        if isChunkLine {
            if length > limits.chunkLineBytes { throw .badChunkSize(HTTPResponseParseError.preview(buffer[position..<i])) }
        } else {
            guard length <= limits.headerBytes - sectionBytes else { throw .headersTooLarge(limit: limits.headerBytes) }
            sectionBytes += length
        }
        var end = i
        if end > position, buffer[end - 1] == 0x0D { end -= 1 }
        let line = buffer[position..<end]
        position = i + 1
        scanned = position
        return line
    }

    private mutating func compact() {
        guard position > 0, position >= buffer.count / 2 else { return }
        buffer.removeFirst(position)
        scanned -= position
        position = 0
    }

    // MARK: - Lines

    /// `HTTP/1.x DDD reason`.
    private mutating func readStatusLine(_ line: ArraySlice<UInt8>) throws(HTTPResponseParseError) {
        let bad = HTTPResponseParseError.badStatusLine(HTTPResponseParseError.preview(line))
        guard let space = line.firstIndex(of: 0x20) else { throw bad }
        let version = line[line.startIndex..<space]
        guard version.count == 8, version.starts(with: Array("HTTP/".utf8)) else { throw bad }
        let major = version[version.startIndex + 5], dot = version[version.startIndex + 6], minor = version[version.startIndex + 7]
        guard Self.isDigit(major), dot == 0x2E, Self.isDigit(minor) else { throw bad }
        guard major == 0x31, minor == 0x30 || minor == 0x31 else {
            throw .unsupportedVersion(HTTPResponseParseError.preview(version))
        }
        let code = line[(space + 1)...]
        guard code.count >= 3, code.prefix(3).allSatisfy(Self.isDigit) else { throw bad }
        var status = 0
        for digit in code.prefix(3) { status = status * 10 + Int(digit - 0x30) }
        guard status >= 100 else { throw bad }
        let rest = code.dropFirst(3)
        if let first = rest.first, first != 0x20 { throw bad }
        response = HTTPResponse(status: status, reason: String(decoding: rest.dropFirst(), as: UTF8.self))
        contentLength = nil
        chunked = false
        persistent = minor == 0x31
    }

    /// `name: value`.
    private mutating func readField(_ line: ArraySlice<UInt8>) throws(HTTPResponseParseError) {
        let bad = HTTPResponseParseError.badHeaderLine(HTTPResponseParseError.preview(line))
        // A line starting with whitespace would continue the previous field (obsolete folding).
        guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex else { throw bad }
        let name = line[line.startIndex..<colon]
        guard name.allSatisfy(Self.isTokenCharacter) else { throw bad }
        let value = line[(colon + 1)...].trimmingSpaces()
        guard response.fields.count < limits.headerFields else { throw .tooManyHeaders(limit: limits.headerFields) }
        let field = HTTPResponse.Field(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
        response.fields.append(field)
        switch field.name.lowercased() {
        case "content-length": try readContentLength(value)
        case "transfer-encoding":
            let codings = field.value.split(separator: ",").map { $0.trimmingSpaces().lowercased() }
            guard !chunked, codings == ["chunked"] else { throw .unsupportedTransferEncoding(field.value) }
            chunked = true
        case "connection":
            if field.value.split(separator: ",").contains(where: { $0.trimmingSpaces().lowercased() == "close" }) { persistent = false }
        default: break
        }
    }

    /// One value, or a list of equal values (`42, 42`, as RFC 9110 §8.6 allows).
    private mutating func readContentLength(_ value: ArraySlice<UInt8>) throws(HTTPResponseParseError) {
        for item in value.split(separator: 0x2C, omittingEmptySubsequences: false) {
            let digits = item.trimmingSpaces()
            guard let n = Self.decimal(digits) else { throw .badContentLength(HTTPResponseParseError.preview(value)) }
            if let known = contentLength, known != n { throw .conflictingContentLength(first: known, second: n) }
            contentLength = n
        }
    }

    private mutating func endOfHeaders() throws(HTTPResponseParseError) {
        if response.status < 200 && response.status != 101 {
            // An interim answer (100 Continue, 103 Early Hints): the real one follows.
            state = .statusLine
            return
        }
        if headRequest || response.status == 204 || response.status == 304 || response.status == 101 {
            state = .done
        } else if chunked {
            state = .chunkSize
        } else if let length = contentLength {
            guard length <= limits.bodyBytes else { throw .bodyTooLarge(limit: limits.bodyBytes, declared: length) }
            state = length == 0 ? .done : .fixedBody(remaining: length)
        } else {
            state = .untilEnd
            persistent = false
        }
    }

    /// `HEX[ ;ext...]`.
    private mutating func readChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPResponseParseError) {
        let bad = HTTPResponseParseError.badChunkSize(HTTPResponseParseError.preview(line))
        let hex = line.prefix { $0 != 0x3B && $0 != 0x20 && $0 != 0x09 }
        let rest = line[hex.endIndex...].drop { $0 == 0x20 || $0 == 0x09 }
        guard rest.isEmpty || rest.first == 0x3B else { throw bad }
        guard !hex.isEmpty else { throw bad }
        var size = 0
        for c in hex {
            guard let v = Self.hexValue(c) else { throw bad }
            let (shifted, o1) = size.multipliedReportingOverflow(by: 16)
            let (next, o2) = shifted.addingReportingOverflow(v)
            guard !o1, !o2 else { throw bad }
            size = next
        }
        if size == 0 {
            state = .trailers
            sectionBytes = 0
            return
        }
        guard size <= limits.bodyBytes - response.body.count else { throw .bodyTooLarge(limit: limits.bodyBytes, declared: nil) }
        state = .chunkData(remaining: size)
    }

    // MARK: - Characters

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: Int(c - 0x30)
        case 0x41...0x46: Int(c - 0x41 + 10)
        case 0x61...0x66: Int(c - 0x61 + 10)
        default: nil
        }
    }

    /// A non-empty run of decimal digits that fits an Int.
    static func decimal(_ digits: some Collection<UInt8>) -> Int? {
        guard !digits.isEmpty else { return nil }
        var n = 0
        for c in digits {
            guard isDigit(c) else { return nil }
            let (shifted, o1) = n.multipliedReportingOverflow(by: 10)
            let (next, o2) = shifted.addingReportingOverflow(Int(c - 0x30))
            guard !o1, !o2 else { return nil }
            n = next
        }
        return n
    }

    /// RFC 9110 tchar.
    static func isTokenCharacter(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }
}

extension ArraySlice<UInt8> {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> ArraySlice<UInt8> {
        var s = self
        while let f = s.first, f == 0x20 || f == 0x09 { s = s.dropFirst() }
        while let l = s.last, l == 0x20 || l == 0x09 { s = s.dropLast() }
        return s
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
