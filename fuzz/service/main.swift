import Foundation
import Mobility
import Telemetry

// The Home Agent service's input parsers, up to where their values are used: a page's form body
// (FormBody) into a sign-up request and the operator's settings, each validated against the
// settings; the API's JSON bodies (sign-up, settings, join) decoded and validated the same way;
// the SONAR repository's pages decoded into the handover delay distribution.
// The first byte picks the path; the rest is the input.

let settings = ServiceSettings(homePrefix: IPv6Prefix("2001:db8:1::/64")!, homeAgentAddress: IPv6Address("2001:db8:1::1")!,
                               homeAgentEndpoints: ["2001:db8:ff::1"], prefixPool: IPv6Prefix("2001:db8:100::/48")!)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let snake = JSONDecoder()
    snake.keyDecodingStrategy = .convertFromSnakeCase
    switch data[0] % 6 {
    case 0:
        if let form = try? FormBody(parsing: bytes), let r = try? RouterRequest(form: form) {
            try? r.validate(against: settings)
        }
    case 1:
        if let form = try? FormBody(parsing: bytes), let s = try? ServiceSettings(form: form) {
            // A valid pool is cut into /64s and home addresses at both ends.
            _ = s.mobileNetworkPrefix(number: 0)
            _ = s.mobileNetworkPrefix(number: .max)
            _ = s.homeAddress(number: 0)
            _ = s.homeAddress(number: .max)
            _ = s.ipv4Pool?.address(number: 0)
            _ = s.ipv4Pool?.address(number: .max)
        }
    case 2:
        if let r = try? snake.decode(RouterRequest.self, from: Data(bytes)) { try? r.validate(against: settings) }
    case 3:
        if let s = try? snake.decode(ServiceSettings.self, from: Data(bytes)), (try? s.validate()) != nil {
            _ = s.mobileNetworkPrefix(number: UInt64(size))
            _ = s.homeAddress(number: UInt64(size))
        }
    case 4:
        // The SONAR repository's answers (vehicle list, handover pages) up to the operator's figures.
        if let page = try? JSONDecoder().decode([SonarHandover].self, from: Data(bytes)) {
            let d = HandoverDelays(page)
            _ = d.technologies.map { $0.histogram.count }
            _ = TechnologyTime(page, now: Timestamp(microseconds: Int64(size) * 1_000_000)).shares.count
        }
        _ = try? JSONDecoder().decode([SonarVehicle].self, from: Data(bytes))
    default:
        if let j = try? JSONDecoder().decode(JoinRequest.self, from: Data(bytes)) {
            _ = JoinSeal.verify(proof: j.proof, tokenKey: Array(repeating: 7, count: 32), id: j.tokenID, nonce: j.nonce)
        }
        _ = try? JoinToken(parsing: String(decoding: bytes, as: UTF8.self))
    }
    return 0
}
