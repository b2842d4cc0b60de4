import Testing
import TestSupport
import Timekeeping

@Suite("Instant and the clocks")
struct InstantTests {
    @Test func arithmeticRoundTrips() {
        let t = Instant.seconds(1_152_698_400.25)
        #expect(t.nanoseconds == 1_152_698_400_250_000_000)
        #expect((t + .milliseconds(750)) - t == .milliseconds(750))
        #expect(t - .seconds(1) < t)
        #expect(Instant.microseconds(1_500_000).secondsSinceEpoch == 1.5)
        #expect(Instant(nanoseconds: -1).microsecondsSinceEpoch == -1)
        #expect(Instant(nanoseconds: 1_999).microsecondsSinceEpoch == 1)
        #expect(t.description == "1152698400.250s")
    }

    @Test("values from outside saturate instead of trapping")
    func saturates() {
        let late = Instant(nanoseconds: .max - 5)
        #expect(late + .seconds(1) == Instant(nanoseconds: .max))
        #expect(Instant(nanoseconds: .min + 5) - .seconds(1) == Instant(nanoseconds: .min))
        #expect(Instant(nanoseconds: .max) - Instant(nanoseconds: .min) == .nanoseconds(Int64.max))
        #expect(Instant(nanoseconds: .min) - Instant(nanoseconds: .max) == .nanoseconds(Int64.min))
        #expect(Instant.seconds(.infinity) == Instant(nanoseconds: .max))
        #expect(Instant.seconds(-1e300) == Instant(nanoseconds: .min))
        #expect(Instant.seconds(.nan) == .epoch)
        #expect(Instant.microseconds(.max) == Instant(nanoseconds: .max))
        #expect(Duration.saturatingSeconds(1e30) == .nanoseconds(Int64.max))
        #expect(Duration.saturatingSeconds(.nan) == .zero)
        #expect(Duration.seconds(1e9).milliseconds(clampedTo: 0...999) == 999)
        #expect(Duration.seconds(-5).milliseconds(clampedTo: 0...999) == 0)
        #expect(Duration.milliseconds(250).milliseconds(clampedTo: 0...999) == 250)
        #expect(Duration.seconds(Int64.max).wholeNanoseconds == .max)
    }

    @Test func manualClockMovesOnlyWhenTold() {
        let clock = ManualClock(.seconds(100))
        #expect(clock.now() == .seconds(100))
        #expect(clock.advance(by: .seconds(32)) == .seconds(132))
        #expect(clock.now() == .seconds(132))
        clock.set(.seconds(50))
        #expect(clock.now() == .seconds(50))
    }

    @Test func systemClockReadsAsUnixTimeAndNeverStepsBack() {
        let clock = SystemClock()
        let a = clock.now(), b = clock.now()
        #expect(b >= a)
        #expect(a.secondsSinceEpoch > 1.7e9 && a.secondsSinceEpoch < 4e9)
    }
}
