import SystemSupport
import FoundationEssentials
import Timekeeping

/// Plays recorded GPS events back in the receiver's own rhythm.
///
/// The gap between two fixes is their difference in receiver time divided by
/// `speed` (1 = real time, 10 = ten times faster); gaps longer than `maximumGap`
/// (a receiver switched off for an hour) are shortened to it. With `rebase`,
/// fix times are shifted so the first fix is at that instant (for a live demo),
/// keeping every interval.
public struct TrackReplay: Sendable {
    public var events: [GPSEvent]
    public var speed: Double
    public var maximumGap: Duration
    public var rebase: Instant?
    /// Start again from the first event after the last one.
    public var loop: Bool
    public var pause: Pause

    public init(events: [GPSEvent], speed: Double = 1, maximumGap: Duration = .seconds(60),
                rebase: Instant? = nil, loop: Bool = false, pause: @escaping Pause = realTimePause) {
        self.events = events
        self.speed = speed
        self.maximumGap = maximumGap
        self.rebase = rebase
        self.loop = loop
        self.pause = pause
    }

    /// The replayed events; ends after the last one unless looping.
    public func stream() -> AsyncStream<GPSEvent> {
        let replay = self
        return AsyncStream { continuation in
            let task = Task {
                await replay.run(continuation)
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func run(_ continuation: AsyncStream<GPSEvent>.Continuation) async {
        let times = events.compactMap { if case .fix(let f) = $0 { f.time } else { nil } }
        guard let first = times.first, let last = times.last else {
            for event in events { continuation.yield(event) }
            return
        }
        let span = (last - first) + .seconds(1)
        var round = 0
        repeat {
            var previous: Instant?
            for event in events {
                guard !Task.isCancelled else { return }
                guard case .fix(var fix) = event else {
                    continuation.yield(event)
                    continue
                }
                if let previous {
                    let gap = min(max((fix.time - previous).secondsValue, 0) / max(speed, 1e-9),
                                  Double(maximumGap.components.seconds))
                    do { try await pause(.milliseconds(Int64((gap * 1000).rounded()))) } catch { return }
                }
                previous = fix.time
                if let rebase {
                    fix.time = rebase + (fix.time - first) + span * round
                }
                continuation.yield(.fix(fix))
            }
            round += 1
            if loop { do { try await pause(.seconds(1 / max(speed, 1e-9))) } catch { return } }
        } while loop && !Task.isCancelled
    }
}

/// A receiver's NMEA log turned into fix events.
public struct NMEALog: Sendable {
    /// Fixes and no-fix transitions, in order.
    public var events: [GPSEvent]
    /// Lines that were not valid NMEA (line number from 1, and why); comment
    /// lines starting with `#` are not counted.
    public var rejected: [(line: Int, error: NMEAParseError)]

    /// Decodes a log's bytes.
    public init(bytes: [UInt8]) {
        var assembler = NMEAFixAssembler()
        var events: [GPSEvent] = []
        var rejected: [(Int, NMEAParseError)] = []
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.last == 0x0D ? line.dropLast() : line[...]
            if trimmed.isEmpty || trimmed.first == UInt8(ascii: "#") { continue }
            switch assembler.receive(line: trimmed) {
            case .success(let more): events += more
            case .failure(let error): rejected.append((index + 1, error))
            }
        }
        events += assembler.finish()
        self.events = events
        self.rejected = rejected
    }

    /// Reads and decodes a log file.
    public init(path: String) throws(ReplayFileError) {
        self.init(bytes: try readReplayFile(path))
    }

    /// Only the fixes.
    public var fixes: [GPSFix] { events.compactMap { if case .fix(let f) = $0 { f } else { nil } } }
}

/// A file for a replay source could not be used.
public enum ReplayFileError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notGPX(path: String, reason: GPXFormatError)
    case noTrackPoints(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .notGPX(let path, let reason): "\(path) is not a readable GPX 1.1 file: \(reason)"
        case .noTrackPoints(let path): "\(path) has no <trkpt> with lat, lon and time; nothing to replay"
        }
    }
}

func readReplayFile(_ path: String) throws(ReplayFileError) -> [UInt8] {
    do {
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
        throw .unreadable(path: path, reason: fileErrorReason(error))
    }
}
