import Mobility

/// The keys of a mobile router's file that belong to the vehicle, not to its account: a join
/// keeps them from the local file over the service's. Every key is optional, so a vehicle's own
/// file without account keys (no homeAddress, spi, key...) reads too.
public struct VehicleLocalKeys: Codable, Sendable {
    public var uplinks: [UplinkFile]?
    public var ingress: IngressFile?
    public var flowPolicies: [FlowPolicy]?
    public var control: String?
    public var tunnel: String?
    public var table: UInt32?
    public var mtu: UInt32?
    public var metricsPort: UInt16?
    public var discardDuplicates: Bool?
    public var refusalRetry: Int?

    public init() {}

    /// `file` with each key this vehicle has replacing the service's.
    public func applied(to file: MobileRouterFile) -> MobileRouterFile {
        var out = file
        if let uplinks { out.uplinks = uplinks }
        if let ingress { out.ingress = ingress }
        if let flowPolicies { out.flowPolicies = flowPolicies }
        if let control { out.control = control }
        if let tunnel { out.tunnel = tunnel }
        if let table { out.table = table }
        if let mtu { out.mtu = mtu }
        if let metricsPort { out.metricsPort = metricsPort }
        if let discardDuplicates { out.discardDuplicates = discardDuplicates }
        if let refusalRetry { out.refusalRetry = refusalRetry }
        return out
    }
}
