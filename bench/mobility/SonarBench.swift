import ArgumentParser
import Mobility
import MobilityLinux
import Telemetry
import Timekeeping

/// What SONAR costs the mobile router per handover: making the record, keeping it in the ring and
/// answering the agent's `sonar AFTER` (in the agent's batches), and the record's bytes on the uplink.
struct SonarBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sonar",
        abstract: "Time SONAR handover records through the mobile router's log and answers.")

    @Option(name: .long, help: "Handovers to record.")
    var handovers: Int = 200_000

    @Option(name: .long, help: "Handovers between two answers (the agent asks once a second).")
    var batch: Int = 10

    func run() throws {
        guard handovers > 0, batch > 0 else { throw ValidationError("--handovers and --batch must be positive") }
        let clock = SystemClock()
        var log = SonarLog(instance: "bench")
        let technology: (String) -> AccessTechnology? = { $0 == "wlan0" ? .wlan : .cellular }
        var answered: UInt64 = 0
        var bytes = 0
        let start = clock.now()
        for i in 0..<handovers {
            let (from, to) = i % 2 == 0 ? ("wlan0", "wwan0") : ("wwan0", "wlan0")
            let event = HandoverEvent(from: from, to: to, careOf: nil, reason: i % 2 == 0 ? .uplinkLost : .preferredUplink,
                                      registrationDelay: .milliseconds(Int64(40 + i % 7)), outage: .zero)
            log.append(Handover(event, technology: technology, lost: UInt64(i % 5)), at: clock.now())
            if (i + 1) % batch == 0 || i == handovers - 1 {
                let answer = log.answer(after: answered)
                bytes += answer.utf8.count
                answered = log.nextNumber - 1
            }
        }
        let elapsed = (clock.now() - start).secondsValue
        let record = log.records.last.map { $0.jsonObjectText().utf8.count } ?? 0
        print("per_handover_us \(String(format: "%.2f", elapsed * 1e6 / Double(handovers))) record_bytes \(record) answer_bytes_per_handover \(bytes / handovers)")
    }
}
