/// Where `HTTPClient` connects: host, port and a base path, read from an `http://` URL.
///
/// `https://` is refused with `HTTPClientError.tlsNotSupported`: the client has no TLS of its own.
public struct HTTPEndpoint: Sendable, Hashable {
    /// The host name or address (an IPv6 address without its brackets).
    public var host: String
    public var port: UInt16
    /// The path before the API's (`/api/v1/...`): empty or starting with `/`, never ending with `/`.
    public var basePath: String

    public init(host: String, port: UInt16 = 80, basePath: String = "") {
        self.host = host; self.port = port; self.basePath = basePath
    }

    /// Reads `http://HOST[:PORT][/PATH]` (HOST may be `[IPv6]`). No user info, query or fragment.
    public init(url: String) throws(HTTPClientError) {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw .badURL(url: url, reason: "not a URL; expected http://HOST[:PORT]")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        if scheme == "https" { throw .tlsNotSupported(url: url) }
        guard scheme == "http" else { throw .unsupportedScheme(url: url, scheme: scheme) }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let pathPart = rest[authority.endIndex...]
        guard !pathPart.contains("?"), !pathPart.contains("#") else {
            throw .badURL(url: url, reason: "a query or fragment has no place in the server URL")
        }
        guard !authority.contains("@") else { throw .badURL(url: url, reason: "user info in the URL is not supported") }
        var hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .badURL(url: url, reason: "unclosed [ in the host") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .badURL(url: url, reason: "text after the IPv6 address") }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        } else {
            hostPart = authority
        }
        guard !hostPart.isEmpty, hostPart.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw .badURL(url: url, reason: "no usable host")
        }
        var port: UInt16 = 80
        if let portPart {
            guard portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(portPart),
                  (1...65535).contains(p) else {
                throw .badURL(url: url, reason: "the port must be a number from 1 to 65535")
            }
            port = UInt16(p)
        }
        var path = String(pathPart)
        while path.hasSuffix("/") { path.removeLast() }
        guard path.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\0" }) else {
            throw .badURL(url: url, reason: "the path must be ASCII without spaces (percent-encode it)")
        }
        self.init(host: String(hostPart), port: port, basePath: path)
    }

    /// The Host header: `host[:port]`, IPv6 in brackets, port left out when it is 80.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? h : "\(h):\(port)"
    }

    /// True for localhost and loopback addresses (the token then never leaves the machine).
    public var isLoopback: Bool {
        let h = host.lowercased()
        return h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || h.hasPrefix("127.")
    }
}
