import FoundationEssentials
import Telemetry

/// How far the agent has collected a mobile router's SONAR log: the router's run (`instance`)
/// and the last record number stored in the outbox.
public struct SonarCursor: Sendable, Hashable {
    public var instance: String
    public var after: UInt64
    public init(instance: String, after: UInt64) { self.instance = instance; self.after = after }
}

/// Why an answer from the router's control socket was not understood.
public enum SonarAnswerError: Error, Sendable, Equatable {
    /// Not the JSON object `sonar AFTER` answers (`detail` says what was wrong).
    case malformed(detail: String)
    /// A record in it breaks the telemetry API's rules.
    case invalidRecord(index: Int, reason: String)
}

/// The mobile router's answer to `sonar AFTER` on its control socket (`nemo mr`, SonarLog):
/// `{"instance": "...", "next": N, "missed": M, "records": [handover records]}`. The records are
/// checked by the same rules the map server applies; their `seq` is the router's number and their
/// `time` the router's wall clock.
public struct SonarAnswer: Sendable, Equatable {
    public var instance: String
    public var next: UInt64
    /// Records the router's ring let go of before they were collected.
    public var missed: UInt64
    public var records: [TelemetryRecord]

    private struct Header: Decodable {
        var instance: String
        var next: UInt64
        var missed: UInt64
    }

    public init(json bytes: [UInt8]) throws(SonarAnswerError) {
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes))
        } catch {
            throw .malformed(detail: "not a SONAR answer: \(error)")
        }
        guard !header.instance.isEmpty, header.instance.utf8.count <= 64 else { throw .malformed(detail: "instance must be 1-64 characters") }
        let decoded: Result<TelemetryBatch, BatchValidationError> = bytes.withUnsafeBytes { raw in
            Result { () throws(BatchValidationError) in try TelemetryBatch(jsonBytes: raw) }
        }
        let batch: TelemetryBatch
        switch decoded {
        case .success(let b): batch = b
        case .failure(let error):
            if let index = error.index { throw .invalidRecord(index: index, reason: error.reason) }
            throw .malformed(detail: error.description)
        }
        for (i, r) in batch.records.enumerated() {
            guard case .handover = r.payload else { throw .invalidRecord(index: i, reason: "kind \(r.payload.kind.rawValue) is not a handover") }
        }
        instance = header.instance
        next = header.next
        missed = header.missed
        records = batch.records
    }
}
