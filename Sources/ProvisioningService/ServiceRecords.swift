import Provisioning

/// Who may do what: a user manages their own routers; an operator manages everyone's and the service.
public enum Role: String, Sendable, Codable, CaseIterable {
    case user, `operator`
}

/// A user account as the pages and the API show it (never the password hash).
public struct UserRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var name: String
    public var role: Role
    public var suspended: Bool
    public var createdAt: Int64
}

/// A mobile router's state at the service: `active` routers are in the HA's accounts file;
/// `suspended` ones are out of it until resumed; `revoked` ones are out for good.
public enum RouterStatus: String, Sendable, Codable, CaseIterable {
    case active, suspended, revoked
}

/// A signed-up mobile router (never its key: that is shown once, when made).
public struct RouterRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var owner: Int64
    public var ownerName: String
    public var name: String
    public var homeAddress: String
    /// The IPv4 home address (RFC 5555), when the operator's settings have an IPv4 pool.
    public var ipv4HomeAddress: String?
    public var prefixes: [String]
    public var spi: UInt32
    public var status: RouterStatus
    public var lifetime: Int
    public var multipleCareOf: Bool
    public var uplinks: [RouterRequest.Uplink]
    public var ingress: String?
    public var keyGeneration: Int
    public var createdAt: Int64
    /// Whether the latest join token was used (the router fetched its configuration).
    public var joined: Bool
    /// The vehicle's id on the live map (its SONAR handovers), if the owner gave one.
    public var vehicle: String? = nil
}

/// What a sign-up or a re-key hands out, once: the key and the join token (and the router's file).
public struct Credentials: Sendable, Hashable {
    public var router: RouterRecord
    /// The MN-HA key (32 hex digits).
    public var key: String
    public var joinToken: String
    public var tokenExpiresAt: Int64
}
