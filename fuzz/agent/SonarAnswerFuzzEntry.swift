import Foundation
/// What the mobile router's control socket answers is input the agent stores and uploads: any bytes
/// give an answer or an error, never a crash, and an accepted answer holds only handover records
/// that survive their own JSON (what the outbox stores and the server reads).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let answer = try? SonarAnswer(json: bytes) else { return 0 }
    precondition(!answer.instance.isEmpty && answer.instance.utf8.count <= 64)
    for record in answer.records {
        guard case .handover(let h) = record.payload else { preconditionFailure("a record that is not a handover") }
        precondition(Handover.isValidUplinkName(h.to))
        let again = try! TelemetryBatch(json: Data("{\"records\":[\(record.jsonObjectText())]}".utf8))
        precondition(again.records == [record])
    }
    return 0
}
