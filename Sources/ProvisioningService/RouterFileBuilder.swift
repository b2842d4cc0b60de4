import Mobility
import MobilityLinux
import Provisioning

/// The `mr.json` a signed-up router runs with: its account, the HA's endpoints and the uplinks and
/// vehicle network its owner named (router advertisements of the first prefix on the latter).
enum RouterFileBuilder {
    static func file(for router: RouterRecord, key: String, settings: ServiceSettings) -> MobileRouterFile {
        let uplinks = router.uplinks.enumerated().map { i, u in
            UplinkFile(name: u.name, bid: UInt16(i + 1), priority: UInt8(i + 1), technology: u.technology.rawValue)
        }
        let ingress = router.ingress.map { name -> IngressFile in
            let first = router.prefixes.first.flatMap(IPv6Prefix.init)
            let address = first.map { IPv6Address(high: $0.address.high, low: 1).description + "/64" }
            return IngressFile(interface: name, address: address, routerAdvertisements: true)
        }
        var file = MobileRouterFile(homeAddress: router.homeAddress, homeAgentAddress: settings.homeAgentAddress.description,
                                homeAgentEndpoints: settings.homeAgentEndpoints, port: settings.port,
                                prefixes: router.prefixes.compactMap(IPv6Prefix.init), spi: router.spi, key: key,
                                nai: "router-\(router.id)", lifetime: router.lifetime, multipleCareOf: router.multipleCareOf,
                                uplinks: uplinks, ingress: ingress)
        file.ipv4HomeAddress = router.ipv4HomeAddress
        return file
    }
}
