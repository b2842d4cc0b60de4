import Foundation
import ServiceLifecycle
import Telemetry
import Timekeeping

// Retention: records and pictures older than the configured age are deleted.
extension MapServer {
    /// Deletes records and picture files older than the retention age.
    public func pruneOnce() async throws -> Int {
        guard let days = configuration.retentionDays else { return 0 }
        // The age saturated: a retention of 1e300 days must not trap.
        let oldest = clock.now() - Duration.saturatingSeconds(max(0, days) * 86_400)
        let cutoff = oldest.nanoseconds == Int64.min ? Timestamp(microseconds: Int64.min) : Timestamp(oldest)
        let (deleted, pictureRecords) = try await store.prune(olderThan: cutoff)
        for p in pictureRecords { pictures.remove(vehicleID: p.vehicleID, seq: p.seq) }
        metrics.pruned(deleted)
        if deleted > 0 { logger.info("retention: pruned \(deleted) records older than \(cutoff.rfc3339)") }
        return deleted
    }
}

/// Prunes old records in the background when a retention age is configured.
struct RetentionService: Service {
    let server: MapServer
    func run() async throws {
        guard server.configuration.retentionDays != nil else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                _ = try await server.pruneOnce()
            } catch {
                server.logger.error("retention failed: \(error); will retry")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: server.configuration.retentionInterval) }
        }
    }
}
