#if canImport(Glibc)
import Glibc
#endif

/// Who a request comes from, for per-client limits: an IPv4 address as is, an IPv6 address by its
/// /64 prefix (one subscriber usually holds a whole /64, and a stranger can pick any address in it),
/// an IPv4-mapped IPv6 address as its IPv4 address.
enum ClientKey {
    static func of(address text: String) -> String {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return text }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return text }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12..<16].map { String($0) }.joined(separator: ".")
        }
        return stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":") + "::/64"
    }
}
