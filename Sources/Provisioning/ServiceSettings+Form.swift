import Mobility

extension ServiceSettings {
    /// The operator's settings page form, every field checked.
    public init(form f: FormBody) throws(FieldError) {
        func text(_ name: String) throws(FieldError) -> String {
            guard let t = f[name]?.trimmingSpaces, !t.isEmpty else { throw FieldError(name, "required") }
            return t
        }
        func number(_ name: String) throws(FieldError) -> Int {
            let t = try text(name)
            guard let n = Int(t) else { throw FieldError(name, "'\(t)' is not a whole number") }
            return n
        }
        func ipv4Pool() throws(FieldError) -> IPv4Pool? {
            guard let t = f["ipv4Pool"]?.trimmingSpaces, !t.isEmpty else { return nil }
            guard let pool = IPv4Pool(t) else {
                throw FieldError("ipv4Pool", "'\(t)' is not an IPv4 pool: ADDRESS/16 to /30 with its host bits clear, e.g. 192.0.2.64/26 (empty: no IPv4 home addresses)")
            }
            return pool
        }
        guard let home = IPv6Prefix(try text("homePrefix")) else { throw FieldError("homePrefix", "not an IPv6 prefix (ADDRESS/LENGTH)") }
        guard let ha = IPv6Address(try text("homeAgentAddress")) else { throw FieldError("homeAgentAddress", "not an IPv6 address") }
        guard let pool = IPv6Prefix(try text("prefixPool")) else { throw FieldError("prefixPool", "not an IPv6 prefix (ADDRESS/LENGTH)") }
        let port = try number("port")
        guard let p = UInt16(exactly: port) else { throw FieldError("port", "\(port) is not a UDP port") }
        self.init(homePrefix: home, homeAgentAddress: ha,
                                homeAgentEndpoints: try text("homeAgentEndpoints").split(separator: ",").map { $0.trimmingSpaces },
                                port: p, prefixPool: pool, defaultLifetime: try number("defaultLifetime"),
                                maximumPrefixesPerRouter: try number("maximumPrefixesPerRouter"),
                                multipleCareOfAllowed: f["multipleCareOfAllowed"] != nil, openSignUp: f["openSignUp"] != nil,
                                joinTokenLifetime: try number("joinTokenLifetime"), ipv4Pool: try ipv4Pool())
        try validate()
    }
}
