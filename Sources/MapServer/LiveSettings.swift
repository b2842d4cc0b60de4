import Synchronization

/// The vehicle settings the live feed applies (privacy delay and precision), read from the store
/// for every commit it publishes. When the database is unavailable for a moment (a restart, a
/// failover) the last settings read are used, so records committed just before are not withheld
/// from the feed; with no settings known yet they are withheld, as before.
final class LiveSettings: Sendable {
    let store: any TelemetryStoring
    private let lastKnown = Mutex<[String: VehicleRecord]>([:])
    /// Bounds the table: vehicles are few, but ids come from the store, not from strangers.
    static let maxVehicles = 100_000

    init(store: any TelemetryStoring) {
        self.store = store
    }

    func settings(of vehicleID: String) async throws -> VehicleRecord? {
        do {
            let found = try await store.vehicle(id: vehicleID)
            lastKnown.withLock { table in
                if let found {
                    if table.count >= Self.maxVehicles && table[vehicleID] == nil { table.removeAll(keepingCapacity: true) }
                    table[vehicleID] = found
                } else {
                    table[vehicleID] = nil
                }
            }
            return found
        } catch let error as StoreUnavailable {
            if let known = lastKnown.withLock({ $0[vehicleID] }) { return known }
            throw error
        }
    }
}
