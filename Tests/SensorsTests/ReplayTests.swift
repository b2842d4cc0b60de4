import Foundation
import Testing
import Timekeeping
@testable import Sensors

struct GPXTrackTests {
    static let ride = TestPaths.gpsLog("gtrnctr_power.gpx").path

    @Test("the bicycle ride GPX: every point, its times, extent and length")
    func ride() throws {
        let track = try GPXTrack(path: Self.ride)
        #expect(track.fixes.count == 5109)
        #expect(track.skippedPoints == 0)
        let first = try #require(track.fixes.first), last = try #require(track.fixes.last)
        #expect(first.time == parseISOTime("2010-05-28T01:16:36Z"))
        #expect(last.time == parseISOTime("2010-05-28T02:41:44Z"))
        #expect(track.fixes.allSatisfy { (37.2...37.5).contains($0.latitude) && (-122.3 ... -121.9).contains($0.longitude) })
        let elevations = track.fixes.compactMap(\.altitudeMSL)
        #expect(elevations.count == 5109 && elevations.min()! >= 14 && elevations.max()! <= 158)
        #expect(abs(track.length - 39_700) < 400, "length \(track.length) m")
        // 1 Hz, no gaps, times strictly increasing.
        #expect(zip(track.fixes, track.fixes.dropFirst()).allSatisfy { $1.time - $0.time == .seconds(1) })
        let speeds = track.fixes.compactMap(\.speed)
        #expect(speeds.count == 5108)
        let mean = speeds.reduce(0, +) / Double(speeds.count)
        #expect((6.5...9.0).contains(mean), "mean speed \(mean) m/s; the ride averaged 28 km/h")
    }

    @Test("GPX edge cases: points without time, extensions, broken XML, no points")
    func edges() throws {
        let gpx = """
        <?xml version="1.0"?>
        <gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
          <trk><trkseg>
            <trkpt lat="48.0" lon="11.0"><ele>500</ele><time>2024-06-01T10:00:00Z</time>
              <extensions><time>1999-01-01T00:00:00Z</time></extensions></trkpt>
            <trkpt lat="48.0" lon="11.001"><time>2024-06-01T10:00:10.500Z</time></trkpt>
            <trkpt lat="48.1" lon="11.0"></trkpt>
            <trkpt lat="north" lon="11.0"><time>2024-06-01T10:00:20Z</time></trkpt>
          </trkseg></trk>
        </gpx>
        """
        let track = try GPXTrack(bytes: Array(gpx.utf8))
        #expect(track.fixes.count == 2 && track.skippedPoints == 2)
        #expect(track.fixes[0].time == parseISOTime("2024-06-01T10:00:00Z"))
        #expect(track.fixes[0].mode == .threeD && track.fixes[1].mode == .twoD)
        // 0.001° of longitude at 48° N is 74.4 m, covered in 10.5 s, due east.
        let speed = try #require(track.fixes[1].speed)
        #expect(abs(speed - 74.4 / 10.5) < 0.05)
        #expect(abs(try #require(track.fixes[1].track) - 90) < 0.01)

        #expect(throws: ReplayFileError.noTrackPoints(path: "<memory>")) {
            try GPXTrack(bytes: Array("<gpx version=\"1.1\"><trk/></gpx>".utf8))
        }
        #expect { try GPXTrack(bytes: Array("<gpx><trk><trkpt lat=".utf8)) } throws: { error in
            if case ReplayFileError.notGPX = error { true } else { false }
        }
        #expect(throws: ReplayFileError.unreadable(path: "/nonexistent.gpx", reason: "no such file")) {
            try GPXTrack(path: "/nonexistent.gpx")
        }
    }
}

struct TrackReplayTests {
    @Test("replay paces by receiver time divided by the speed factor, and can rebase times")
    func pacing() async throws {
        let log = try NMEALog(path: TestPaths.gpsLog("garmin-10x.log").path)
        let pauses = PauseLog()
        let start = Instant.seconds(2_000_000_000)
        let replay = TrackReplay(events: log.events, speed: 4, maximumGap: .seconds(5), rebase: start, pause: pauses.pause)
        var out: [GPSEvent] = []
        for await event in replay.stream() { out.append(event) }

        let original = log.fixes
        let replayed = out.compactMap { if case .fix(let f) = $0 { f } else { nil } }
        #expect(replayed.count == original.count)
        #expect(out.contains(.noFix(.receiverHasNoFix)))
        let expectedPauses = zip(original, original.dropFirst()).map { a, b in
            Duration.milliseconds(Int64((min((b.time - a.time).secondsValue / 4, 5) * 1000).rounded()))
        }
        #expect(pauses.recorded == expectedPauses)
        // 16:50:09 to 16:50:44 is 35 s of receiver time: 8.75 s at 4x, capped to 5 s.
        #expect(pauses.recorded.contains(.seconds(5)))
        #expect(replayed.first?.time == start)
        for (a, b) in zip(original, replayed) {
            #expect(b.time - start == a.time - original[0].time)
            #expect(a.latitude == b.latitude && a.longitude == b.longitude)
        }
    }

    @Test("a looping replay starts over with later times")
    func looping() async throws {
        let track = try GPXTrack(bytes: Array("""
            <gpx version="1.1"><trk><trkseg>
            <trkpt lat="1" lon="1"><time>2024-01-01T00:00:00Z</time></trkpt>
            <trkpt lat="1" lon="1.0001"><time>2024-01-01T00:00:01Z</time></trkpt>
            </trkseg></trk></gpx>
            """.utf8))
        let start = Instant.epoch
        var times: [Double] = []
        for await event in TrackReplay(events: track.events, rebase: start, loop: true, pause: { _ in await Task.yield() }).stream() {
            if case .fix(let f) = event { times.append(f.time.secondsSinceEpoch) }
            if times.count == 5 { break }
        }
        #expect(times == [0, 1, 2, 3, 4])
    }
}
