import Foundation
import Testing
import Timekeeping
@testable import Sensors

struct NMEASentenceTests {
    static func parse(_ text: String) throws(NMEAParseError) -> NMEASentence {
        try NMEASentence(parsing: Array(text.utf8))
    }

    @Test("framing, checksum and fields")
    func sentence() throws {
        let s = try Self.parse("$GPRMC,165007.000,A,4143.6058,N,08338.0778,W,0.55,36.58,180710,,,A*4F\r\n")
        #expect(s.talker == "GP" && s.type == "RMC" && s.hadChecksum)
        #expect(s.fields.count == 12 && s.fields[8] == "180710" && s.fields[9] == "")
        var out: [UInt8] = []
        s.write(to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "$GPRMC,165007.000,A,4143.6058,N,08338.0778,W,0.55,36.58,180710,,,A*4F\r\n")
        #expect(try Self.parse("$PGRME,15.0,M,45.0,M,25.0,M*1C").talker == "P")
        #expect(try Self.parse("$GPGGA,165007.000,4143.6058,N,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,0000").hadChecksum == false)
    }

    @Test("each kind of damage is a distinct error", arguments: [
        ("", NMEAParseError.empty),
        ("GPRMC,1*00", .missingStart),
        ("$GPRMC,165007.000,A*4E", .checksumMismatch(expected: 0x4E, computed: Array("GPRMC,165007.000,A".utf8).reduce(0, ^))),
        ("$GPRMC,1*G1", .malformedChecksum("G1")),
        ("$GPRMC,1*4", .malformedChecksum("4")),
        ("$GP,1", .badAddress("GP")),
        ("$gprmc,1", .badAddress("gprmc")),
        ("$GPRMC,\u{7}", .notPrintableASCII(offset: 7)),
        ("$" + String(repeating: "A", count: 300), .tooLong(301)),
    ])
    func damage(_ line: String, _ error: NMEAParseError) {
        #expect(throws: error) { try Self.parse(line) }
    }

    @Test("a sentence at the length limit without checksum survives writing it with one (found by fuzzing)")
    func longestRoundTrip() throws {
        let line = "$GPGGA," + String(repeating: "-", count: NMEASentence.maximumLength - 7)
        let parsed = try Self.parse(line)
        var written: [UInt8] = []
        parsed.write(to: &written)
        let again = try NMEASentence(parsing: written)
        #expect(again.fields == parsed.fields && again.hadChecksum)
        #expect(throws: NMEAParseError.tooLong(line.utf8.count + 1)) { try Self.parse(line + "-") }
    }

    @Test("decoded RMC, GGA, GSA, VTG, ZDA")
    func reports() throws {
        let rmc = try NMEAReport(Self.parse("$GPRMC,095255.810,V,2712.6404,S,15303.1201,E,0.00,0.00,080407,,,A*6E"))
        guard case .rmc(let t, false, let lat?, let lon?, 0, 0, let date?) = rmc else { Issue.record("\(rmc)"); return }
        #expect(t?.milliseconds == ((9 * 3600 + 52 * 60) * 1000 + 55_810))
        #expect(abs(lat - -(27 + 12.6404 / 60)) < 1e-12 && abs(lon - (153 + 3.1201 / 60)) < 1e-12)
        #expect(date == NMEADate(year: 2007, month: 4, day: 8))
        let gga = try NMEAReport(Self.parse("$GPGGA,165007.000,4143.6058,N,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,0000*67"))
        #expect(gga == .gga(time: NMEATimeOfDay(milliseconds: (16 * 3600 + 50 * 60 + 7) * 1000), latitude: 41 + 43.6058 / 60,
                            longitude: -(83 + 38.0778 / 60), quality: 1, satellites: 6, hdop: 1.5, altitudeMSL: 204.3, geoidSeparation: -33.7))
        #expect(try NMEAReport(Self.parse("$GPGSA,A,3,31,16,29,23,20,32,,,,,,,2.8,1.5,2.4*36")) == .gsa(mode: 3, pdop: 2.8, hdop: 1.5, vdop: 2.4))
        #expect(try NMEAReport(Self.parse("$GPVTG,36.58,T,,M,0.55,N,1.0,K,A")) == .vtg(track: 36.58, speedKnots: 0.55, speedKmh: 1.0))
        #expect(try NMEAReport(Self.parse("$GPZDA,030807.00,10,08,2006,00,00*67")) ==
                .zda(time: NMEATimeOfDay(milliseconds: (3 * 3600 + 8 * 60 + 7) * 1000), date: NMEADate(year: 2006, month: 8, day: 10)))
        #expect(throws: NMEAParseError.badField(sentence: "GGA", index: 1, text: "41x3.6058")) {
            try NMEAReport(Self.parse("$GPGGA,165007.000,41x3.6058,N,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,0000"))
        }
        #expect(throws: NMEAParseError.badField(sentence: "RMC", index: 3, text: "Q")) {
            try NMEAReport(Self.parse("$GPRMC,165007.000,A,4143.6058,Q,08338.0778,W,0.55,36.58,180710,,,A"))
        }
        #expect(throws: NMEAParseError.tooFewFields(sentence: "RMC", count: 3, needed: 9)) {
            try NMEAReport(Self.parse("$GPRMC,1,2,3"))
        }
    }

    @Test("dates round-trip through day numbers, and the assembler crosses midnight")
    func dates() {
        for days in [0, 10_957, 13_611, 17_763, 20_000, 60_000] {
            #expect(NMEADate(daysSince1970: days).daysSince1970 == days)
        }
        #expect(NMEADate(year: 2007, month: 4, day: 8).daysSince1970 * 86400 == 1_175_990_400)
        var a = NMEAFixAssembler()
        var events: [GPSEvent] = []
        for line in ["$GPRMC,235959,A,4143.6058,N,08338.0778,W,0.5,36.5,311218,,,A",
                     "$GPGGA,000000,4143.6059,N,08338.0779,W,1,06,1.5,204.3,M,-33.7,M,,",
                     "$GPGGA,000001,4143.6060,N,08338.0780,W,1,06,1.5,204.3,M,-33.7,M,,"] {
            if case .success(let e) = a.receive(line: Array(line.utf8)) { events += e }
        }
        events += a.finish()
        let times = events.compactMap { if case .fix(let f) = $0 { f.time.secondsSinceEpoch } else { nil } }
        #expect(times == [1_546_300_799, 1_546_300_800, 1_546_300_801])
    }
}

/// Our own NMEA decoding of the receiver logs, checked against gpsd 3.22's output for them.
struct NMEALogTests {
    /// gpsd 3.22 moves dates before 2017 forward by 1024 GPS weeks; our parser does not.
    static let rollover: Duration = .seconds(619_315_200)

    static let logs: [(String, fixes: Int)] = [
        ("haicom-305N.log", 67), ("ublox-lea-4h.log", 9), ("mt3339.log", 30),
        ("bu353s4.log", 25), ("garmin-10x.log", 9), ("bundg_zeus_9.log", 148),
    ]

    @Test("fix count, times and positions match gpsd's", arguments: logs)
    func matchesGpsd(_ log: String, _ fixCount: Int) throws {
        let parsed = try NMEALog(path: TestPaths.gpsLog(log).path)
        #expect(parsed.rejected.isEmpty, "rejected: \(parsed.rejected.prefix(3))")
        var fixes = parsed.fixes
        if log == "haicom-305N.log" {
            // The receiver's first valid epoch (RMC status A, GGA quality 1) at
            // 09:53:04.802, which gpsd 3.22 does not report: we keep it.
            let first = try #require(fixes.first)
            #expect(first.time == Instant(nanoseconds: (1_175_990_400 + 9 * 3600 + 53 * 60 + 4) * 1_000_000_000 + 802_000_000))
            #expect(abs(first.latitude - -(27 + 12.6520 / 60)) < 1e-9 && abs(first.longitude - (153 + 3.1397 / 60)) < 1e-9)
            fixes.removeFirst()
        }
        let expected = CheckedTPV.distinctFixes(try CheckedTPV.load(TestPaths.gpsLog(log + ".chk")))
        #expect(expected.count == fixCount)
        #expect(fixes.count == fixCount, "\(log): \(fixes.count) fixes")
        // The chartplotter sends RMC and GGA of one second with positions up to a
        // few metres apart, and which one gpsd reports varies; the receivers agree
        // with themselves to the last digit.
        let tolerance = log == "bundg_zeus_9.log" ? 5e-5 : 1e-8
        for (fix, want) in zip(fixes, expected) {
            var shifted = fix
            if fix.time < .seconds(1_483_228_800) { shifted.time += Self.rollover }
            #expect(want.matchesPosition(shifted, degrees: tolerance), "\(log): \(fix) vs \(want)")
            #expect(fix.mode.rawValue == want.mode, "\(log) mode at \(fix.time)")
            if let alt = want.altMSL, let ours = fix.altitudeMSL { #expect(abs(alt - ours) < 1e-3) }
            if let speed = want.speed, let ours = fix.speed { #expect(abs(speed - ours) < 1e-3, "\(log) speed at \(fix.time)") }
            if let track = want.track, let ours = fix.track { #expect(abs(track - ours) < 1e-3, "\(log) track at \(fix.time)") }
            if !want.matchesPosition(shifted, degrees: tolerance) { break }
        }
        let steps = LiveGPSDSourceTests.transitions(parsed.events)
        let wanted = LiveGPSDSourceTests.expectedTransitions(try CheckedTPV.load(TestPaths.gpsLog(log + ".chk")))
        #expect(steps.filter { $0 == .noFix }.count == wanted.filter { $0 == .noFix }.count, "\(log) no-fix transitions")
    }
}
