import Testing
@testable import HTTPTransport

struct HTTPResponseParserTests {
    static let fixed = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 31\r\n\r\n{\"accepted\":2,\"duplicates\":0}\r\n".utf8)
    static let chunked = Array("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-A:  b \r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n".utf8)

    /// Feeds `bytes` cut at `cuts`, then ends the stream if the response is not complete.
    static func parse(_ bytes: [UInt8], cuts: [Int] = [], limits: HTTPResponseParser.Limits = .init(),
                      close: Bool = true) throws(HTTPResponseParseError) -> HTTPResponse? {
        var parser = HTTPResponseParser(limits: limits)
        var start = 0
        var result: HTTPResponse?
        for cut in cuts + [bytes.count] where cut >= start {
            if let r = try parser.parse(bytes[start..<cut]) { result = r }
            start = cut
        }
        if result == nil && close { result = try parser.endOfStream() }
        return result
    }

    @Test("a Content-Length response, whole and split at every byte boundary")
    func fixedLength() throws {
        let whole = try #require(try Self.parse(Self.fixed, close: false))
        #expect(whole.status == 200 && whole.reason == "OK")
        #expect(whole.header("content-type") == "application/json")
        #expect(whole.body == Array("{\"accepted\":2,\"duplicates\":0}\r\n".utf8))
        for cut in 0...Self.fixed.count {
            #expect(try Self.parse(Self.fixed, cuts: [cut], close: false) == whole, "cut at \(cut)")
        }
        // One byte at a time.
        #expect(try Self.parse(Self.fixed, cuts: Array(0...Self.fixed.count), close: false) == whole)
    }

    @Test("a chunked response with an extension and trailers, split at every byte boundary")
    func chunked() throws {
        let whole = try #require(try Self.parse(Self.chunked, close: false))
        #expect(whole.status == 201 && whole.reason == "Created")
        #expect(whole.header("X-A") == "b")
        #expect(String(decoding: whole.body, as: UTF8.self) == "hello, world")
        for cut in 0...Self.chunked.count {
            #expect(try Self.parse(Self.chunked, cuts: [cut], close: false) == whole, "cut at \(cut)")
            for second in stride(from: cut, through: Self.chunked.count, by: 7) {
                #expect(try Self.parse(Self.chunked, cuts: [cut, second], close: false) == whole)
            }
        }
        #expect(try Self.parse(Self.chunked, cuts: Array(0...Self.chunked.count), close: false) == whole)
    }

    @Test("a body without length runs to the close; 204 and interim 100 have none; bare LF is accepted")
    func delimiting() throws {
        let untilClose = try #require(try Self.parse(Array("HTTP/1.0 500 Oops\r\n\r\nbroken".utf8)))
        #expect(untilClose.status == 500 && untilClose.body == Array("broken".utf8))
        let noContent = try #require(try Self.parse(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8), close: false))
        #expect(noContent.status == 204 && noContent.body.isEmpty)
        let interim = try #require(try Self.parse(Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8), close: false))
        #expect(interim.status == 200 && interim.body == Array("ok".utf8))
        let bareLF = try #require(try Self.parse(Array("HTTP/1.1 422 \nContent-Length: 1\n\nx".utf8), close: false))
        #expect(bareLF.status == 422 && bareLF.reason == "" && bareLF.body == [0x78])
        let noReason = try #require(try Self.parse(Array("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n".utf8), close: false))
        #expect(noReason.status == 200)
        let repeated = try #require(try Self.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok".utf8), close: false))
        #expect(repeated.body == Array("ok".utf8))
    }

    @Test("the connection may carry another request only after a delimited HTTP/1.1 answer without close")
    func reuse() throws {
        func reusable(_ text: String, close: Bool = false) throws -> Bool {
            var parser = HTTPResponseParser()
            if try parser.parse(Array(text.utf8)) == nil, close { _ = try parser.endOfStream() }
            return parser.connectionReusable
        }
        #expect(try reusable("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        #expect(try reusable(String(decoding: Self.chunked, as: UTF8.self)))
        #expect(try !reusable("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nok"))
        #expect(try !reusable("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        #expect(try !reusable("HTTP/1.1 200 OK\r\n\r\nuntil the close", close: true))
        #expect(try !reusable("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"))
        #expect(try !reusable("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no"))
    }

    @Test("bad status lines", arguments: [
        "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 OK\r\n\r\n", "HTTP/1.1\r\n\r\n",
        "ICY 200 OK\r\n\r\n", "\r\n", "HTTP/1.1 099 x\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n",
        "HTTP/11 200 OK\r\n\r\n",
    ])
    func badStatusLine(_ text: String) {
        #expect { try Self.parse(Array(text.utf8)) } throws: { error in
            if case HTTPResponseParseError.badStatusLine = error { true } else { false }
        }
    }

    @Test("other versions, bad fields, lengths and chunks are typed errors carrying what was wrong")
    func badFields() {
        #expect(throws: HTTPResponseParseError.unsupportedVersion("HTTP/2.0")) { try Self.parse(Array("HTTP/2.0 200 OK\r\n\r\n".utf8)) }
        #expect(throws: HTTPResponseParseError.badHeaderLine(" folded")) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n".utf8))
        }
        #expect(throws: HTTPResponseParseError.badHeaderLine("Bad Name: x")) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n".utf8))
        }
        #expect(throws: HTTPResponseParseError.badContentLength("-1")) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n".utf8))
        }
        #expect(throws: HTTPResponseParseError.badContentLength("99999999999999999999999")) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n".utf8))
        }
        #expect(throws: HTTPResponseParseError.conflictingContentLength(first: 2, second: 3)) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok".utf8))
        }
        #expect(throws: HTTPResponseParseError.unsupportedTransferEncoding("gzip, chunked")) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".utf8))
        }
        #expect(throws: HTTPResponseParseError.badChunkSize("zz")) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8))
        }
        #expect(throws: HTTPResponseParseError.badChunkSize("10000000000000000")) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n".utf8))
        }
        #expect(throws: HTTPResponseParseError.badChunkTerminator(found: UInt8(ascii: "x"))) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokx\r\n0\r\n\r\n".utf8))
        }
    }

    @Test("oversized headers, too many fields and oversized bodies are refused before they are buffered")
    func limits() {
        let limits = HTTPResponseParser.Limits(headerBytes: 64, headerFields: 3, bodyBytes: 10, chunkLineBytes: 16)
        let longField = Array(("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 100)).utf8)
        // Refused while the field is still arriving, without its end.
        #expect(throws: HTTPResponseParseError.headersTooLarge(limit: 64)) { try Self.parse(longField, limits: limits, close: false) }
        var never = HTTPResponseParser(limits: limits)
        #expect(throws: HTTPResponseParseError.headersTooLarge(limit: 64)) {
            for _ in 0..<100 { _ = try never.parse(Array("HTTP/1.1 200 OK\r\n".utf8.prefix(1))) }
        }
        #expect(throws: HTTPResponseParseError.tooManyHeaders(limit: 3)) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n".utf8), limits: limits)
        }
        #expect(throws: HTTPResponseParseError.bodyTooLarge(limit: 10, declared: 11)) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n".utf8), limits: limits)
        }
        #expect(throws: HTTPResponseParseError.bodyTooLarge(limit: 10, declared: nil)) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\n".utf8), limits: limits)
        }
        #expect(throws: HTTPResponseParseError.bodyTooLarge(limit: 10, declared: nil)) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\n\r\n0123456789A".utf8), limits: limits)
        }
        #expect(throws: HTTPResponseParseError.badChunkSize("00000000000000000000")) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000000000".utf8), limits: limits, close: false)
        }
        #expect(throws: HTTPResponseParseError.headersTooLarge(limit: 64)) {
            try Self.parse(Array(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " + String(repeating: "t", count: 70) + "\r\n\r\n").utf8), limits: limits)
        }
    }

    @Test("the stream ending early, in every part")
    func prematureEnd() {
        #expect(throws: HTTPResponseParseError.prematureEnd(part: .statusLine, received: 0, expected: nil)) { try Self.parse([]) }
        #expect(throws: HTTPResponseParseError.prematureEnd(part: .statusLine, received: 8, expected: nil)) {
            try Self.parse(Array("HTTP/1.1".utf8))
        }
        #expect(throws: HTTPResponseParseError.prematureEnd(part: .headers, received: 21, expected: nil)) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nA: b".utf8))
        }
        #expect(throws: HTTPResponseParseError.prematureEnd(part: .body, received: 3, expected: 31)) {
            try Self.parse(Array(Self.fixed.dropLast(28)))
        }
        #expect(throws: HTTPResponseParseError.prematureEnd(part: .chunkData, received: 3, expected: nil)) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel".utf8))
        }
        #expect(throws: HTTPResponseParseError.prematureEnd(part: .chunkSize, received: 0, expected: nil)) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n".utf8))
        }
        #expect(throws: HTTPResponseParseError.prematureEnd(part: .trailers, received: 0, expected: nil)) {
            try Self.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".utf8))
        }
        // Every strict prefix of a complete response is premature, never a crash or a wrong answer.
        for n in 0..<Self.chunked.count {
            #expect(throws: HTTPResponseParseError.self) { try Self.parse(Array(Self.chunked.prefix(n))) }
        }
        for n in 0..<(Self.fixed.count - 1) {
            #expect(throws: HTTPResponseParseError.self) { try Self.parse(Array(Self.fixed.prefix(n))) }
        }
    }
}
