/// A form or API input that was refused: which field, and what is wrong with it in words a user
/// can act on. Every validator of the service reports through this type, so a page shows the
/// message next to its field and the API answers 400 with the same text.
public struct FieldError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var problem: String

    public init(_ field: String, _ problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field): \(problem)" }
}
