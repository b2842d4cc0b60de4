/// A UTC time of day as NMEA sends it (`hhmmss.sss`), in milliseconds.
public struct NMEATimeOfDay: Sendable, Hashable, Comparable {
    public var milliseconds: Int

    public init(milliseconds: Int) { self.milliseconds = milliseconds }

    init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 6, bytes[..<6].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        func two(_ i: Int) -> Int { Int(bytes[i] - 0x30) * 10 + Int(bytes[i + 1] - 0x30) }
        let h = two(0), m = two(2)
        guard let s = Double(String(text.dropFirst(4))), s >= 0, s < 61, h < 24, m < 60 else { return nil }
        milliseconds = (h * 3600 + m * 60) * 1000 + Int((s * 1000).rounded())
    }

    public static func < (a: Self, b: Self) -> Bool { a.milliseconds < b.milliseconds }
}

/// A calendar date (UTC) as NMEA sends it.
public struct NMEADate: Sendable, Hashable {
    public var year: Int, month: Int, day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// RMC's `ddmmyy`; two-digit years 80-99 are 19xx, 00-79 are 20xx.
    init?(ddmmyy text: String) {
        let b = Array(text.utf8)
        guard b.count == 6, b.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        func two(_ i: Int) -> Int { Int(b[i] - 0x30) * 10 + Int(b[i + 1] - 0x30) }
        let yy = two(4)
        self.init(year: yy < 80 ? 2000 + yy : 1900 + yy, month: two(2), day: two(0))
        guard isValid else { return nil }
    }

    var isValid: Bool { (1...12).contains(month) && (1...31).contains(day) && (1980...2200).contains(year) }

    /// Days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's days_from_civil).
    public var daysSince1970: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}

/// The decoded content of the sentence types that carry position and time.
public enum NMEAReport: Sendable, Hashable {
    /// Recommended minimum: time, validity, position, speed, track, date.
    case rmc(time: NMEATimeOfDay?, valid: Bool, latitude: Double?, longitude: Double?,
             speedKnots: Double?, track: Double?, date: NMEADate?)
    /// Fix data: time, position, quality (0 = no fix), satellites, HDOP, altitude (MSL), geoid separation.
    case gga(time: NMEATimeOfDay?, latitude: Double?, longitude: Double?, quality: Int,
             satellites: Int?, hdop: Double?, altitudeMSL: Double?, geoidSeparation: Double?)
    /// DOP and active satellites: fix mode 1 (none), 2 (2D), 3 (3D).
    case gsa(mode: Int?, pdop: Double?, hdop: Double?, vdop: Double?)
    /// Track and ground speed.
    case vtg(track: Double?, speedKnots: Double?, speedKmh: Double?)
    /// Geographic position with time and validity.
    case gll(latitude: Double?, longitude: Double?, time: NMEATimeOfDay?, valid: Bool)
    /// Time and full date.
    case zda(time: NMEATimeOfDay?, date: NMEADate?)
    /// Anything else (satellites in view, heading, wind, depth...).
    case other(String)

    /// Decodes a sentence's fields by its type.
    public init(_ s: NMEASentence) throws(NMEAParseError) {
        let f = FieldReader(sentence: s)
        switch s.type {
        case "RMC":
            try f.need(9)
            let status = f.text(1)
            self = .rmc(time: try f.time(0), valid: status == "A",
                        latitude: try f.coordinate(2, 3, degreesDigits: 2),
                        longitude: try f.coordinate(4, 5, degreesDigits: 3),
                        speedKnots: try f.number(6), track: try f.number(7), date: try f.date(8))
            // NMEA 2.3 mode indicator: N means "not valid" even with status A.
            if case .rmc(let t, true, let la, let lo, let sp, let tr, let d) = self, f.text(11) == "N" {
                self = .rmc(time: t, valid: false, latitude: la, longitude: lo, speedKnots: sp, track: tr, date: d)
            }
        case "GGA":
            try f.need(9)
            self = .gga(time: try f.time(0), latitude: try f.coordinate(1, 2, degreesDigits: 2),
                        longitude: try f.coordinate(3, 4, degreesDigits: 3), quality: try f.integer(5) ?? 0,
                        satellites: try f.integer(6), hdop: try f.number(7), altitudeMSL: try f.number(8),
                        geoidSeparation: try f.number(10))
        case "GSA":
            try f.need(2)
            self = .gsa(mode: try f.integer(1), pdop: try f.number(14), hdop: try f.number(15), vdop: try f.number(16))
        case "VTG":
            // Old form: VTG,track,magtrack,knots,kmh; NMEA 2+: VTG,track,T,mag,M,knots,N,kmh,K.
            if f.text(1) == "T" || f.text(3) == "M" || f.text(5) == "N" {
                self = .vtg(track: try f.number(0), speedKnots: try f.number(4), speedKmh: try f.number(6))
            } else {
                self = .vtg(track: try f.number(0), speedKnots: try f.number(2), speedKmh: try f.number(3))
            }
        case "GLL":
            try f.need(4)
            self = .gll(latitude: try f.coordinate(0, 1, degreesDigits: 2), longitude: try f.coordinate(2, 3, degreesDigits: 3),
                        time: try f.time(4), valid: f.text(5) != "V" && f.text(6) != "N")
        case "ZDA":
            try f.need(4)
            var date: NMEADate?
            if let d = try f.integer(1), let m = try f.integer(2), let y = try f.integer(3) {
                let candidate = NMEADate(year: y, month: m, day: d)
                guard candidate.isValid else { throw .badField(sentence: "ZDA", index: 1, text: "\(d).\(m).\(y)") }
                date = candidate
            }
            self = .zda(time: try f.time(0), date: date)
        default:
            self = .other(s.type)
        }
    }
}

/// Reads typed fields, turning empty ones into nil and malformed ones into errors.
private struct FieldReader {
    let sentence: NMEASentence

    func need(_ count: Int) throws(NMEAParseError) {
        guard sentence.fields.count >= count else {
            throw .tooFewFields(sentence: sentence.type, count: sentence.fields.count, needed: count)
        }
    }

    func text(_ i: Int) -> String { i < sentence.fields.count ? sentence.fields[i] : "" }

    func bad(_ i: Int) -> NMEAParseError { .badField(sentence: sentence.type, index: i, text: text(i)) }

    func number(_ i: Int) throws(NMEAParseError) -> Double? {
        let t = text(i)
        if t.isEmpty { return nil }
        guard let v = Double(t), v.isFinite, t.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x2B })
        else { throw bad(i) }
        return v
    }

    func integer(_ i: Int) throws(NMEAParseError) -> Int? {
        let t = text(i)
        if t.isEmpty { return nil }
        guard let v = Int(t) else { throw bad(i) }
        return v
    }

    func time(_ i: Int) throws(NMEAParseError) -> NMEATimeOfDay? {
        let t = text(i)
        if t.isEmpty { return nil }
        guard let v = NMEATimeOfDay(t) else { throw bad(i) }
        return v
    }

    func date(_ i: Int) throws(NMEAParseError) -> NMEADate? {
        let t = text(i)
        if t.isEmpty { return nil }
        guard let v = NMEADate(ddmmyy: t) else { throw bad(i) }
        return v
    }

    /// `ddmm.mmmm` (or `dddmm.mmmm`) and a hemisphere letter, as signed degrees.
    func coordinate(_ i: Int, _ hemisphere: Int, degreesDigits: Int) throws(NMEAParseError) -> Double? {
        let t = text(i), h = text(hemisphere)
        if t.isEmpty { return nil }
        guard t.utf8.count > degreesDigits + 1,
              t.utf8.prefix(degreesDigits).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let degrees = Int(t.prefix(degreesDigits)),
              let minutes = Double(t.dropFirst(degreesDigits)), minutes >= 0, minutes < 60,
              t.dropFirst(degreesDigits).utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E })
        else { throw bad(i) }
        let value = Double(degrees) + minutes / 60
        guard value <= (degreesDigits == 2 ? 90 : 180) else { throw bad(i) }
        switch h {
        case "N", "E": return value
        case "S", "W": return -value
        default: throw bad(hemisphere)
        }
    }
}
