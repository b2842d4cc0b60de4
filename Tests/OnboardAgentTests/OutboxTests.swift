import Foundation
import Testing
import Telemetry
import TestSupport
import Timekeeping
@testable import OnboardAgent

func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "agent-test-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func fixReading(_ i: Int) -> NewReading {
    .fix(Fix(lat: 43 + Double(i) * 1e-4, lon: -0.37, alt: 190, speed: 5, track: 90, mode: .threeD, eph: 3),
         time: Timestamp(microseconds: 1_152_698_400_000_000 + Int64(i) * 1_000_000))
}

func climateReading(_ i: Int) -> NewReading {
    .climate(ClimateReading(temperature: 20 + Double(i) / 10, humidity: 50), time: Timestamp(microseconds: 1_152_698_400_000_000 + Int64(i) * 10_000_000))
}

func pictureReading(_ i: Int, bytes: Int = 1000) -> NewReading {
    .picture(jpeg: [0xFF, 0xD8] + [UInt8](repeating: UInt8(i & 0xFF), count: bytes - 4) + [0xFF, 0xD9],
             time: Timestamp(microseconds: 1_152_698_400_000_000 + Int64(i) * 30_000_000), lat: 43, lon: -0.37)
}

@Suite struct OutboxTests {
    @Test func sequenceNumbersAreConsecutiveAcrossKindsAndStartAtCreationTime() throws {
        let folder = temporaryFolder()
        let created = Instant.seconds(1_700_000_000)
        let outbox = try Outbox(path: folder + "/o.sqlite", now: created)
        let a = try outbox.append(fixReading(0)).seq
        let b = try outbox.append(climateReading(0)).seq
        let c = try outbox.append(pictureReading(0)).seq
        #expect(a == 1_700_000_000_000_000)
        #expect(b == a + 1 && c == a + 2)
        let s = try outbox.status()
        #expect(s.firstSeq == a && s.nextSeq == a + 3)
        #expect(s.pending[.fix] == 1 && s.pending[.climate] == 1 && s.pending[.picture] == 1)
        #expect(s.oldestPendingTime == Timestamp(microseconds: 1_152_698_400_000_000))
    }

    @Test func readingsAndCounterSurviveReopen() throws {
        let folder = temporaryFolder()
        let path = folder + "/o.sqlite"
        var seqs: [UInt64] = []
        do {
            let outbox = try Outbox(path: path)
            for i in 0..<5 { seqs.append(try outbox.append(fixReading(i)).seq) }
            try outbox.remove(seqs: [seqs[0]])
        }
        let reopened = try Outbox(path: path, now: .seconds(2_000_000_000))
        let records = try reopened.pendingRecords()
        #expect(records.map(\.seq) == Array(seqs[1...]))
        guard case .fix(let f) = records[0].payload else { Issue.record("not a fix"); return }
        #expect(f.lat == 43 + 1e-4 && f.mode == .threeD && f.eph == 3)
        // The counter continues; it does not restart from the (later) reopening time.
        #expect(try reopened.append(fixReading(9)).seq == seqs[4] + 1)
        #expect(try reopened.lastTime(of: .fix) == Timestamp(microseconds: 1_152_698_400_000_000 + 9_000_000))
    }

    @Test func batchesFollowSequenceOrderAndRespectLimits() throws {
        let outbox = try Outbox(path: temporaryFolder() + "/o.sqlite")
        for i in 0..<30 { try outbox.append(i % 3 == 0 ? climateReading(i) : fixReading(i)) }
        try outbox.append(pictureReading(1))
        let all = try outbox.pendingRecords()
        #expect(all.count == 30)
        #expect(all.map(\.seq) == all.map(\.seq).sorted())
        #expect(try outbox.pendingRecords(limit: 7).count == 7)
        let small = try outbox.pendingRecords(maxBytes: 1000)
        #expect(small.count > 0 && small.count < 30)
        #expect(TelemetryBatch(records: small).jsonData().count <= 1000 + 16)
        #expect(try outbox.nextPicture()?.jpeg.count == 1000)
    }

    @Test func capDropsOldestPicturesFirstThenClimateNeverFixes() throws {
        let outbox = try Outbox(path: temporaryFolder() + "/o.sqlite", capBytes: 10_000)
        var pictureSeqs: [UInt64] = []
        for i in 0..<4 { pictureSeqs.append(try outbox.append(pictureReading(i, bytes: 2000)).seq) }
        for i in 0..<10 { try outbox.append(fixReading(i)) }
        // 8000 bytes of pictures + ~1300 of fixes: under the cap, nothing dropped.
        #expect(try outbox.status().droppedPictures == 0)
        let (_, drop) = try outbox.append(pictureReading(9, bytes: 2000))
        #expect(drop?.pictures == 1 && drop?.climate == 0)
        #expect(try outbox.nextPicture()?.seq == pictureSeqs[1])
        // Climate next, then nothing more to drop: fixes stay even far over the cap.
        for i in 0..<5 { try outbox.append(climateReading(i)) }
        for i in 10..<200 { try outbox.append(fixReading(i)) }
        let s = try outbox.status()
        #expect(s.pending[.fix] == 200)
        #expect(s.pending[.picture] == 0 && s.pending[.climate] == 0)
        #expect(s.droppedPictures == 5 && s.droppedClimate == 5)
    }

    @Test func quarantinedReadingsAreKeptButNotSent() throws {
        let outbox = try Outbox(path: temporaryFolder() + "/o.sqlite")
        let seqs = try (0..<3).map { try outbox.append(fixReading($0)).seq }
        try outbox.quarantine(seq: seqs[1], reason: "record 1: lat outside")
        #expect(try outbox.pendingRecords().map(\.seq) == [seqs[0], seqs[2]])
        let q = try outbox.quarantined()
        #expect(q.count == 1 && q[0].seq == seqs[1] && q[0].reason == "record 1: lat outside")
        #expect(try outbox.status().quarantined == 1 && outbox.status().depth == 2)
    }

    @Test func readOnlyStatusSeesAWritersData() throws {
        let path = temporaryFolder() + "/o.sqlite"
        let writer = try Outbox(path: path)
        try writer.append(fixReading(0))
        try writer.recordUpload("ok: test")
        let reader = try Outbox(path: path, readOnly: true)
        let s = try reader.status()
        #expect(s.depth == 1 && s.lastUpload == "ok: test")
    }
}

@Suite struct ClimateCombinerTests {
    @Test func pairsSamplesOfOnePoll() {
        var c = ClimateCombiner()
        let t = Instant.seconds(1000)
        #expect(c.add(.init(time: t, sensor: "s", quantity: .temperature, value: 21)).isEmpty)
        let out = c.add(.init(time: t, sensor: "s", quantity: .relativeHumidity, value: 40))
        #expect(out.count == 1 && out[0].0 == ClimateReading(temperature: 21, humidity: 40) && out[0].1 == t)
        // Two temperatures in a row: the first closes alone.
        #expect(c.add(.init(time: t, sensor: "a", quantity: .temperature, value: 1)).isEmpty)
        let second = c.add(.init(time: t + .seconds(5), sensor: "a", quantity: .temperature, value: 2))
        #expect(second.count == 1 && second[0].0 == ClimateReading(temperature: 1))
        #expect(c.finish()?.0 == ClimateReading(temperature: 2))
        #expect(c.finish() == nil)
    }

    @Test func pairsOnlyWithinTheWindowEitherWay() {
        var c = ClimateCombiner(window: .seconds(1))
        let t = Instant.seconds(1000)
        #expect(c.add(.init(time: t, sensor: "s", quantity: .temperature, value: 21)).isEmpty)
        // 1 s earlier is within the window.
        let paired = c.add(.init(time: t - .seconds(1), sensor: "s", quantity: .relativeHumidity, value: 40))
        #expect(paired.count == 1 && paired[0].0 == ClimateReading(temperature: 21, humidity: 40) && paired[0].1 == t)
        // 1.5 s later, or earlier, is not: the pending half closes alone.
        #expect(c.add(.init(time: t, sensor: "s", quantity: .temperature, value: 22)).isEmpty)
        let later = c.add(.init(time: t + .milliseconds(1500), sensor: "s", quantity: .relativeHumidity, value: 41))
        #expect(later.count == 1 && later[0].0 == ClimateReading(temperature: 22) && later[0].1 == t)
        let earlier = c.add(.init(time: t, sensor: "s", quantity: .temperature, value: 23))
        #expect(earlier.count == 1 && earlier[0].0 == ClimateReading(humidity: 41) && earlier[0].1 == t + .milliseconds(1500))
    }
}

@Suite struct VehicleClockTests {
    @Test func runsSpeedTimesFasterFromItsStart() {
        let wall = ManualClock()
        let clock = VehicleClock(start: .seconds(2_000_000_000), speed: 10, clock: wall)
        #expect(clock.now() == .seconds(2_000_000_000))
        wall.advance(by: .milliseconds(1500))
        #expect(clock.now() == .seconds(2_000_000_015))
        // It is an InstantClock: the sensor sources take it as theirs.
        let asSourceClock: any InstantClock = clock
        #expect(asSourceClock.now() == .seconds(2_000_000_015))
    }
}
