import ArgumentParser

/// Refuses durations and frequencies a flag gave that the timers cannot take: negative,
/// NaN, infinite or absurdly large (`UInt64(seconds * 1e9)` traps on those).
func checkFlags(seconds: [(String, Double?)], tone: Double? = nil) throws {
    for case let (name, v?) in seconds where !(v.isFinite && v >= 0 && v <= 10_000_000) {
        throw ValidationError("--\(name) \(v) is not 0…10000000 seconds")
    }
    if let tone, !(tone.isFinite && tone >= 1 && tone <= 20_000) {
        throw ValidationError("--tone \(tone) is not 1…20000 Hz")
    }
}
