/// Why bytes are not a GPX document `GPXTrack` can read.
public enum GPXFormatError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not well-formed XML.
    case xml(XMLReadError)
    /// Well-formed, but the root element is not <gpx>.
    case rootIsNotGPX(found: String)

    public var description: String {
        switch self {
        case .xml(let error): "\(error)"
        case .rootIsNotGPX(let found): "the root element is <\(found)>, not <gpx>"
        }
    }
}
