import FoundationEssentials
import HTTPTransport
import Logging
import Telemetry
import Timekeeping

/// Empties the outbox into the server: fix and climate records in batches, pictures one by one,
/// each kind in sequence order. Readings leave the outbox only once the server acknowledged them.
/// `@unchecked`: its two `var`s (retry policy, one-by-one mark) belong to the one task that runs
/// `run`/`flush`; everything else is immutable or Sendable.
public final class Uploader: @unchecked Sendable {
    // @unchecked: `policy` and `batchLimit` are only touched by the one task running `run`/`flush`.
    public let outbox: Outbox
    let transport: any UploadTransport
    let logger: Logger
    let sleep: @Sendable (Duration) async throws -> Void
    /// Where the uploader reads "now" (to time uploads and honour a flush deadline).
    let clock: any InstantClock
    var policy: RetryPolicy
    let batchLimit: Int
    /// After a 422 that does not say which record was wrong, the records up to this seq go one by one.
    var oneByOneThrough: UInt64?

    /// The result of one attempt.
    public enum Step: Sendable, Equatable {
        case idle
        case sent
        case failed(Duration)
    }

    public init(outbox: Outbox, transport: any UploadTransport, policy: RetryPolicy = RetryPolicy(),
                batchLimit: Int = 500, logger: Logger = Logger(label: "monnemo-agent.upload"),
                clock: any InstantClock = SystemClock(),
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.outbox = outbox
        self.transport = transport
        self.policy = policy
        self.batchLimit = max(1, batchLimit)
        self.logger = logger
        self.clock = clock
        self.sleep = sleep
    }

    /// Uploads until cancelled: drains while there is work, waits for `wakeups` when idle and
    /// backs off (per `RetryPolicy`) after failures. `minimumInterval` spaces uploads so readings
    /// that arrive together travel together.
    public func run(wakeups: AsyncStream<Void>, minimumInterval: Duration = .zero) async {
        var iterator = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            switch await attempt() {
            case .idle:
                guard await iterator.next() != nil else { return }
                if minimumInterval > .zero { try? await sleep(minimumInterval) }
            case .sent:
                continue
            case .failed(let delay):
                do { try await sleep(delay) } catch { return }
            }
        }
    }

    /// Sends what it can before `deadline` (for a clean stop): stops at the first failure.
    public func flush(until deadline: Instant) async {
        while clock.now() < deadline {
            guard case .sent = await attempt() else { return }
        }
    }

    /// One upload: the oldest records if any, else the oldest picture.
    public func attempt() async -> Step {
        do {
            var records = try outbox.pendingRecords(limit: batchLimit)
            if let through = oneByOneThrough, let first = records.first {
                if first.seq <= through { records = [first] } else { oneByOneThrough = nil }
            }
            if !records.isEmpty { return await send(records) }
            if let picture = try outbox.nextPicture() { return await send(picture) }
            return .idle
        } catch {
            logger.error("outbox read failed: \(error)")
            return .failed(policy.delayAfterFailure())
        }
    }

    private func send(_ records: [TelemetryRecord]) async -> Step {
        let started = clock.now()
        let body = TelemetryBatch(records: records).jsonData()
        let range = records.count == 1 ? "seq \(records[0].seq)" : "seq \(records.first!.seq)…\(records.last!.seq)"
        let verdict: UploadVerdict
        do {
            verdict = UploadVerdict.forTelemetry(try await transport.postTelemetry(body), count: records.count)
        } catch {
            verdict = .retry(reason: Self.describe(error))
        }
        return conclude(verdict, what: "\(records.count) record(s) \(range), \(body.count) bytes", started: started,
                        seqs: records.map(\.seq))
    }

    private func send(_ picture: OutboxPicture) async -> Step {
        let started = clock.now()
        let verdict: UploadVerdict
        do {
            verdict = UploadVerdict.forPicture(try await transport.postPicture(picture))
        } catch {
            verdict = .retry(reason: Self.describe(error))
        }
        return conclude(verdict, what: "picture seq \(picture.seq), \(picture.jpeg.count) bytes", started: started,
                        seqs: [picture.seq])
    }

    /// A transport error in one line ("cannot connect to 10.0.0.1 port 8080: connection refused").
    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError { return e.description }
        return "\(error)"
    }

    private func conclude(_ verdict: UploadVerdict, what: String, started: Instant, seqs: [UInt64]) -> Step {
        let ms = (clock.now() - started).components
        let elapsed = "\(ms.seconds) s \(ms.attoseconds / 1_000_000_000_000_000) ms"
        var accepted = 0, duplicates = 0
        if case .acknowledged(let a, let d) = verdict { accepted = a; duplicates = d }
        do {
            switch verdict.outboxAction(seqs: seqs) {
            case .remove(let acknowledged):
                try outbox.remove(seqs: acknowledged)
                policy.succeeded()
                let summary = "ok: \(what), accepted \(accepted), duplicates \(duplicates), \(elapsed)"
                try? outbox.recordUpload(summary, at: clock.now())
                logger.info("uploaded \(what): accepted \(accepted), duplicates \(duplicates), \(elapsed)")
                return .sent
            case .quarantine(let seq, let reason):
                try outbox.quarantine(seq: seq, reason: reason)
                policy.succeeded()
                try? outbox.recordUpload("refused: \(what): seq \(seq) quarantined: \(reason)", at: clock.now())
                logger.error("server refused seq \(seq) as invalid; quarantined it (see `monnemo-agent status`): \(reason)")
                return .sent
            case .oneByOneThrough(let last, let reason):
                oneByOneThrough = last
                logger.warning("server refused \(what) without naming the record (\(reason)); sending one at a time")
                return .sent
            case .retry(let reason):
                let delay = policy.delayAfterFailure()
                try? outbox.recordUpload("failed: \(what): \(reason)", at: clock.now())
                logger.warning("upload of \(what) failed after \(elapsed): \(reason); retry \(policy.failures) in \(delay)")
                return .failed(delay)
            }
        } catch {
            logger.error("outbox write failed: \(error)")
            return .failed(policy.delayAfterFailure())
        }
    }
}
