import Foundation
import HTTPTransport
import Synchronization
import Testing
import Telemetry
@testable import OnboardAgent
import TestSupport
import Timekeeping

/// A virtual clock: `sleep` advances it instantly and records the wait.
final class VirtualClock: Sendable {
    let clock = ManualClock()
    private let recorded = Mutex<[Duration]>([])
    var now: Instant { clock.now() }
    var sleeps: [Duration] { recorded.withLock { $0 } }
    func sleep(_ d: Duration) { recorded.withLock { $0.append(d) }; clock.advance(by: d) }
}

/// A scripted server: answers from a list, then with a real acknowledgement; records what it got.
final class ScriptedTransport: UploadTransport {
    enum Answer: Sendable { case respond(Int, String), fail }
    private let state = Mutex<(script: [Answer], batches: [[UInt64]], pictures: [UInt64])>(([], [], []))
    init(_ script: [Answer]) { state.withLock { $0.script = script } }
    var batches: [[UInt64]] { state.withLock { $0.batches } }
    var pictures: [UInt64] { state.withLock { $0.pictures } }

    private func next() -> Answer? { state.withLock { $0.script.isEmpty ? nil : $0.script.removeFirst() } }

    func postTelemetry(_ body: Data) async throws -> UploadResponse {
        let batch = try TelemetryBatch(json: body)
        state.withLock { $0.batches.append(batch.records.map(\.seq)) }
        switch next() {
        case .fail: throw HTTPClientError.timedOut(phase: .receive, seconds: 15)
        case .respond(let status, let text)?: return UploadResponse(status: status, body: Array(text.utf8))
        case nil: return UploadResponse(status: 200, body: Array("{\"accepted\":\(batch.records.count),\"duplicates\":0}".utf8))
        }
    }

    func postPicture(_ picture: OutboxPicture) async throws -> UploadResponse {
        state.withLock { $0.pictures.append(picture.seq) }
        switch next() {
        case .fail: throw HTTPClientError.timedOut(phase: .receive, seconds: 15)
        case .respond(let status, let text)?: return UploadResponse(status: status, body: Array(text.utf8))
        case nil: return UploadResponse(status: 201, body: Array("{\"id\":\"v-\(picture.seq)\",\"duplicate\":false}".utf8))
        }
    }
}

func makeUploader(_ outbox: Outbox, _ transport: ScriptedTransport, _ clock: VirtualClock, batchLimit: Int = 500) -> Uploader {
    Uploader(outbox: outbox, transport: transport, policy: RetryPolicy(base: .milliseconds(500), cap: .seconds(8), seed: 42),
             batchLimit: batchLimit, clock: clock.clock, sleep: { clock.sleep($0) })
}

/// Drives the uploader until it is idle, sleeping on the virtual clock after failures.
func drain(_ uploader: Uploader, _ clock: VirtualClock, maxSteps: Int = 100) async -> Int {
    for step in 0..<maxSteps {
        switch await uploader.attempt() {
        case .idle: return step
        case .sent: continue
        case .failed(let d): clock.sleep(d)
        }
    }
    return maxSteps
}

@Suite struct RetryPolicyTests {
    @Test func backoffDoublesWithJitterUpToTheCapAndResets() {
        var p = RetryPolicy(base: .milliseconds(500), cap: .seconds(8), seed: 7)
        var steps: [Duration] = []
        for _ in 0..<10 { steps.append(p.delayAfterFailure()) }
        let nominal: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8),
                                   .seconds(8), .seconds(8), .seconds(8), .seconds(8)]
        for (d, n) in zip(steps, nominal) { #expect(d >= n / 2 && d <= n, "\(d) not within [\(n / 2), \(n)]") }
        // Jitter: the capped waits are not all equal.
        #expect(Set(steps.suffix(6)).count > 1)
        p.succeeded()
        #expect(p.delayAfterFailure() <= .milliseconds(500))
        // Same seed, same waits.
        var q = RetryPolicy(base: .milliseconds(500), cap: .seconds(8), seed: 7)
        #expect((0..<10).map { _ in q.delayAfterFailure() } == steps)
    }
}

@Suite struct UploaderTests {
    @Test func retriesWithBackoffOnTheVirtualClockThenDeletesOnlyWhatWasAcknowledged() async throws {
        let outbox = try Outbox(path: temporaryFolder() + "/o.sqlite")
        let seqs = try (0..<5).map { try outbox.append(fixReading($0)).seq }
        let transport = ScriptedTransport([.fail, .respond(500, "{\"error\":\"internal\"}"), .respond(200, "<html>garbage"),
                                           .respond(200, "{\"accepted\":2,\"duplicates\":0}"), .respond(503, "")])
        let clock = VirtualClock()
        let uploader = makeUploader(outbox, transport, clock)
        let start = clock.now
        let steps = await drain(uploader, clock)
        // Five failed answers (a 200 that counts the wrong number of records is not an acknowledgement), then success.
        #expect(transport.batches.count == 6)
        #expect(transport.batches.allSatisfy { $0 == seqs })
        #expect(clock.sleeps.count == 5)
        let nominal: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8)]
        for (d, n) in zip(clock.sleeps, nominal) { #expect(d >= n / 2 && d <= n) }
        #expect(clock.now - start >= .milliseconds(7750))
        #expect(steps == 6)
        #expect(try outbox.status().depth == 0)
        #expect(try outbox.status().lastUpload?.hasPrefix("ok:") == true)
    }

    @Test func quarantinesTheRecordA422NamesAndSendsTheRest() async throws {
        let outbox = try Outbox(path: temporaryFolder() + "/o.sqlite")
        let seqs = try (0..<4).map { try outbox.append(fixReading($0)).seq }
        let transport = ScriptedTransport([.respond(422, "{\"error\":\"invalid_record\",\"detail\":\"record 2: lat 91 outside -90…90; nothing of this batch was stored\",\"index\":2}")])
        let clock = VirtualClock()
        _ = await drain(makeUploader(outbox, transport, clock), clock)
        #expect(transport.batches == [seqs, [seqs[0], seqs[1], seqs[3]]])
        #expect(clock.sleeps.isEmpty)
        let q = try outbox.quarantined()
        #expect(q.map(\.seq) == [seqs[2]] && q[0].reason.contains("lat 91"))
        #expect(try outbox.status().depth == 0)
    }

    @Test func a422WithoutARecordIndexFallsBackToOneAtATime() async throws {
        let outbox = try Outbox(path: temporaryFolder() + "/o.sqlite")
        let seqs = try (0..<3).map { try outbox.append(fixReading($0)).seq }
        let transport = ScriptedTransport([.respond(422, "{\"detail\":\"something is wrong\"}"), .respond(200, "{\"accepted\":1,\"duplicates\":0}"),
                                           .respond(422, "{\"detail\":\"that one\"}")])
        let clock = VirtualClock()
        _ = await drain(makeUploader(outbox, transport, clock), clock)
        #expect(transport.batches.first == seqs)
        #expect(transport.batches[1] == [seqs[0]] && transport.batches[2] == [seqs[1]])
        #expect(try outbox.quarantined().map(\.seq) == [seqs[1]])
        #expect(try outbox.status().depth == 0)
    }

    @Test func picturesTravelSeparatelyInOrderAndRefusedOnesAreQuarantined() async throws {
        let outbox = try Outbox(path: temporaryFolder() + "/o.sqlite")
        let p1 = try outbox.append(pictureReading(1)).seq
        let f = try outbox.append(fixReading(1)).seq
        let p2 = try outbox.append(pictureReading(2)).seq
        let p3 = try outbox.append(pictureReading(3)).seq
        let transport = ScriptedTransport([.respond(200, "{\"accepted\":1,\"duplicates\":0}"), .fail,
                                           .respond(201, "{\"id\":\"x\",\"duplicate\":true}"), .respond(415, "{\"detail\":\"not a JPEG\"}")])
        let clock = VirtualClock()
        _ = await drain(makeUploader(outbox, transport, clock), clock)
        #expect(transport.batches == [[f]])
        #expect(transport.pictures == [p1, p1, p2, p3])
        #expect(try outbox.quarantined().map(\.seq) == [p2])
        #expect(clock.sleeps.count == 1)
        #expect(try outbox.status().depth == 0)
    }

    @Test func runWaitsForWakeupsAndStopsWhenTheyEnd() async throws {
        let outbox = try Outbox(path: temporaryFolder() + "/o.sqlite")
        let transport = ScriptedTransport([])
        let clock = VirtualClock()
        let uploader = makeUploader(outbox, transport, clock)
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let task = Task { await uploader.run(wakeups: wakeups) }
        let seq = try outbox.append(fixReading(0)).seq
        wake.yield()
        for _ in 0..<200 where try outbox.status().depth > 0 { try await Task.sleep(for: .milliseconds(10)) }
        wake.finish()
        await task.value
        #expect(transport.batches == [[seq]])
    }

    @Test("query values are percent-encoded")
    func percentEncoding() {
        #expect(HTTPUploadTransport.percentEncoded("2026-12-04T10:00:00.000Z") == "2026-12-04T10%3A00%3A00.000Z")
        #expect(HTTPUploadTransport.percentEncoded("-0.37+é") == "-0.37%2B%C3%A9")
    }

    @Test func verdicts() {
        #expect(UploadVerdict.forTelemetry(.init(status: 200, body: Array("{\"accepted\":3,\"duplicates\":1}".utf8)), count: 4)
                == .acknowledged(accepted: 3, duplicates: 1))
        if case .retry = UploadVerdict.forTelemetry(.init(status: 200, body: Array("{\"accepted\":3}".utf8)), count: 3) {} else { Issue.record("half an answer is not an acknowledgement") }
        if case .retry = UploadVerdict.forTelemetry(.init(status: 401, body: []), count: 1) {} else { Issue.record("401 must retry") }
        #expect(UploadVerdict.forTelemetry(.init(status: 422, body: Array("{\"detail\":\"record 7: x\"}".utf8)), count: 3)
                == .invalidUnlocated(reason: "record 7: x"))
        // The index is read from its field, never from the prose.
        #expect(UploadVerdict.forTelemetry(.init(status: 422, body: Array("{\"detail\":\"record 1: x\"}".utf8)), count: 3)
                == .invalidUnlocated(reason: "record 1: x"))
        #expect(UploadVerdict.forTelemetry(.init(status: 422, body: Array("{\"detail\":\"bad lat\",\"index\":1}".utf8)), count: 3)
                == .invalid(index: 1, reason: "bad lat"))
        if case .retry = UploadVerdict.forPicture(.init(status: 201, body: Array("nope".utf8))) {} else { Issue.record("garbage 201") }
    }
}
