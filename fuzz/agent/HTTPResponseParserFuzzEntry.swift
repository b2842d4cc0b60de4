/// Server answers arrive in pieces of any size: the response parser must give the same answer
/// (or fail) however the bytes are cut, never crash, and keep to its limits.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let step = 1 + Int(data[0] % 16)
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let limits = HTTPResponseParser.Limits(headerBytes: 512, headerFields: 16, bodyBytes: 1024, chunkLineBytes: 64)

    func run(_ pieces: [ArraySlice<UInt8>], close: Bool) -> HTTPResponse?? {
        var parser = HTTPResponseParser(limits: limits)
        do {
            for piece in pieces {
                if let response = try parser.parse(piece) { return .some(response) }
            }
            return close ? .some(try parser.endOfStream()) : .some(nil)
        } catch {
            return nil
        }
    }

    let whole = run([bytes[...]], close: true)
    var pieces: [ArraySlice<UInt8>] = []
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + step)
        pieces.append(bytes[start..<end])
        start = end
    }
    let split = run(pieces, close: true)
    precondition((whole == nil) == (split == nil), "cutting the bytes changed success into failure or back")
    if let w = whole, let s = split { precondition(w == s, "cutting the bytes changed the response") }
    if let response = whole ?? nil {
        precondition((100...999).contains(response.status))
        precondition(response.body.count <= limits.bodyBytes && response.fields.count <= limits.headerFields)
    }
    return 0
}
