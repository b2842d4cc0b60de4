// libFuzzer entry for the NMEA replay parser: sentence framing, field
// decoding and fix assembly must turn any bytes into values or typed errors.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    // A whole log: lines into the assembler.
    var assembler = NMEAFixAssembler()
    for line in bytes.split(separator: 0x0A) {
        if case .success(let events) = assembler.receive(line: line) {
            for case .fix(let fix) in events {
                precondition((-90...90).contains(fix.latitude) && (-180...180).contains(fix.longitude),
                             "a fix outside the globe: \(fix)")
            }
        }
    }
    _ = assembler.finish()

    // One sentence: what parses must survive writing and parsing again.
    if let sentence = try? NMEASentence(parsing: bytes) {
        _ = try? NMEAReport(sentence)
        var written: [UInt8] = []
        sentence.write(to: &written)
        guard let again = try? NMEASentence(parsing: written) else {
            fatalError("written sentence does not parse: \(String(decoding: written, as: UTF8.self))")
        }
        precondition(again.talker == sentence.talker && again.type == sentence.type && again.fields == sentence.fields,
                     "round trip changed the sentence")
    }
    return 0
}
