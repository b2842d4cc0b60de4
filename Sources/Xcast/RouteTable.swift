/// A relay's table (docs/xcast.md §5): which prefixes go to which downstream relay, which are
/// served directly (the last hop: X2U to plain unicast), and which endpoints are this node itself.
///
/// Text form, one entry a line, `#` starts a comment:
/// ```
/// 2001:db8:1::/48   relay [2001:db8:1::1]:4000
/// 2001:db8:2::/48   direct
/// local [2001:db8::5]:5004
/// ```
/// The longest matching prefix wins; a destination no prefix matches is dropped and counted.
public struct RouteTable: Hashable, Sendable {
    public enum NextHop: Hashable, Sendable {
        case relay(Endpoint)
        case direct
    }

    public struct Route: Hashable, Sendable {
        public var prefix: IPv6Address
        public var length: Int
        public var nextHop: NextHop
        public init(prefix: IPv6Address, length: Int, nextHop: NextHop) {
            self.prefix = prefix
            self.length = length
            self.nextHop = nextHop
        }
    }

    /// Routes, longest prefix first.
    public private(set) var routes: [Route]
    /// The distinct downstream relays; a route's relay is `relays[relayIndex[route]]`.
    public private(set) var relays: [Endpoint]
    var relayIndex: [Int]
    /// Endpoints at which this node is itself a member (local delivery).
    public private(set) var local: Set<Endpoint>

    public init(routes: [Route], local: Set<Endpoint> = []) {
        self.routes = routes.enumerated().sorted { ($0.element.length, -$0.offset) > ($1.element.length, -$1.offset) }.map(\.element)
        var relays: [Endpoint] = []
        var index: [Int] = []
        for r in self.routes {
            if case .relay(let e) = r.nextHop {
                if let i = relays.firstIndex(of: e) { index.append(i) } else { relays.append(e); index.append(relays.count - 1) }
            } else {
                index.append(-1)
            }
        }
        self.relays = relays
        self.relayIndex = index
        self.local = local
    }

    /// Everything served directly: what a sender without a relay uses.
    public static let allDirect = RouteTable(routes: [Route(prefix: .unspecified, length: 0, nextHop: .direct)])

    /// Everything handed to one relay: what `xcast6 send --relay` uses.
    public static func allVia(_ relay: Endpoint) -> RouteTable {
        RouteTable(routes: [Route(prefix: .unspecified, length: 0, nextHop: .relay(relay))])
    }

    /// The index into `routes` of the longest prefix matching `address`.
    public func lookup(_ address: IPv6Address) -> Int? {
        for (i, r) in routes.enumerated() where address.matches(prefix: r.prefix, length: r.length) { return i }
        return nil
    }

    /// Why a table's text is refused, with the line it is on (1-based).
    public struct TableError: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Reason: Hashable, Sendable {
            case badPrefix(String)
            case badPrefixLength(String)
            case badNextHop(String)
            case badEndpoint(String)
            case duplicatePrefix(String)
        }
        public var line: Int
        public var reason: Reason
        public var description: String {
            switch reason {
            case .badPrefix(let s): "line \(line): \"\(s)\" is not an IPv6 prefix (write it as 2001:db8::/32)"
            case .badPrefixLength(let s): "line \(line): prefix length in \"\(s)\" must be 0…128"
            case .badNextHop(let s): "line \(line): \"\(s)\" is not a next hop: write `relay [ADDR]:PORT` or `direct`"
            case .badEndpoint(let s): "line \(line): \"\(s)\" is not [ADDR]:PORT (IPv6 address in brackets, port 1…65535)"
            case .duplicatePrefix(let s): "line \(line): prefix \(s) is listed twice"
            }
        }
    }

    /// Parses the text form; the whole table is refused on the first bad line.
    public init(parsing text: String) throws(TableError) {
        var routes: [Route] = []
        var local: Set<Endpoint> = []
        var seen: Set<String> = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = n + 1
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = words.first else { continue }
            if first == "local" {
                guard words.count == 2, let e = Endpoint(words[1]) else { throw TableError(line: line, reason: .badEndpoint(words.dropFirst().joined(separator: " "))) }
                local.insert(e)
                continue
            }
            let parts = first.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let prefix = IPv6Address(String(parts[0])) else { throw TableError(line: line, reason: .badPrefix(first)) }
            guard let length = Int(parts[1]), (0...128).contains(length) else { throw TableError(line: line, reason: .badPrefixLength(first)) }
            let hop: NextHop
            if words.count == 2, words[1] == "direct" {
                hop = .direct
            } else if words.count == 3, words[1] == "relay" {
                guard let e = Endpoint(words[2]) else { throw TableError(line: line, reason: .badEndpoint(words[2])) }
                hop = .relay(e)
            } else {
                throw TableError(line: line, reason: .badNextHop(words.dropFirst().joined(separator: " ")))
            }
            let key = "\(prefix)/\(length)"
            guard seen.insert(key).inserted else { throw TableError(line: line, reason: .duplicatePrefix(key)) }
            routes.append(Route(prefix: prefix, length: length, nextHop: hop))
        }
        self.init(routes: routes, local: local)
    }
}
