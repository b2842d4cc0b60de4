import Foundation
import Mobility
import SystemSupport

/// libFuzzer entry over what `nemo mr --join` does with the Home Agent service's answer:
/// `JoinAnswerReader` (status, then the `{"sealed": HEX}` JSON, `JoinSeal.open`, the opened
/// `MobileRouterFile`), the vehicle keys laid over it, and the checks `nemo mr` makes before it
/// runs on the file. The first byte picks what the rest is:
///  0. a 200 answer's body, as a service (or anyone on the path) could send it;
///  1. a configuration the service seals honestly (so the fuzzer reaches the decoder behind the seal);
///  2. the same, with one bit of the sealed answer flipped: it must never open;
///  3. a status (two bytes) and a body: the refusals and their `detail`.
/// Anything may be refused with an error; nothing may trap, and a file that is read must write
/// back to JSON that reads to the same account.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let mode = data[0] % 4
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let token = JoinToken(id: "0123456789abcdef", secret: Array(0..<16))
    let nonce = [UInt8](repeating: 7, count: JoinSeal.nonceLength)
    var status = 200
    var body = bytes
    switch mode {
    case 1, 2:
        var sealed = JoinSeal.seal(bytes, tokenKey: token.key, id: token.id, nonce: nonce)
        if mode == 2 {
            let at = bytes.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF } % sealed.count
            sealed[at] ^= 1 << UInt8(at % 8)
        }
        body = Array(#"{"sealed": ""#.utf8) + Array(Hex.encode(sealed).utf8) + Array(#""}"#.utf8)
    case 3:
        guard bytes.count >= 2 else { return 0 }
        status = (Int(bytes[0]) << 8 | Int(bytes[1])) % 600
        body = Array(bytes.dropFirst(2))
    default:
        break
    }
    do {
        let file = try JoinAnswerReader.configuration(status: status, body: body, token: token, nonce: nonce,
                                                      url: "http://fuzz.invalid", retryAfter: mode == 3 ? String(decoding: body.prefix(8), as: UTF8.self) : nil)
        precondition(mode != 2, "an answer with a flipped bit opened")
        precondition(status == 200, "a refusal read as a configuration")
        var joined = file
        // The local file's keys come from the vehicle, not the network, but go through the same merge.
        if let local = try? JSONDecoder().decode(VehicleLocalKeys.self, from: Data(bytes)) { joined = local.applied(to: joined) }
        joined.joined = JoinedFrom(service: "http://fuzz.invalid", tokenID: token.id)
        _ = try? joined.mobileRouterConfiguration()
        let written = try JSONEncoder().encode(joined)
        let reread = try JSONDecoder().decode(MobileRouterFile.self, from: written)
        precondition(reread.homeAddress == joined.homeAddress && reread.key == joined.key && reread.spi == joined.spi
                     && reread.prefixes == joined.prefixes && reread.joined == joined.joined, "the written file reads back differently")
    } catch let error as ServiceJoinError {
        if mode == 2 { precondition(error == .sealBroken, "a flipped bit gave \(error), not sealBroken") }
        if mode == 1 { precondition(error != .sealBroken, "an honest seal did not open") }
        // Every message is printable without trapping.
        _ = error.description
    } catch {
        preconditionFailure("re-encoding a file that was read failed: \(error)")
    }
    return 0
}
