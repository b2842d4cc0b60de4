extension SIPMessage {
    enum StartLine {
        case request(SIPMethod, SIPURI)
        case response(Int, String)
    }

    /// The first parsing stage: start line, unfolded header fields, body octets.
    struct RawMessage {
        var startLine: StartLine
        var headers: SIPHeaders
        var body: [UInt8]

        init(bytes: [UInt8]) throws(SIPParseError) {
            guard bytes.count <= sipMaximumMessageSize else { throw SIPParseError(.tooLarge, "message of \(bytes.count) octets is over \(sipMaximumMessageSize)") }
            let section = try SIPMessage.headerSection(bytes)
            body = Array(bytes[section.bodyStart...])
            var lines = SIPMessage.lines(bytes[section.start..<section.end])
            guard !lines.isEmpty else { throw SIPParseError(.empty, "no start line") }
            let first = lines.removeFirst()
            startLine = try SIPMessage.parseStartLine(first)
            headers = SIPHeaders()
            headers.reserve(lines.count)
            var i = 0
            while i < lines.count {
                // a line followed by continuation lines is joined; the usual single line is used in place
                var j = i + 1
                while j < lines.count, let f = lines[j].first, Grammar.isWS(f) { j += 1 }
                let (name, value): (String, String)
                if j == i + 1 {
                    (name, value) = try SIPMessage.splitHeaderLine(lines[i])
                } else {
                    let joined = SIPMessage.unfold(Array(lines[i..<j]))
                    (name, value) = try SIPMessage.splitHeaderLine(joined[0][...])
                }
                i = j
                if SIPHeaders.listHeaders.contains(name) {
                    for part in Grammar.splitList(value[...]) {
                        if part.isEmpty {
                            if name == "Via" || name == "Contact" || name == "Route" || name == "Record-Route" {
                                throw SIPParseError(.badHeaderLine, "\(name) has an empty list element in '\(value)'")
                            }
                            continue
                        }
                        headers.appendCanonical(name, String(part))
                    }
                } else {
                    headers.appendCanonical(name, value)
                }
            }
        }
    }

    /// Where the header section starts and ends and the body begins. Leading CRLFs
    /// (keep-alives, RFC 5626) are skipped.
    static func headerSection(_ b: [UInt8]) throws(SIPParseError) -> (start: Int, end: Int, bodyStart: Int) {
        var start = 0
        while start < b.count, b[start] == 13 || b[start] == 10 { start += 1 }
        guard start < b.count else { throw SIPParseError(.empty, "no message, only line ends") }
        var i = start
        while i < b.count {
            if b[i] == 10 {
                // LF followed by (CR)LF ends the header section
                if i + 1 < b.count, b[i + 1] == 10 { return (start, i, i + 2) }
                if i + 2 < b.count, b[i + 1] == 13, b[i + 2] == 10 { return (start, i, i + 3) }
                if i + 2 == b.count, b[i + 1] == 13 { return (start, i, i + 2) }
            }
            i += 1
        }
        throw SIPParseError(.truncated, "no empty line ends the header section")
    }

    /// The whole of `b` (after leading line ends) taken as a header section, for answering
    /// a datagram that lacks the empty line; nil when nothing is left.
    static func unterminatedHeaderSection(_ b: [UInt8]) -> (start: Int, end: Int, bodyStart: Int)? {
        var start = 0
        while start < b.count, b[start] == 13 || b[start] == 10 { start += 1 }
        return start < b.count ? (start, b.count, b.count) : nil
    }

    static func lines(_ s: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var ls = s.startIndex
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == 10 {
                var e = i
                if e > ls, s[e - 1] == 13 { e -= 1 }
                out.append(s[ls..<e])
                ls = i + 1
            }
            i += 1
        }
        if ls < s.endIndex {
            var e = s.endIndex
            if e > ls, s[e - 1] == 13 { e -= 1 }
            out.append(s[ls..<e])
        }
        return out
    }

    /// Joins continuation lines (starting with SP or HT) to the line before them: the
    /// line break and leading whitespace become one space (RFC 3261 §7.3.1).
    static func unfold(_ lines: [ArraySlice<UInt8>]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for l in lines {
            if let f = l.first, Grammar.isWS(f), !out.isEmpty {
                var rest = l.dropFirst()
                while let c = rest.first, Grammar.isWS(c) { rest = rest.dropFirst() }
                while let c = out[out.count - 1].last, Grammar.isWS(c) { out[out.count - 1].removeLast() }
                out[out.count - 1].append(32)
                out[out.count - 1].append(contentsOf: rest)
            } else {
                out.append(Array(l))
            }
        }
        return out
    }

    static func splitHeaderLine(_ line: ArraySlice<UInt8>) throws(SIPParseError) -> (String, String) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw SIPParseError(.badHeaderLine, "header line '\(String(decoding: line.prefix(60), as: UTF8.self))' has no ':'")
        }
        var ne = colon
        while ne > line.startIndex, Grammar.isWS(line[ne - 1]) { ne -= 1 }
        let name = line[line.startIndex..<ne]
        guard Grammar.isToken(name) else {
            throw SIPParseError(.badHeaderLine, "'\(String(decoding: name.prefix(60), as: UTF8.self))' is not a header name")
        }
        var vs = colon + 1
        while vs < line.endIndex, Grammar.isWS(line[vs]) { vs += 1 }
        var ve = line.endIndex
        while ve > vs, Grammar.isWS(line[ve - 1]) { ve -= 1 }
        return (SIPHeaders.canonicalName(String(decoding: name, as: UTF8.self)), String(decoding: line[vs..<ve], as: UTF8.self))
    }

    static func parseStartLine(_ line: ArraySlice<UInt8>) throws(SIPParseError) -> StartLine {
        let text = String(decoding: line, as: UTF8.self)
        if text.utf8.starts(with: "SIP/".utf8) {
            let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2 else { throw SIPParseError(.badStartLine, "status line '\(text)' has no status code") }
            guard parts[0] == "SIP/2.0" else { throw SIPParseError(.badVersion, "status line speaks \(parts[0])") }
            let code = parts[1]
            guard code.count == 3, code.utf8.allSatisfy(Grammar.isDigit), let n = Int(code), (100...699).contains(n) else {
                throw SIPParseError(.badStatusCode, "status code '\(code.prefix(20))' is not 100-699")
            }
            return .response(n, parts.count > 2 ? String(parts[2]) : "")
        }
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
            throw SIPParseError(.badStartLine, "request line '\(text.prefix(120))' is not 'METHOD SP URI SP SIP/2.0' (single spaces)")
        }
        guard Grammar.isToken(parts[0].utf8) else { throw SIPParseError(.badMethod, "method '\(parts[0])' is not a token") }
        let version = parts[2]
        // ASCII case folding only: Unicode's uppercasing turns "ſip/2.0" (long s) or "SıP/2.0"
        // (dotless i) into "SIP/2.0", and those lines carry no SIP version
        func asciiUpper(_ s: Substring) -> [UInt8] { s.utf8.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 } }
        guard asciiUpper(version) == Array("SIP/2.0".utf8) else {
            if asciiUpper(version).starts(with: "SIP/".utf8) { throw SIPParseError(.badVersion, "request speaks \(version), not SIP/2.0") }
            throw SIPParseError(.badStartLine, "request line ends in '\(version)', not SIP/2.0")
        }
        let uri = try SIPURI(parsing: parts[1])
        return .request(SIPMethod(String(parts[0])), uri)
    }
}

extension SIPResponse {
    /// The answer a UAS sends to request octets that did not parse (400, or 505 for a
    /// foreign SIP version), built leniently from the raw Via, From, To, Call-ID and CSeq
    /// lines; nil when the octets were not a request or have no Via to answer to.
    public static func answering(unparsable bytes: [UInt8], error: SIPParseError) -> SIPResponse? {
        // a datagram whose header section has no empty line after it still gets its 400:
        // its headers run to the end of the datagram
        guard let section = (try? SIPMessage.headerSection(bytes)) ?? SIPMessage.unterminatedHeaderSection(bytes) else { return nil }
        var lines = SIPMessage.lines(bytes[section.start..<section.end])
        guard !lines.isEmpty else { return nil }
        let first = lines.removeFirst()
        guard !first.starts(with: "SIP/".utf8) else { return nil }
        var headers = SIPHeaders()
        for line in SIPMessage.unfold(lines) {
            guard let (name, value) = try? SIPMessage.splitHeaderLine(line[...]) else { continue }
            guard ["Via", "From", "To", "Call-ID", "CSeq"].contains(name) else { continue }
            if name == "Via" {
                for v in Grammar.splitList(value[...]) where !v.isEmpty {
                    if let via = salvagedVia(v) { headers.add(name, via) }
                }
            } else if headers[name] == nil {
                if name == "From" || name == "To" {
                    if let a = salvagedAddress(value) { headers.add(name, a) }
                } else if name == "CSeq" {
                    if (try? SIPCSeq(parsing: value[...])) != nil { headers.add(name, value) }
                } else if !value.isEmpty, value.utf8.allSatisfy({ Grammar.isWordChar($0) || $0 == 64 }) {
                    headers.add(name, value)
                }
            }
        }
        guard headers["Via"] != nil else { return nil }
        let reason = SIPResponse.defaultReason(error.responseStatus)
        var r = SIPResponse(status: error.responseStatus, reason: reason, headers: headers)
        r.headers.add("Warning", "399 - \(Grammar.quoted(error.description.filter { $0.isASCII && $0 != "\r" && $0 != "\n" }))")
        return r
    }
}

/// A Via value we can echo in an error answer: the sent-by and those parameters that
/// parse, under SIP/2.0 (so a 505 still reaches a client that spoke another version).
func salvagedVia(_ raw: Substring) -> String? {
    var parts = raw.split(separator: ";", omittingEmptySubsequences: true)
    guard !parts.isEmpty else { return nil }
    let head = parts.removeFirst()
    guard let lastSlash = head.lastIndex(of: "/") else { return nil }
    var text = "SIP/2.0/" + Grammar.trimmed(head[head.index(after: lastSlash)...])
    for p in parts where (try? SIPParameters(parsing: ";" + p, what: "Via")) != nil { text += ";" + Grammar.trimmed(p) }
    return (try? SIPVia(parsing: text[...])) != nil ? text : nil
}

/// A From/To value we can echo: as written when it parses, else with the blanks inside
/// `<>` removed (RFC 4475 badaspec).
func salvagedAddress(_ raw: String) -> String? {
    if (try? SIPAddress(parsing: raw[...])) != nil { return raw }
    guard let lt = raw.firstIndex(of: "<"), let gt = raw.lastIndex(of: ">"), lt < gt else { return nil }
    let inner = raw[raw.index(after: lt)..<gt].filter { $0 != " " && $0 != "\t" }
    let fixed = String(raw[...lt]) + inner + String(raw[gt...])
    return (try? SIPAddress(parsing: fixed[...])) != nil ? fixed : nil
}

/// Cuts SIP messages out of a TCP byte stream by their Content-Length (RFC 3261 §18.3).
public struct SIPStreamFramer: Sendable {
    private var buffer: [UInt8] = []
    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next whole message, nil when more bytes are needed. Throws when framing is
    /// lost (bad Content-Length, too large); the connection must then be closed.
    public mutating func nextMessage() throws(SIPParseError) -> [UInt8]? {
        var start = 0
        while start < buffer.count, buffer[start] == 13 || buffer[start] == 10 { start += 1 }
        if start > 0 { buffer.removeFirst(start) }
        guard !buffer.isEmpty else { return nil }
        let section: (start: Int, end: Int, bodyStart: Int)
        do {
            section = try SIPMessage.headerSection(buffer)
        } catch {
            if buffer.count > sipMaximumMessageSize { throw SIPParseError(.tooLarge, "header section over \(sipMaximumMessageSize) octets") }
            return nil
        }
        var length: Int?
        for line in SIPMessage.unfold(SIPMessage.lines(buffer[section.start..<section.end]).dropFirst().map { $0 }) {
            guard let (name, value) = try? SIPMessage.splitHeaderLine(line[...]), name == "Content-Length" else { continue }
            guard !value.isEmpty, value.count <= 9, value.utf8.allSatisfy(Grammar.isDigit), let n = Int(value) else {
                throw SIPParseError(.badContentLength, "Content-Length '\(value)' on a stream: framing lost")
            }
            if let length, length != n {
                throw SIPParseError(.badContentLength, "two Content-Length values (\(length), \(n)) on a stream: framing lost")
            }
            length = n
        }
        let total = section.bodyStart + (length ?? 0)
        guard total <= sipMaximumMessageSize else { throw SIPParseError(.tooLarge, "message of \(total) octets") }
        guard buffer.count >= total else { return nil }
        let message = Array(buffer[0..<total])
        buffer.removeFirst(total)
        return message
    }
}
