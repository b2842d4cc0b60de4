import Testing
@testable import Telemetry
import Timekeeping

@Suite struct TimestampTests {
    @Test func parsesUTCWithFraction() throws {
        let t = try #require(Timestamp(rfc3339: "2006-07-12T10:00:00.250Z"))
        #expect(t.microseconds == 1_152_698_400_250_000)
        #expect(t.rfc3339 == "2006-07-12T10:00:00.250Z")
    }

    @Test func appliesOffsets() throws {
        let a = try #require(Timestamp(rfc3339: "2006-07-12T12:00:00+02:00"))
        let b = try #require(Timestamp(rfc3339: "2006-07-12T10:00:00Z"))
        #expect(a == b)
        let c = try #require(Timestamp(rfc3339: "2006-07-12T05:30:00-04:30"))
        #expect(c == b)
    }

    @Test func keepsMicroseconds() throws {
        let t = try #require(Timestamp(rfc3339: "1999-12-31T23:59:59.123456789Z"))
        #expect(t.microseconds % 1_000_000 == 123_456)
        #expect(t.rfc3339 == "1999-12-31T23:59:59.123456Z")
    }

    @Test func matchesFoundationAcrossManyDays() {
        // Day arithmetic checked against a simple loop over every day from 1970 to 2100.
        var days = 0
        for year in 1970..<2100 {
            for month in 1...12 {
                let n = Timestamp.daysIn(month: month, year: year)
                let text = String(format: "%04d-%02d-01T00:00:00Z", year, month)
                #expect(Timestamp(rfc3339: text)?.microseconds == Int64(days) * 86_400_000_000, "\(text)")
                days += n
            }
        }
    }

    @Test(arguments: ["", "2006-07-12", "2006-07-12T10:00:00", "2006-13-01T00:00:00Z", "2006-02-30T00:00:00Z",
                      "2006-07-12T25:00:00Z", "2006-07-12T10:00:00.Z", "2006-07-12T10:00:00Zjunk", "12/07/2006",
                      "2006-07-12T10:00:00+2:00"])
    func refusesNonRFC3339(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func formatsBeforeEpoch() {
        #expect(Timestamp(microseconds: -1_000).rfc3339 == "1969-12-31T23:59:59.999Z")
    }

    @Test func convertsToAndFromInstant() {
        let t = Timestamp(rfc3339: "2006-07-12T10:00:00.250001Z")!
        #expect(t.instant == Instant.microseconds(t.microseconds))
        #expect(Timestamp(t.instant) == t)
        // Sub-microsecond parts of an instant are truncated: a record time has microsecond resolution.
        #expect(Timestamp(Instant(nanoseconds: 1_152_698_400_000_000_999)).microseconds == 1_152_698_400_000_000)
    }
}
