/// Why a line is not a usable NMEA 0183 sentence.
public enum NMEAParseError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case missingStart
    case tooLong(Int)
    case notPrintableASCII(offset: Int)
    case badAddress(String)
    case malformedChecksum(String)
    case checksumMismatch(expected: UInt8, computed: UInt8)
    /// A field of a known sentence that does not hold what the standard says.
    case badField(sentence: String, index: Int, text: String)
    /// A known sentence with fewer fields than it needs.
    case tooFewFields(sentence: String, count: Int, needed: Int)

    public var description: String {
        switch self {
        case .empty: "empty line"
        case .missingStart: "an NMEA sentence starts with '$' or '!'"
        case .tooLong(let n): "sentence of \(n) bytes; NMEA allows 82, receivers about 200"
        case .notPrintableASCII(let offset): "byte \(offset) is not printable ASCII"
        case .badAddress(let a): "address \"\(a)\" is not a talker and sentence type"
        case .malformedChecksum(let c): "checksum \"\(c)\" is not two hex digits"
        case .checksumMismatch(let e, let c):
            "checksum says \(String(e, radix: 16, uppercase: true)), the bytes sum to \(String(c, radix: 16, uppercase: true)); the line is corrupt"
        case .badField(let s, let i, let t): "\(s) field \(i) \"\(t)\" is malformed"
        case .tooFewFields(let s, let count, let needed): "\(s) has \(count) fields, needs \(needed)"
        }
    }
}

/// One NMEA 0183 sentence: `$GPRMC,...*hh`, split into address and fields.
///
/// Checks framing and the checksum (when present: early receivers omit it);
/// decoding the fields of known sentence types is `NMEAReport`'s job.
public struct NMEASentence: Sendable, Hashable {
    /// Longest sentence accepted, from `$` to before `*hh`; the standard says
    /// 82 with checksum and CR LF, real receivers send longer.
    public static let maximumLength = 256

    /// Talker, e.g. "GP", "GN", "SD"; "P" for proprietary sentences.
    public var talker: String
    /// Sentence type, e.g. "RMC"; for proprietary sentences the rest of the address.
    public var type: String
    /// The comma-separated fields after the address.
    public var fields: [String]
    /// Whether the line carried a checksum (that matched).
    public var hadChecksum: Bool

    public init(talker: String, type: String, fields: [String], hadChecksum: Bool = true) {
        self.talker = talker
        self.type = type
        self.fields = fields
        self.hadChecksum = hadChecksum
    }

    /// Parses one line, with or without its CR LF.
    public init(parsing line: some Collection<UInt8>) throws(NMEAParseError) {
        var bytes = Array(line)
        while let last = bytes.last, last == 0x0D || last == 0x0A { bytes.removeLast() }
        guard !bytes.isEmpty else { throw .empty }
        // The limit is on the sentence without its "*hh", so that every sentence
        // accepted here is accepted again after `write(to:)` adds a checksum.
        guard bytes.count <= Self.maximumLength + 3 else { throw .tooLong(bytes.count) }
        guard bytes[0] == UInt8(ascii: "$") || bytes[0] == UInt8(ascii: "!") else { throw .missingStart }
        for (offset, byte) in bytes.enumerated() where byte < 0x20 || byte > 0x7E {
            throw .notPrintableASCII(offset: offset)
        }

        var body = bytes[1...]
        var hadChecksum = false
        if let star = body.lastIndex(of: UInt8(ascii: "*")) {
            let digits = body[(star + 1)...]
            guard digits.count == 2, let expected = UInt8(String(decoding: digits, as: UTF8.self), radix: 16) else {
                throw .malformedChecksum(String(decoding: digits, as: UTF8.self))
            }
            body = body[..<star]
            guard body.count + 1 <= Self.maximumLength else { throw .tooLong(bytes.count) }
            let computed = body.reduce(0, ^)
            guard computed == expected else { throw .checksumMismatch(expected: expected, computed: computed) }
            hadChecksum = true
        }

        guard body.count + 1 <= Self.maximumLength else { throw .tooLong(bytes.count) }
        let parts = body.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        let address = parts[0]
        guard address.count >= 2, address.count <= 8,
              address.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) else {
            throw .badAddress(address)
        }
        if address.hasPrefix("P") {
            talker = "P"
            type = String(address.dropFirst())
        } else {
            guard address.count == 5 else { throw .badAddress(address) }
            talker = String(address.prefix(2))
            type = String(address.dropFirst(2))
        }
        fields = Array(parts.dropFirst())
        self.hadChecksum = hadChecksum
    }

    /// The sentence as a line, with checksum and CR LF.
    public func write(to output: inout [UInt8]) {
        var body = Array((talker == "P" ? "P" + type : talker + type).utf8)
        for field in fields {
            body.append(UInt8(ascii: ","))
            body.append(contentsOf: field.utf8)
        }
        let sum = body.reduce(0, ^)
        output.append(UInt8(ascii: "$"))
        output.append(contentsOf: body)
        let hex = Array("0123456789ABCDEF".utf8)
        output.append(contentsOf: [UInt8(ascii: "*"), hex[Int(sum >> 4)], hex[Int(sum & 0xF)], 0x0D, 0x0A])
    }
}
