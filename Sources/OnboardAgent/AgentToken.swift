import FoundationEssentials
import HTTPTransport
#if canImport(Glibc)
import Glibc
#endif

/// Why the vehicle's token could not be found.
public enum AgentTokenError: Error, Equatable, Sendable, CustomStringConvertible {
    case none
    case several([String])
    case unreadable(path: String, errno: Int32)
    /// The file can be read or written by its group or others (`mode` is its permission bits).
    case tooOpen(path: String, mode: UInt32)
    case empty(source: String)

    public var description: String {
        switch self {
        case .none:
            "no token: pass --token-file FILE (mode 0600) or set MONNEMO_TOKEN (the token comes from `monnemo-server vehicle add`)"
        case .several(let sources):
            "the token is given more than once (\(sources.joined(separator: ", "))); give exactly one"
        case .unreadable(let path, let e):
            "cannot read --token-file \(path): \(String(cString: strerror(e)))"
        case .tooOpen(let path, let mode):
            "--token-file \(path) has mode \(CredentialFile.octal(mode)): other users may read it; run `chmod 600 \(path)`"
        case .empty(let source):
            "the token from \(source) is empty"
        }
    }
}

/// Where the agent takes the vehicle's token from: a file only its owner can read, the
/// `MONNEMO_TOKEN` environment variable, or (discouraged: any local user sees it in `ps`) `--token`.
public enum AgentToken {
    public static let environmentVariable = "MONNEMO_TOKEN"

    public static func resolve(flag: String?, file: String?, environment: [String: String]) throws(AgentTokenError) -> String {
        let env = environment[environmentVariable]
        let given = [flag.map { _ in "--token" }, file.map { _ in "--token-file" }, env.map { _ in environmentVariable }].compactMap { $0 }
        guard given.count <= 1 else { throw .several(given) }
        if let flag { return try nonEmpty(flag, source: "--token") }
        if let env { return try nonEmpty(env, source: environmentVariable) }
        guard let file else { throw .none }
        return try nonEmpty(try read(file), source: "--token-file \(file)")
    }

    /// Reads a token file, refusing one that its group or others may read or write.
    public static func read(_ path: String) throws(AgentTokenError) -> String {
        do {
            return try CredentialFile.read(path)
        } catch {
            switch error {
            case .unreadable(let path, let e): throw .unreadable(path: path, errno: e)
            case .tooOpen(let path, let mode): throw .tooOpen(path: path, mode: mode)
            }
        }
    }

    static func nonEmpty(_ text: String, source: String) throws(AgentTokenError) -> String {
        let t = String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        guard !t.isEmpty else { throw .empty(source: source) }
        return t
    }

    /// A warning when the token would travel in clear text to another machine, nil otherwise.
    public static func plainHTTPWarning(server: URL) -> String? {
        guard server.scheme?.lowercased() == "http", let host = server.host?.lowercased() else { return nil }
        let h = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || h.hasPrefix("127.") { return nil }
        return "the token travels in clear text over http:// to \(host): anyone on the path can read it and upload as this vehicle; keep it on a network you trust (the vehicle's own network or a VPN), or run a TLS-terminating proxy on the vehicle and point --server at it (the agent has no TLS of its own, see docs/agent.md)"
    }
}
