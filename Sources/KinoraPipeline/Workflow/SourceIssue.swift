/// One problem found in a workflow or catalog file: where it is, which field, and what is wrong with it.
public struct SourceIssue: Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    /// The field's path from the document root, such as `shots[1].final.steps`.
    public var field: String
    public var message: String

    public init(location: SourceLocation, field: String, message: String) {
        self.location = location
        self.field = field
        self.message = message
    }

    /// `file:line:column: field: message`.
    public var description: String { "\(location): \(field): \(message)" }
}
