/// One HTTP response as read off the wire by `HTTPResponseParser`.
public struct HTTPResponse: Sendable, Hashable {
    /// One header field as received (names keep their case; compare them with `header(_:)`).
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    public var status: Int
    public var reason: String
    public var fields: [Field]
    public var body: [UInt8]

    public init(status: Int, reason: String = "", fields: [Field] = [], body: [UInt8] = []) {
        self.status = status; self.reason = reason; self.fields = fields; self.body = body
    }

    /// The value of the first field called `name` (ASCII case-insensitive), nil when there is none.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }?.value
    }
}
