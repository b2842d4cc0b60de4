/// Every way `XMLReader` finds a document not well-formed (lines count from 1).
public enum XMLReadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The bytes end inside `what` (an open element, a tag, a comment, ...).
    case unexpectedEnd(inside: String, line: Int)
    /// `</found>` closes `<expected>`.
    case mismatchedEndTag(expected: String, found: String, line: Int)
    /// An end tag with no element open.
    case unopenedEndTag(found: String, line: Int)
    /// A tag or attribute name is missing or holds characters names cannot.
    case badName(line: Int)
    /// An attribute of `element` is not `name="value"` or `name='value'`.
    case badAttribute(element: String, line: Int)
    /// The same attribute twice on one element.
    case duplicateAttribute(element: String, name: String, line: Int)
    /// `&name;` for an entity XML does not predefine (no DTD is read).
    case unknownEntity(name: String, line: Int)
    /// `&...` without `;`, or a character reference to no allowed character.
    case badReference(String, line: Int)
    /// Text other than white space before or after the root element.
    case textOutsideRoot(line: Int)
    /// A second root element.
    case contentAfterRoot(line: Int)
    /// No element at all.
    case noRootElement
    /// Elements nested deeper than `limit`.
    case tooDeep(limit: Int, line: Int)

    public var description: String {
        switch self {
        case .unexpectedEnd(let what, let line): "the file ends inside \(what) (line \(line)); truncated?"
        case .mismatchedEndTag(let expected, let found, let line): "</\(found)> closes <\(expected)> at line \(line)"
        case .unopenedEndTag(let found, let line): "</\(found)> at line \(line) closes no element"
        case .badName(let line): "bad tag or attribute name at line \(line)"
        case .badAttribute(let element, let line): "bad attribute in <\(element)> at line \(line)"
        case .duplicateAttribute(let element, let name, let line): "attribute \(name) twice in <\(element)> at line \(line)"
        case .unknownEntity(let name, let line): "unknown entity &\(name); at line \(line)"
        case .badReference(let text, let line): "bad reference \"\(text)\" at line \(line)"
        case .textOutsideRoot(let line): "text outside the root element at line \(line)"
        case .contentAfterRoot(let line): "a second root element at line \(line)"
        case .noRootElement: "no root element"
        case .tooDeep(let limit, let line): "elements nested deeper than \(limit) at line \(line)"
        }
    }
}
