/// The Content-Security-Policy the server sends with every answer: the page's own scripts and
/// styles only, no inline code, no plugins, no framing, and images only from the server, the
/// configured tile server and the configured live video streams. Web/index.html carries a looser
/// copy in a <meta> element for when the files are served by something else; a browser applies both.
enum ContentSecurityPolicy {
    static func forPage(_ configuration: ServerConfiguration) -> String {
        var images = ["'self'", "data:", "blob:"]
        for url in [configuration.tileURL] + configuration.liveVideo.values.sorted() where !url.isEmpty {
            if let source = source(of: url), !images.contains(source) { images.append(source) }
        }
        return [
            "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src " + images.joined(separator: " "),
            "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'none'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    /// The CSP source that admits a URL (or URL template): `scheme://host[:port]`, a `{s}`-style
    /// label of a tile template as `*`. Hosts CSP cannot name (IPv6 literals, templates elsewhere in
    /// the host) fall back to the scheme alone; anything but http(s) admits nothing.
    static func source(of url: String) -> String? {
        let lower = url.lowercased()
        guard let scheme = ["https", "http"].first(where: { lower.hasPrefix($0 + "://") }) else { return nil }
        let rest = url.dropFirst(scheme.count + 3)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        if hostPort.hasPrefix("[") || hostPort.isEmpty { return scheme + ":" }
        var labels = hostPort.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if let first = labels.first, first.hasPrefix("{"), first.hasSuffix("}") { labels[0] = "*" }
        let host = labels.joined(separator: ".")
        let allowed = host.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || "-.:*".unicodeScalars.contains($0)
        }
        guard allowed, !host.dropFirst().contains("*") else { return scheme + ":" }
        return scheme + "://" + host
    }
}
