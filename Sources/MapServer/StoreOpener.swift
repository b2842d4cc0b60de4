import Logging

/// Opens the store a configuration names: PostgreSQL when `databaseURL` is a postgres:// URL,
/// otherwise the SQLite file in the data folder.
public enum StoreOpener {
    public static func open(configuration: ServerConfiguration, logger: Logger) async throws -> any TelemetryStoring {
        guard let text = configuration.databaseURL, !text.isEmpty else {
            return try TelemetryStore(path: configuration.databasePath)
        }
        let url: PostgresURL
        do {
            url = try PostgresURL(text)
        } catch {
            throw StoreError.invalidSetting(
                "--database must be postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or empty for SQLite in --data); \(error)")
        }
        return try await PostgresStore.connect(url, logger: logger, connectionWait: configuration.databaseWait)
    }
}
