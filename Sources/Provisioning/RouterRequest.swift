import Telemetry

/// What a user asks for when signing up a mobile router, or a mobile host (no prefix: only its home
/// address moves, RFC 6275), checked against the operator's settings.
public struct RouterRequest: Sendable, Hashable, Codable {
    /// The vehicle's name as its owner knows it: 1 to 64 letters, digits, spaces, `.`, `_`, `-`, `'`.
    public var name: String
    /// How many /64 mobile network prefixes (0 to the operator's maximum; 0: a mobile host).
    public var prefixes: Int
    /// The router's uplinks, in order of preference: interface name and access technology.
    public var uplinks: [Uplink]
    /// The interface of the vehicle's own network (router advertisements of the first prefix go out on it).
    public var ingress: String?
    public var multipleCareOf: Bool
    /// The vehicle's id on the live map (monnemo-server), whose SONAR handover records the
    /// router's page then shows; optional.
    public var vehicle: String?

    public struct Uplink: Sendable, Hashable, Codable {
        public var name: String
        public var technology: AccessTechnology
        public init(name: String, technology: AccessTechnology) { self.name = name; self.technology = technology }
    }

    /// No prefix: a mobile host (a laptop or phone that moves, not a network).
    public var isMobileHost: Bool { prefixes == 0 }

    public init(name: String, prefixes: Int = 1, uplinks: [Uplink], ingress: String? = nil, multipleCareOf: Bool = true, vehicle: String? = nil) {
        self.name = name; self.prefixes = prefixes; self.uplinks = uplinks; self.ingress = ingress; self.multipleCareOf = multipleCareOf
        self.vehicle = vehicle
    }

    /// The sign-up page's form: `name`, `prefixes`, `uplinks` as `wlan0:wlan, wwan0:cellular`,
    /// `ingress`, and `mcoa` present when ticked.
    public init(form: FormBody) throws(FieldError) {
        guard let name = form["name"] else { throw FieldError("name", "give the vehicle a name") }
        let count = form["prefixes"].map { $0.trimmingSpaces } ?? "1"
        guard let prefixes = Int(count) else { throw FieldError("prefixes", "'\(count)' is not a whole number") }
        var uplinks: [Uplink] = []
        for entry in (form["uplinks"] ?? "").split(separator: ",") {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
            guard parts.count == 2, let tech = AccessTechnology(rawValue: parts[1].lowercased()) else {
                throw FieldError("uplinks", "'\(entry.trimmingSpaces)' is not INTERFACE:TECHNOLOGY (technology: \(AccessTechnology.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            uplinks.append(Uplink(name: parts[0], technology: tech))
        }
        let ingress = form["ingress"].map(\.trimmingSpaces).flatMap { $0.isEmpty ? nil : $0 }
        let vehicle = form["vehicle"].map(\.trimmingSpaces).flatMap { $0.isEmpty ? nil : $0 }
        self.init(name: name.trimmingSpaces, prefixes: prefixes, uplinks: uplinks, ingress: ingress, multipleCareOf: form["mcoa"] != nil,
                  vehicle: vehicle)
    }

    /// Every field checked against `settings`; the first problem named by its field.
    public func validate(against settings: ServiceSettings) throws(FieldError) {
        guard (1...64).contains(name.count),
              name.unicodeScalars.allSatisfy({ ($0.properties.isAlphabetic || $0.properties.numericType != nil || " ._-'".unicodeScalars.contains($0)) }) else {
            throw FieldError("name", "use 1 to 64 letters, digits, spaces, '.', '_', '-' or an apostrophe")
        }
        guard (0...settings.maximumPrefixesPerRouter).contains(prefixes) else {
            throw FieldError("prefixes", "ask for 1 to \(settings.maximumPrefixesPerRouter) prefixes (0 for a mobile host)")
        }
        guard (1...4).contains(uplinks.count) else {
            throw FieldError("uplinks", "give 1 to 4 uplinks as INTERFACE:TECHNOLOGY, e.g. wlan0:wlan, wwan0:cellular")
        }
        var seen = Set<String>()
        for u in uplinks {
            try RouterRequest.checkInterface(u.name, field: "uplinks")
            guard seen.insert(u.name).inserted else { throw FieldError("uplinks", "\(u.name) is listed twice") }
        }
        if let ingress {
            guard prefixes > 0 else {
                throw FieldError("ingress", "a mobile host (0 prefixes) has no network behind it: leave ingress empty, or ask for a prefix")
            }
            try RouterRequest.checkInterface(ingress, field: "ingress")
            guard !seen.contains(ingress) else { throw FieldError("ingress", "\(ingress) is also an uplink") }
        }
        if let vehicle, !SonarHandover.isVehicleID(vehicle) {
            throw FieldError("vehicle", "'\(vehicle.prefix(64))' is not a vehicle id on the map (1 to 64 of A-Z a-z 0-9 . _ -)")
        }
        if multipleCareOf && !settings.multipleCareOfAllowed {
            throw FieldError("mcoa", "this service does not allow several care-of addresses at once; untick it")
        }
    }

    /// A Linux interface name: 1 to 15 bytes, no '/', ':' or white space.
    static func checkInterface(_ name: String, field: String) throws(FieldError) {
        guard (1...15).contains(name.utf8.count), name != ".", name != "..",
              name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: ":") }) else {
            throw FieldError(field, "'\(name)' is not an interface name (1 to 15 printable characters, no '/', ':' or spaces)")
        }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        let s = drop { $0 == " " || $0 == "\t" }
        return String(s.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
