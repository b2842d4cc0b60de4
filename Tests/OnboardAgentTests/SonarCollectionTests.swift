import Foundation
import MobilityLinux
import Testing
import Telemetry
import TestSupport
import Timekeeping
@testable import OnboardAgent

/// The agent collecting a mobile router's SONAR log (the router's own `SonarLog`, answered as its
/// control socket answers) into the outbox.
@Suite struct SonarCollectionTests {
    let wallStart = Instant.seconds(1_152_698_400)

    func runner(_ folder: String, clock: ManualClock) throws -> AgentRunner {
        var c = AgentConfiguration(server: URL(string: "http://127.0.0.1:9")!, token: "t", dataFolder: folder, gps: .none, climate: .none, camera: .none)
        c.mobileRouterControl = "/nonexistent"
        return try AgentRunner(configuration: c, clock: clock)
    }

    /// What `nemo mr` answers to `sonar AFTER` (MobileRouterService.sonarAnswer).
    func asking(_ log: SonarLog) -> (String) throws -> [UInt8] {
        { command in
            let words = command.split(separator: " ")
            #expect(words.first == "sonar")
            return Array(log.answer(after: UInt64(words[1])!).utf8)
        }
    }

    func handovers(_ outbox: Outbox) throws -> [(Timestamp, Handover)] {
        try outbox.pendingRecords().compactMap { r in
            if case .handover(let h) = r.payload { return (r.time, h) }
            return nil
        }
    }

    @Test func handoversGoToTheOutboxOnTheVehicleTimeLineWithWhereTheVehicleWas() throws {
        let folder = temporaryFolder()
        let clock = ManualClock(wallStart)
        let agent = try runner(folder, clock: clock)
        // A replay at 5×: vehicle time runs from 2006-07-12T12:00Z, five times faster than the wall clock.
        let vehicle = VehicleClock(start: .seconds(1_152_705_600), speed: 5, clock: clock)
        agent.notePosition(lat: 48.0, lon: -1.0)
        clock.advance(by: .seconds(2))
        agent.notePosition(lat: 48.1, lon: -1.1)

        var log = SonarLog(instance: "r1")
        log.append(Handover(from: nil, to: "wlan0", toTechnology: .wlan, cause: .startup, registrationDelayMs: 12.5, outageMs: 0, lost: 0),
                   at: wallStart + .seconds(1))
        log.append(Handover(from: "wlan0", to: "wwan0", fromTechnology: .wlan, toTechnology: .cellular, cause: .uplinkLost,
                            registrationDelayMs: 0, outageMs: 0, lost: 4), at: wallStart + .seconds(3))
        #expect(try agent.collectHandoversOnce(clock: vehicle, query: asking(log)) == 2)

        let stored = try handovers(agent.outbox)
        #expect(stored.count == 2)
        #expect(stored[0].0 == Timestamp(Instant.seconds(1_152_705_600 + 5)))
        #expect(stored[0].1 == Handover(from: nil, to: "wlan0", toTechnology: .wlan, cause: .startup, registrationDelayMs: 12.5,
                                        outageMs: 0, lost: 0, lat: 48.0, lon: -1.0))
        #expect(stored[1].0 == Timestamp(Instant.seconds(1_152_705_600 + 15)))
        #expect(stored[1].1.to == "wwan0" && stored[1].1.lost == 4 && stored[1].1.lat == 48.1 && stored[1].1.lon == -1.1)
        #expect(try agent.outbox.sonarCursor() == SonarCursor(instance: "r1", after: 2))

        // Asked again, and after the agent restarts: nothing twice.
        #expect(try agent.collectHandoversOnce(clock: vehicle, query: asking(log)) == 0)
        let restarted = try runner(folder, clock: clock)
        #expect(try restarted.collectHandoversOnce(clock: vehicle, query: asking(log)) == 0)
        log.append(Handover(from: "wwan0", to: "wlan0", cause: .preferredUplink), at: wallStart + .seconds(4))
        #expect(try restarted.collectHandoversOnce(clock: vehicle, query: asking(log)) == 1)
        #expect(try handovers(restarted.outbox).count == 3)
    }

    @Test func aRestartedRouterIsCollectedFromItsFirstRecord() throws {
        let folder = temporaryFolder()
        let clock = ManualClock(wallStart)
        let agent = try runner(folder, clock: clock)
        let vehicle = VehicleClock(start: wallStart, speed: 1, clock: clock)
        var before = SonarLog(instance: "r1")
        for i in 0..<3 { before.append(Handover(from: "a", to: "b", cause: .uplinkLost), at: wallStart + .seconds(Double(i))) }
        #expect(try agent.collectHandoversOnce(clock: vehicle, query: asking(before)) == 3)
        // The router restarts: its new log numbers from 1 again, below the cursor (3).
        var after = SonarLog(instance: "r2")
        after.append(Handover(from: nil, to: "a", cause: .startup), at: wallStart + .seconds(10))
        #expect(try agent.collectHandoversOnce(clock: vehicle, query: asking(after)) == 1)
        #expect(try handovers(agent.outbox).last?.1.cause == .startup)
        #expect(try agent.outbox.sonarCursor() == SonarCursor(instance: "r2", after: 1))
    }

    @Test func theRouterSaysWhatItsRingLetGoOf() throws {
        var log = SonarLog(instance: "r1", capacity: 2)
        for i in 0..<5 { log.append(Handover(from: "a", to: "b", cause: .uplinkLost), at: wallStart + .seconds(Double(i))) }
        let answer = try SonarAnswer(json: Array(log.answer(after: 0).utf8))
        #expect(answer.missed == 3 && answer.next == 6 && answer.records.map(\.seq) == [4, 5])
        #expect(try SonarAnswer(json: Array(log.answer(after: 4).utf8)).missed == 0)
        #expect(try SonarAnswer(json: Array(log.answer(after: 4).utf8)).records.map(\.seq) == [5])
    }

    @Test func anAnswerThatIsNotOneIsRefusedWithWhatIsWrong() {
        #expect(throws: SonarAnswerError.self) { try SonarAnswer(json: Array("unknown command".utf8)) }
        let fix = #"{"instance":"r1","next":2,"missed":0,"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"fix","lat":1,"lon":1}]}"#
        #expect(throws: SonarAnswerError.invalidRecord(index: 0, reason: "kind fix is not a handover")) { try SonarAnswer(json: Array(fix.utf8)) }
        let bad = #"{"instance":"r1","next":2,"missed":0,"records":[{"seq":1,"time":"2006-07-12T10:00:00Z","kind":"handover","to":"a b","cause":"startup"}]}"#
        do {
            _ = try SonarAnswer(json: Array(bad.utf8))
            Issue.record("accepted a bad uplink name")
        } catch {
            guard case .invalidRecord(0, let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("uplink name"))
        }
    }
}
