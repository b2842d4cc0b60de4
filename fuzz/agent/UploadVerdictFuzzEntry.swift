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
    let seqs = (0..<UInt64(count)).map { 1_000_000 + $0 }
    func check(_ verdict: UploadVerdict, count: Int, seqs: [UInt64]) {
        switch verdict {
        case .invalid(let index, _): precondition(index >= 0 && index < count)
        case .acknowledged(let accepted, let duplicates):
            // Compared without `+`: the checker must not overflow where the code under test must not.
            precondition(accepted >= 0 && duplicates >= 0 && accepted <= count && duplicates == count - accepted)
        default: break
        }
        // What the uploader does to the outbox with it: total, never an index outside the batch.
        switch verdict.outboxAction(seqs: seqs) {
        case .remove(let removed): precondition(removed == seqs)
        case .quarantine(let seq, _): precondition(seqs.contains(seq))
        case .oneByOneThrough(let seq, _): precondition(seq == seqs.last)
        case .retry: break
        }
    }
    check(UploadVerdict.forTelemetry(response, count: count), count: count, seqs: seqs)
    if case .acknowledged = UploadVerdict.forTelemetry(response, count: count) { precondition(status == 200) }
    let picture = UploadVerdict.forPicture(response)
    if case .acknowledged(let a, let d) = picture { precondition(a <= 1 && d == 1 - a) }
    check(picture, count: 1, seqs: [7])
    for status in [200, 422] {
        check(UploadVerdict.forTelemetry(UploadResponse(status: status, body: body), count: count), count: count, seqs: seqs)
    }
    return 0
}
