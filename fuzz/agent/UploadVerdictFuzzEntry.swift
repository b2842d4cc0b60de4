import Foundation

/// Server answers are network input: any status and body must give a verdict, never a crash,
/// and a verdict's index must point into the batch.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let status = 100 + Int(data[0]) * 2
    let count = 1 + Int(data[1] % 32)
    let body = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    let response = UploadResponse(status: status, body: body)
    switch UploadVerdict.forTelemetry(response, count: count) {
    case .invalid(let index, _): precondition(index >= 0 && index < count)
    case .acknowledged(let accepted, let duplicates): precondition(accepted + duplicates == count && status == 200)
    default: break
    }
    if case .acknowledged(let a, let d) = UploadVerdict.forPicture(response) { precondition(a + d == 1) }
    for status in [200, 422] {
        _ = UploadVerdict.forTelemetry(UploadResponse(status: status, body: body), count: count)
    }
    return 0
}
