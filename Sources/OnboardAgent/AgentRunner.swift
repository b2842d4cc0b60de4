import FoundationEssentials
import Logging
import Sensors
import Synchronization
import Telemetry
import Timekeeping

/// Everything `monnemo-agent run` needs to know.
public struct AgentConfiguration: Sendable {
    public var server: URL
    public var token: String
    public var dataFolder: String
    public var gps: GPSSourceConfig
    public var climate: ClimateSourceConfig
    public var camera: CameraSourceConfig
    /// Replay speed for GPX/NMEA replays; the vehicle clock (climate, pictures) runs at it too.
    public var replaySpeed: Double = 1
    public var outboxCapBytes: Int = 256 << 20
    public var retryBase: Duration = .milliseconds(500)
    public var retryCap: Duration = .seconds(60)
    public var requestTimeout: TimeInterval = 15
    /// The slowest link an upload is given time for: a body of N bytes may take
    /// `requestTimeout + N / minimumUploadBytesPerSecond` seconds.
    public var minimumUploadBytesPerSecond: Double = 8 * 1024
    /// Shortest gap between two uploads while readings trickle in.
    public var uploadInterval: Duration = .seconds(1)
    public var batchLimit: Int = 500
    /// After a replay ends: stop the other sensors, upload everything, exit.
    public var exitAfterReplay = false
    /// How long a stop (SIGTERM) may spend uploading what is left.
    public var flushTimeout: Duration = .seconds(5)
    /// The control socket of the vehicle's mobile router (`nemo mr --control`): its handovers
    /// become SONAR records in the outbox. Nil: no mobile router.
    public var mobileRouterControl: String?
    /// How often the mobile router is asked for new handovers.
    public var sonarInterval: Duration = .seconds(1)

    public init(server: URL, token: String, dataFolder: String, gps: GPSSourceConfig, climate: ClimateSourceConfig,
                camera: CameraSourceConfig) {
        self.server = server; self.token = token; self.dataFolder = dataFolder
        self.gps = gps; self.climate = climate; self.camera = camera
    }

    /// The outbox database inside the data folder.
    public static func outboxPath(dataFolder: String) -> String { dataFolder + "/outbox.sqlite" }
}

/// The running agent: sensors → outbox → uploader.
public final class AgentRunner: Sendable {
    public let configuration: AgentConfiguration
    public let outbox: Outbox
    let logger: Logger
    let lastPosition = Mutex<(Double, Double)?>(nil)
    /// Positions by arrival, for the handovers the mobile router reports.
    let recentPositions = Mutex(RecentPositions())
    /// Where the runner reads "now": `SystemClock` in the program.
    let clock: any InstantClock

    public init(configuration: AgentConfiguration, logger: Logger = Logger(label: "monnemo-agent"),
                clock: any InstantClock = SystemClock()) throws {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        try FileManager.default.createDirectory(atPath: configuration.dataFolder, withIntermediateDirectories: true)
        let path = AgentConfiguration.outboxPath(dataFolder: configuration.dataFolder)
        let (outbox, movedAside) = try Outbox.openOrReplace(path: path, capBytes: configuration.outboxCapBytes)
        self.outbox = outbox
        if let movedAside {
            logger.critical("THE OUTBOX WAS DAMAGED: moved it aside to \(movedAside) and started a new one at \(path); readings in the damaged file are NOT uploaded (recover them with sqlite3 .recover if they matter)")
        }
    }

    /// Runs until the task is cancelled (SIGTERM) or, with `exitAfterReplay`, until the replay is
    /// over and uploaded; then uploads what it can within `flushTimeout`.
    public func run() async throws {
        let c = configuration
        // Replays continue after the newest reading this vehicle ever stored, so a restarted
        // replay never goes back in time.
        var start = self.clock.now()
        for kind in RecordKind.allCases {
            if let last = try outbox.lastTime(of: kind), last.instant + .seconds(1) > start {
                start = last.instant + .seconds(1)
            }
        }
        let isReplay: Bool
        switch c.gps { case .gpx, .nmea: isReplay = true; default: isReplay = false }
        let clock = VehicleClock(start: start, speed: isReplay ? c.replaySpeed : 1, clock: self.clock)

        let gpsEvents = try gpsStream(clock: clock)
        let uploader = Uploader(outbox: outbox, transport: try HTTPUploadTransport(server: c.server, token: c.token, timeout: c.requestTimeout,
                                                                  minimumBytesPerSecond: c.minimumUploadBytesPerSecond),
                                policy: RetryPolicy(base: c.retryBase, cap: c.retryCap, seed: UInt64.random(in: 1...UInt64.max)),
                                batchLimit: c.batchLimit, logger: logger, clock: self.clock)
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wake.yield()
        let uploading = Task { await uploader.run(wakeups: wakeups, minimumInterval: c.uploadInterval) }
        let status = try outbox.status()
        logger.info("agent started: server \(c.server.absoluteString), outbox \(status.depth) reading(s) waiting, next seq \(status.nextSeq)")

        await withTaskGroup(of: Void.self) { group in
            let sensors = Task {
                await withTaskGroup(of: String.self) { sensorGroup in
                    if let gpsEvents { sensorGroup.addTask { await self.consumeGPS(gpsEvents, wake: wake); return "gps" } }
                    sensorGroup.addTask { await self.consumeClimate(clock: clock, wake: wake); return "climate" }
                    sensorGroup.addTask { await self.consumePictures(clock: clock, wake: wake); return "camera" }
                    if let control = c.mobileRouterControl {
                        sensorGroup.addTask { await self.collectHandovers(from: control, clock: clock, wake: wake); return "mobile router" }
                    }
                    if c.exitAfterReplay && isReplay {
                        // When the GPS replay ends, the ride is over.
                        while let finished = await sensorGroup.next(), finished != "gps" {}
                        sensorGroup.cancelAll()
                    }
                    await sensorGroup.waitForAll()
                }
            }
            group.addTask {
                await withTaskCancellationHandler {
                    await sensors.value
                } onCancel: { sensors.cancel() }
            }
            await group.waitForAll()
        }
        if c.exitAfterReplay && isReplay && !Task.isCancelled {
            logger.info("replay over; uploading what is left")
            while !Task.isCancelled, (try? outbox.status().depth) ?? 0 > 0 {
                wake.yield()
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        uploading.cancel()
        await uploading.value
        // A fresh task: the run's own task is cancelled by SIGTERM, and the last uploads must not be.
        let deadline = self.clock.now() + c.flushTimeout
        await Task { await uploader.flush(until: deadline) }.value
        let left = try outbox.status()
        logger.info("agent stopped: \(left.depth) reading(s) left in the outbox for the next start")
    }

    private func gpsStream(clock: VehicleClock) throws -> AsyncStream<GPSEvent>? {
        switch configuration.gps {
        case .gpx(let file, _, let loop):
            return TrackReplay(events: try GPXTrack(path: file).events, speed: configuration.replaySpeed,
                               rebase: clock.start, loop: loop).stream()
        case .nmea(let file, _, let loop):
            return TrackReplay(events: try NMEALog(path: file).events, speed: configuration.replaySpeed,
                               rebase: clock.start, loop: loop).stream()
        default:
            return try configuration.gps.events()
        }
    }

    private func store(_ reading: NewReading, wake: AsyncStream<Void>.Continuation) {
        do {
            let (_, dropped) = try outbox.append(reading)
            if let dropped {
                logger.warning("outbox over its cap of \(outbox.capBytes) bytes: \(dropped)")
            }
            wake.yield()
        } catch {
            logger.error("could not store a reading in the outbox: \(error)")
        }
    }

    private func consumeGPS(_ events: AsyncStream<GPSEvent>, wake: AsyncStream<Void>.Continuation) async {
        for await event in events {
            switch event {
            case .fix(let f):
                lastPosition.withLock { $0 = (f.latitude, f.longitude) }
                notePosition(lat: f.latitude, lon: f.longitude)
                store(.fix(Fix(f), time: Timestamp(f.time)), wake: wake)
            case .connected(let address):
                logger.info("GPS: connected to \(address)")
            case .noFix(let reason):
                logger.info("GPS: no fix: \(reason)")
            case .unavailable(let error, let retryIn):
                logger.warning("GPS: \(error) (retrying in \(retryIn))")
            }
        }
    }

    private func consumeClimate(clock: VehicleClock, wake: AsyncStream<Void>.Continuation) async {
        let events: AsyncStream<ClimateEvent>
        switch configuration.climate {
        case .synthetic(let curve, let interval):
            events = curve.events(start: clock.start, clock: clock, interval: interval, speed: clock.speed)
        case .none:
            return
        default:
            guard let e = configuration.climate.events(clock: self.clock) else { return }
            events = e
        }
        var combiner = ClimateCombiner()
        for await event in events {
            switch event {
            case .sample(let sample):
                for (reading, time) in combiner.add(sample) { store(.climate(reading, time: Timestamp(time)), wake: wake) }
            case .sensorFailed(let sensor, let error):
                logger.warning("climate: \(sensor) failed: \(error)")
            case .sensorRecovered(let sensor):
                logger.info("climate: \(sensor) reads again")
            case .noSensors(let text):
                logger.warning("climate: no sensors: \(text)")
            }
        }
        if let (reading, time) = combiner.finish(), !Task.isCancelled {
            store(.climate(reading, time: Timestamp(time)), wake: wake)
        }
    }

    private func consumePictures(clock: VehicleClock, wake: AsyncStream<Void>.Continuation) async {
        let pictures: AsyncThrowingStream<JPEGFrame, any Error>
        switch configuration.camera {
        case .none:
            return
        case .testPattern(let s):
            let seconds = Double(s.interval.components.seconds) + Double(s.interval.components.attoseconds) / 1e18
            pictures = TestPatternSource(width: s.width, height: s.height, framesPerSecond: clock.speed / seconds,
                                         quality: s.quality, clock: clock).jpegFrames()
        case .device:
            guard let p = configuration.camera.pictures(clock: self.clock) else { return }
            pictures = p
        }
        do {
            for try await frame in pictures {
                let position = lastPosition.withLock { $0 }
                store(.picture(jpeg: frame.data, time: Timestamp(frame.time), lat: position?.0, lon: position?.1), wake: wake)
            }
        } catch {
            logger.error("camera stopped: \(error)")
        }
    }
}

extension AgentRunner {
    /// Asks the mobile router for its new handovers every `sonarInterval` and stores each as a
    /// SONAR record (`collectHandoversOnce`).
    func collectHandovers(from control: String, clock: VehicleClock, wake: AsyncStream<Void>.Continuation) async {
        var reachable: Bool?
        while !Task.isCancelled {
            do {
                // Blocking for at most two seconds per query on a local socket.
                let stored = try collectHandoversOnce(clock: clock) { command throws(ControlSocketError) in
                    try ControlSocketClient.query(path: control, command: command)
                }
                if reachable != true { logger.info("SONAR: collecting handovers from the mobile router at \(control)") }
                reachable = true
                if stored > 0 { wake.yield() }
            } catch let error as ControlSocketError {
                if reachable != false { logger.warning("SONAR: \(error); retrying every \(configuration.sonarInterval)") }
                reachable = false
            } catch {
                logger.error("SONAR: \(error)")
            }
            try? await Task.sleep(for: configuration.sonarInterval)
        }
        // Stopping: one last round, so a handover just before the stop is not left to the next start.
        if let stored = try? collectHandoversOnce(clock: clock, query: { command throws(ControlSocketError) in
            try ControlSocketClient.query(path: control, command: command, timeoutSeconds: 1)
        }), stored > 0 {
            logger.info("SONAR: \(stored) last handover record(s) stored")
        }
    }

    /// One round: asks the router (`query` sends one control command and returns the answer) for
    /// the handovers after the last one stored, and stores each on the vehicle's time line with
    /// where the vehicle was, together with how far the router's log is collected, so a restart of
    /// either side loses and repeats nothing. Returns how many it stored.
    func collectHandoversOnce(clock: VehicleClock, query: (String) throws -> [UInt8]) throws -> Int {
        let cursor = try outbox.sonarCursor()
        var answer = try SonarAnswer(json: query("sonar \(cursor?.after ?? 0)"))
        if let cursor, cursor.instance != answer.instance, cursor.after > 0 {
            // The router restarted: its numbers begin again.
            logger.info("SONAR: the mobile router restarted (log \(cursor.instance) → \(answer.instance)); collecting its new log from the start")
            answer = try SonarAnswer(json: query("sonar 0"))
        }
        if answer.missed > 0 {
            logger.warning("SONAR: the mobile router let go of \(answer.missed) handover record(s) before they were collected")
        }
        var stored = 0
        for record in answer.records {
            guard case .handover(var handover) = record.payload else { continue }
            let happened = record.time.instant
            if let p = recentPositions.withLock({ $0.position(at: happened) }) {
                handover.lat = p.lat
                handover.lon = p.lon
            }
            let time = Timestamp(clock.vehicleTime(atWall: happened))
            try outbox.append(.handover(handover, time: time), sonarCursor: SonarCursor(instance: answer.instance, after: record.seq))
            stored += 1
        }
        return stored
    }

    /// Notes a position as arrived now (what the GPS consumer does for each fix).
    func notePosition(lat: Double, lon: Double) {
        let arrived = clock.now()
        recentPositions.withLock { $0.add(lat: lat, lon: lon, at: arrived) }
    }
}
