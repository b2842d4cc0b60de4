/// One header field as it sits in a message: canonical name and unfolded value.
public struct SIPHeader: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
}

/// The header fields of a message, in order. Names compare case-insensitively and
/// compact forms (`v`, `f`, `i`, …) are stored under their full names. Headers whose
/// grammar is a comma-separated list (Via, Contact, Route, …) hold one entry per value.
public struct SIPHeaders: Sendable, Hashable, Sequence {
    public private(set) var fields: [SIPHeader] = []

    public init() {}
    public init(_ fields: [SIPHeader]) { self.fields = fields }

    public func makeIterator() -> IndexingIterator<[SIPHeader]> { fields.makeIterator() }

    /// The first value of a header.
    public subscript(_ name: String) -> String? {
        let key = SIPHeaders.canonicalName(name)
        return fields.first { $0.name == key }?.value
    }

    /// Every value of a header, in order.
    public func values(_ name: String) -> [String] {
        let key = SIPHeaders.canonicalName(name)
        return fields.filter { $0.name == key }.map(\.value)
    }

    public func count(_ name: String) -> Int {
        let key = SIPHeaders.canonicalName(name)
        return fields.reduce(0) { $0 + ($1.name == key ? 1 : 0) }
    }

    /// Adds a field whose name is already canonical (the parser's path).
    mutating func appendCanonical(_ name: String, _ value: String) {
        fields.append(SIPHeader(name, value))
    }

    mutating func reserve(_ n: Int) { fields.reserveCapacity(n) }

    public mutating func add(_ name: String, _ value: String) {
        fields.append(SIPHeader(SIPHeaders.canonicalName(name), value))
    }

    /// Adds a value before every existing value of that header (a new top Via).
    public mutating func prepend(_ name: String, _ value: String) {
        let key = SIPHeaders.canonicalName(name)
        let i = fields.firstIndex { $0.name == key } ?? 0
        fields.insert(SIPHeader(key, value), at: i)
    }

    /// Replaces every value of a header with one value (or removes it for nil).
    public mutating func set(_ name: String, _ value: String?) {
        let key = SIPHeaders.canonicalName(name)
        if let value, let i = fields.firstIndex(where: { $0.name == key }) {
            fields[i].value = value
            var j = fields.count - 1
            while j > i { if fields[j].name == key { fields.remove(at: j) }; j -= 1 }
        } else {
            fields.removeAll { $0.name == key }
            if let value { fields.append(SIPHeader(key, value)) }
        }
    }

    public mutating func remove(_ name: String) { set(name, nil) }

    /// Removes the first value of a header (the top Via of a response).
    public mutating func removeFirst(_ name: String) {
        let key = SIPHeaders.canonicalName(name)
        if let i = fields.firstIndex(where: { $0.name == key }) { fields.remove(at: i) }
    }

    static let compactForms: [String: String] = [
        "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
        "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
        "v": "Via", "o": "Event", "r": "Refer-To", "u": "Allow-Events", "b": "Referred-By",
        "a": "Accept-Contact", "j": "Reject-Contact", "d": "Request-Disposition",
        "x": "Session-Expires", "y": "Identity", "n": "Identity-Info",
    ]

    static let knownNames: [String: String] = {
        let names = ["Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Allow-Events",
                     "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
                     "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
                     "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From",
                     "In-Reply-To", "Max-Forwards", "Min-Expires", "MIME-Version", "Organization",
                     "Priority", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require",
                     "Record-Route", "Reply-To", "Require", "Retry-After", "Route", "Server",
                     "Subject", "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "Via",
                     "Warning", "WWW-Authenticate", "Refer-To", "Referred-By", "Session-Expires",
                     "Min-SE", "RSeq", "RAck", "P-Asserted-Identity", "Path", "Service-Route"]
        var m: [String: String] = [:]
        for n in names { m[n.lowercased()] = n }
        for (k, v) in compactForms { m[k] = v }
        return m
    }()

    /// Headers whose values are comma-separated lists and are split into one entry each.
    static let listHeaders: Set<String> = [
        "Via", "Contact", "Route", "Record-Route", "Allow", "Supported", "Require", "Proxy-Require",
        "Unsupported", "Accept", "Accept-Encoding", "Accept-Language", "Content-Encoding",
        "Allow-Events", "Path", "Service-Route",
    ]

    /// Full, canonically spelled name for a header name as written.
    public static func canonicalName(_ name: String) -> String {
        if let known = knownNames[name] { return known }
        return knownNames[name.lowercased()] ?? name
    }
}
