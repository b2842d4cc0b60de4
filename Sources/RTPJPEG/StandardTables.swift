/// Tables of JPEG Annex K that RTP/JPEG leaves out of the packets (RFC 2435 §3.1.3, Appendix A, B).
public enum JPEGStandardTables {
    /// The four standard Huffman tables (Annex K.3) as one DHT segment, marker included: luminance
    /// DC (class 0 id 0), chrominance DC (0/1), luminance AC (1/0), chrominance AC (1/1).
    public static let huffmanSegment: [UInt8] = hex(
        "ffc401a20000010501010101010100000000000000000102030405060708090a0b01000301010101010101010100000000"
        + "00000102030405060708090a0b100002010303020403050504040000017d01020300041105122131410613516107227114"
        + "328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455"
        + "565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3"
        + "b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa11000201"
        + "02040403040705040400010277000102031104052131061241510761711322328108144291a1b1c109233352f0156272d1"
        + "0a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475"
        + "767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9"
        + "cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa")

    /// The standard tables keyed by (class << 4 | id): the 16 code-length counts and the symbols.
    public static let huffmanTables: [UInt8: [UInt8]] = {
        var out: [UInt8: [UInt8]] = [:]
        var i = 4
        let s = huffmanSegment
        while i < s.count {
            let tc = s[i]
            let n = s[(i + 1)...(i + 16)].reduce(0) { $0 + Int($1) }
            out[tc] = Array(s[(i + 1)..<(i + 17 + n)])
            i += 17 + n
        }
        return out
    }()

    /// Natural-order index of each zig-zag position.
    public static let zigzag: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ]

    /// Annex K.1 luminance and K.2 chrominance tables, natural order.
    static let luminance: [Int] = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ]
    static let chrominance: [Int] = [
        17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    ] + [Int](repeating: 99, count: 32)

    /// The two tables (luminance then chrominance, zig-zag order) for Q 1…99 (RFC 2435 Appendix A).
    public static func quantizationTables(q: UInt8) -> [UInt8] {
        let factor = Swift.min(Swift.max(Int(q), 1), 99)
        let scale = factor < 50 ? 5000 / factor : 200 - factor * 2
        func scaled(_ t: [Int]) -> [UInt8] {
            zigzag.map { UInt8(Swift.min(Swift.max((t[$0] * scale + 50) / 100, 1), 255)) }
        }
        return scaled(luminance) + scaled(chrominance)
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.utf8.makeIterator()
        func v(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : c - 0x57 }
        while let a = it.next(), let b = it.next() { out.append(v(a) << 4 | v(b)) }
        return out
    }
}
