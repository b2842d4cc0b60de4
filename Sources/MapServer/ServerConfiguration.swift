import Foundation

/// Everything `monnemo-server serve` is told, in one value.
public struct ServerConfiguration: Sendable {
    /// Folder holding the SQLite database and the pictures; created if missing.
    public var dataDirectory: String
    public var bindAddress: String = "::"
    public var httpPort: Int = 8080
    /// Port of the OsmAnd/Traccar Client listener; nil turns it off.
    public var osmandPort: Int? = 5055
    /// Folder with the webpage (index.html, app.js, …).
    public var webDirectory: String?
    /// Folder served under `/vendor/` (Debian's /usr/share/javascript holds leaflet/ and chartjs/).
    public var vendorDirectory: String = "/usr/share/javascript"
    /// Map tiles for the webpage; an empty string means no tiles (offline).
    public var tileURL: String = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    public var tileAttribution: String = "© OpenStreetMap contributors"
    /// Fixes and pictures older than this are pruned in the background; nil keeps everything.
    public var retentionDays: Double?
    /// How often retention runs.
    public var retentionInterval: Duration = .seconds(3600)
    /// Bodies larger than these are refused with 413.
    public var maxBatchBytes: Int = 1 << 20
    public var maxPictureBytes: Int = 4 << 20
    /// Live video per vehicle id: the URL of its MJPEG stream (`xcast6 recv --serve`'s /stream.mjpg).
    public var liveVideo: [String: String] = [:]

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("monnemo.sqlite") }
    public var picturesDirectory: String { (dataDirectory as NSString).appendingPathComponent("pictures") }

    /// Creates the data folder (and its pictures folder) if missing.
    public func prepareDataDirectory() throws {
        try FileManager.default.createDirectory(atPath: picturesDirectory, withIntermediateDirectories: true)
    }
}
