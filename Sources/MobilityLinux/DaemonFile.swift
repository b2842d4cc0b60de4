import Mobility

/// The keys the `nemo ha` and `nemo mr` configuration files share; `nemo` gives each a flag that
/// overrides it (`DaemonOptions`).
public protocol DaemonFile: Codable, Sendable {
    /// The TUN device's name (default nemo0).
    var tunnel: String? { get set }
    /// The TUN device's MTU (default 1400).
    var mtu: UInt32? { get set }
    /// The control socket `nemo status` talks to.
    var control: String? { get set }
    /// The HTTP port serving Prometheus metrics (none by default).
    var metricsPort: UInt16? { get set }
}

extension DaemonFile {
    public var tunnelName: String { tunnel ?? "nemo0" }
    public var tunnelMTU: UInt32 { mtu ?? 1400 }
}

extension HomeAgentFile: DaemonFile {}
extension MobileRouterFile: DaemonFile {}

/// Opens the daemon's TUN device (`tunnel`) and finds its interface index.
func openTunnel(_ file: some DaemonFile) throws -> (device: TunDevice, index: Int32) {
    let tun = try TunDevice(name: file.tunnelName)
    guard let index = interfaceIndex(tun.name) else { throw SystemError("no index for \(tun.name)") }
    return (tun, index)
}
