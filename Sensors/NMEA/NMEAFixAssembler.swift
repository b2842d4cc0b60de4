import Timekeeping

/// Builds fixes from a receiver's NMEA sentences, one per epoch (receiver time).
///
/// Sentences with a time (GGA, RMC, GLL, ZDA) open an epoch; those without one
/// (GSA, VTG) add to the current epoch. When a sentence with another time
/// arrives, the previous epoch becomes a fix if the receiver called it valid and
/// gave a position and a date (from RMC or ZDA), or "no fix" if the receiver
/// said so (RMC/GLL status V, GGA quality 0, GSA mode 1). A fix is 3D when it
/// has an altitude (GGA) or the last GSA said 3D, as gpsd decides. Dates are the
/// receiver's own (no GPS week-rollover correction, unlike gpsd 3.22).
/// Sans-I/O: feed sentences, get events.
public struct NMEAFixAssembler: Sendable {
    private struct Epoch {
        var time: NMEATimeOfDay
        var latitude: Double?
        var longitude: Double?
        var altitudeMSL: Double?
        var geoidSeparation: Double?
        var speed: Double?
        var track: Double?
        var gsaMode: Int?
        var saysValid = false
        var saysInvalid = false

        /// The first position of an epoch stands: some instruments (chartplotters)
        /// send RMC and GGA for one time with slightly different positions, and
        /// gpsd 3.22 keeps the first.
        mutating func setPosition(_ lat: Double?, _ lon: Double?) {
            guard latitude == nil, let lat, let lon else { return }
            latitude = lat
            longitude = lon
        }
    }

    private var date: NMEADate?
    private var lastTime: NMEATimeOfDay?
    private var epoch: Epoch?
    private var pendingGSAMode: Int?
    /// The last mode GSA stated; it holds until the next GSA, as in gpsd.
    private var lastGSAMode: Int?
    private var collector = GPSEpochCollector()

    public init() {}

    /// Feeds one decoded sentence; returns fixes and no-fix transitions it completes.
    public mutating func receive(_ report: NMEAReport) -> [GPSEvent] {
        var events: [GPSEvent] = []
        switch report {
        case .rmc(let time, let valid, let lat, let lon, let knots, let track, let date):
            open(time, &events) { e in
                e.saysValid = e.saysValid || valid
                e.saysInvalid = e.saysInvalid || !valid
                if valid { e.setPosition(lat, lon) }
                e.speed = knots.map { $0 * 1852 / 3600 } ?? e.speed
                e.track = track ?? e.track
            }
            // After open(): a date learned now belongs to this epoch, not the one it closed.
            if let date { self.date = date }
        case .gga(let time, let lat, let lon, let quality, _, _, let alt, let sep):
            open(time, &events) { e in
                if quality > 0 {
                    e.saysValid = true
                    e.setPosition(lat, lon)
                    e.altitudeMSL = alt ?? e.altitudeMSL
                    e.geoidSeparation = sep ?? e.geoidSeparation
                } else {
                    e.saysInvalid = true
                }
            }
        case .gll(let lat, let lon, let time, let valid):
            open(time, &events) { e in
                e.saysValid = e.saysValid || valid
                e.saysInvalid = e.saysInvalid || !valid
                if valid { e.setPosition(lat, lon) }
            }
        case .zda(let time, let date):
            open(time, &events) { _ in }
            if let date { self.date = date }
        case .gsa(let mode, _, _, _):
            // Some receivers send GSA before the epoch's first timed sentence.
            if epoch == nil { pendingGSAMode = mode } else { epoch?.gsaMode = mode }
            if let mode { lastGSAMode = mode }
        case .vtg(let track, let knots, let kmh):
            guard var e = epoch else { break }
            if let track { e.track = track }
            if let knots { e.speed = knots * 1852 / 3600 } else if let kmh { e.speed = kmh / 3.6 }
            epoch = e
        case .other:
            break
        }
        return events
    }

    /// Parses and feeds one line; lines that are not valid sentences are skipped
    /// and returned as the error.
    public mutating func receive(line: some Collection<UInt8>) -> Result<[GPSEvent], NMEAParseError> {
        do throws(NMEAParseError) {
            let sentence = try NMEASentence(parsing: line)
            return .success(receive(try NMEAReport(sentence)))
        } catch {
            return .failure(error)
        }
    }

    /// Closes the last epoch (end of the log).
    public mutating func finish() -> [GPSEvent] {
        var events: [GPSEvent] = []
        close(&events)
        if let fix = collector.flush() { events.append(.fix(fix)) }
        return events
    }

    private mutating func open(_ time: NMEATimeOfDay?, _ events: inout [GPSEvent], _ update: (inout Epoch) -> Void) {
        if let time, time != epoch?.time {
            close(&events)
            if let last = lastTime, time.milliseconds + 12 * 3_600_000 < last.milliseconds, let d = date {
                // Past midnight before the receiver sent the new date.
                date = NMEADate(daysSince1970: d.daysSince1970 + 1)
            }
            lastTime = time
            epoch = Epoch(time: time, gsaMode: pendingGSAMode)
            pendingGSAMode = nil
        }
        guard epoch != nil else { return }
        update(&epoch!)
    }

    private mutating func close(_ events: inout [GPSEvent]) {
        guard let e = epoch else { return }
        epoch = nil
        let invalid = e.saysInvalid || e.gsaMode == 1
        if invalid || !e.saysValid {
            let output = collector.receive(nil)
            if let fix = output.fix { events.append(.fix(fix)) }
            if output.enteredNoFix { events.append(.noFix(.receiverHasNoFix)) }
            return
        }
        guard let lat = e.latitude, let lon = e.longitude, let date else { return }
        let time = Instant.saturating(seconds: Int64(date.daysSince1970) * 86400,
                                      nanoseconds: Int64(e.time.milliseconds) * 1_000_000)
        // As gpsd 3.22 does: an altitude makes a 3D fix even when GSA says 2D,
        // so a replayed log and the same log through gpsd agree.
        let threeD = e.altitudeMSL != nil || lastGSAMode == 3
        let fix = GPSFix(time: time, mode: threeD ? .threeD : .twoD,
                         latitude: lat, longitude: lon,
                         altitudeHAE: threeD ? e.altitudeMSL.map { $0 + (e.geoidSeparation ?? 0) } : nil,
                         altitudeMSL: threeD ? e.altitudeMSL : nil,
                         speed: e.speed, track: e.track)
        let output = collector.receive(fix)
        if let done = output.fix { events.append(.fix(done)) }
    }
}

extension NMEADate {
    /// The date `days` days after 1970-01-01 (Hinnant's civil_from_days).
    init(daysSince1970 days: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }
}
