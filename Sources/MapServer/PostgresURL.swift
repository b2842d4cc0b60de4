/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?host=/socket/dir]` as `--database` takes it
/// (also `postgresql://`). HOST may be a bracketed IPv6 literal; with `?host=DIR` (or an empty
/// HOST and `?host=`), the server is reached over its Unix socket `DIR/.s.PGSQL.PORT`.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    /// The folder of the server's Unix socket, when it is reached that way.
    public var socketDirectory: String?

    public enum ParseError: Error, Equatable {
        case notPostgres
        case missingUser
        case missingDatabase
        case badPort(String)
        case badEscape(String)
    }

    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(_ text: String) throws(ParseError) {
        guard let rest = ["postgresql://", "postgres://"].first(where: { text.hasPrefix($0) }).map({ text.dropFirst($0.count) }) else {
            throw .notPostgres
        }
        let (main, query) = Self.split(Substring(rest), at: "?")
        let (authority, path) = Self.split(main, at: "/")
        guard let at = authority.lastIndex(of: "@") else { throw .missingUser }
        let credentials = authority[..<at]
        let (userText, passwordText) = Self.split(credentials, at: ":")
        user = try Self.unescape(userText)
        guard !user.isEmpty else { throw .missingUser }
        password = passwordText.isEmpty && !credentials.contains(":") ? nil : try Self.unescape(passwordText)
        var hostPort = authority[authority.index(after: at)...]
        var portText: Substring = ""
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() }
        } else {
            (hostPort, portText) = Self.split(hostPort, at: ":")
            host = String(hostPort)
        }
        if portText.isEmpty {
            port = 5432
        } else {
            guard let p = Int(portText), (1...65535).contains(p) else { throw .badPort(String(portText)) }
            port = p
        }
        database = try Self.unescape(path)
        guard !database.isEmpty else { throw .missingDatabase }
        socketDirectory = nil
        for pair in query.split(separator: "&") {
            let (key, value) = Self.split(pair, at: "=")
            if key == "host" { socketDirectory = try Self.unescape(value) }
        }
        if host.isEmpty && socketDirectory == nil { host = "localhost" }
    }

    /// The URL without its password, for logs and messages.
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(h):\(port)/\(database)" + (socketDirectory.map { "?host=\($0)" } ?? "")
    }

    static func split(_ s: Substring, at separator: Character) -> (Substring, Substring) {
        guard let i = s.firstIndex(of: separator) else { return (s, "") }
        return (s[..<i], s[s.index(after: i)...])
    }

    /// Percent-decoding (checked: a bad escape is an error, not a trap).
    static func unescape(_ s: Substring) throws(ParseError) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(s.utf8)[...]
        while let b = utf8.popFirst() {
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            guard utf8.count >= 2, let hi = hex(utf8.popFirst()!), let lo = hex(utf8.popFirst()!) else {
                throw .badEscape(String(s))
            }
            bytes.append(hi << 4 | lo)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
