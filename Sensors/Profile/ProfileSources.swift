import Timekeeping

extension GPSSourceConfig {
    /// Starts the configured GPS source; nil for `.none`. Replay files are read
    /// now, so a broken file fails here with its reason. Replays are rebased to
    /// `rebase` (for live demos; nil keeps the recorded times).
    public func events(rebase: Instant? = nil, pause: @escaping Pause = realTimePause) throws(ReplayFileError) -> AsyncStream<GPSEvent>? {
        switch self {
        case .gpsd(let host, let port):
            return GPSDSource(host: host, port: port).events()
        case .nmea(let file, let speed, let loop):
            return TrackReplay(events: try NMEALog(path: file).events, speed: speed, rebase: rebase, loop: loop, pause: pause).stream()
        case .gpx(let file, let speed, let loop):
            return TrackReplay(events: try GPXTrack(path: file).events, speed: speed, rebase: rebase, loop: loop, pause: pause).stream()
        case .none:
            return nil
        }
    }
}

extension ClimateSourceConfig {
    /// Starts the configured climate source, its samples stamped by `clock`; nil for `.none`.
    public func events(clock: any InstantClock = SystemClock(), pause: @escaping Pause = realTimePause) -> AsyncStream<ClimateEvent>? {
        switch self {
        case .sysfs(let root, let devices, let interval):
            SysfsClimateSource(root: root, deviceNames: devices.map(Set.init), interval: interval, clock: clock, pause: pause).events()
        case .synthetic(let curve, let interval):
            curve.events(clock: clock, interval: interval, pause: pause)
        case .none:
            nil
        }
    }
}
