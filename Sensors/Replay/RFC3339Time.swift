import Timekeeping

/// Reads the times of GPX files: RFC 3339 date-times (`2024-06-01T10:00:10.5Z`,
/// `2024-06-01T12:00:00+02:00`; `t`, `z` and a space separator too). Our own, so that replaying a
/// track does not load ICU's data (about 6 MB of the agent's memory) through ISO8601DateFormatter.
enum RFC3339Time {
    /// The instant, or nil for anything that is not such a date-time, names no real day, or lies
    /// outside what an `Instant` holds (about 1678…2262: a point at such a time is skipped, not
    /// stamped with a clamped one). Digits of the fraction beyond nanoseconds are ignored.
    static func instant(_ text: some StringProtocol) -> Instant? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int? {
            guard b.count - i >= width else { return nil }
            var n = 0
            for k in i..<(i + width) {
                guard b[k] >= 0x30, b[k] <= 0x39 else { return nil }
                n = n * 10 + Int(b[k] - 0x30)
            }
            i += width
            return n
        }
        func skip(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue else { return false }
            i += 1
            return true
        }
        guard let year = number(4), skip("-"), let month = number(2), skip("-"), let day = number(2) else { return nil }
        guard i < b.count, [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(b[i]) else { return nil }
        i += 1
        guard let hour = number(2), skip(":"), let minute = number(2), skip(":"), let second = number(2) else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second <= 60 else { return nil }
        var nanoseconds: Int64 = 0
        if skip(".") {
            var scale: Int64 = 100_000_000
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                nanoseconds += Int64(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset = 0
        if skip("Z") || skip("z") {
            offset = 0
        } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let h = number(2), skip(":"), let m = number(2), h < 24, m < 60 else { return nil }
            offset = sign * (h * 3600 + m * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        // A leap second (:60) counts as the last second of its minute.
        let seconds = daysSince1970(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offset
        guard let total = Int64(exactly: Int128(seconds) * 1_000_000_000 + Int128(nanoseconds)) else { return nil }
        return Instant(nanoseconds: total)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the given day of the proleptic Gregorian calendar (years 0…9999).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        // Count years from March, so the leap day ends a year; eras of 400 years repeat exactly.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
