/// Why a workflow file could not be turned into a `Workflow`.
public enum WorkflowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(file: String, reason: String)
    /// The text is not well-formed YAML.
    case syntax(location: SourceLocation, message: String)
    /// The YAML is well formed but breaks the format's rules; every problem found, in file order.
    case invalid([SourceIssue])

    /// The problems, one per line, each starting with `file:line:column: field:`.
    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read the workflow: \(reason)"
        case .syntax(let location, let message):
            return "\(location): not valid YAML: \(message)"
        case .invalid(let issues):
            return issues.map(\.description).joined(separator: "\n")
        }
    }

    /// The problems found, when the error is `invalid`.
    public var issues: [SourceIssue] {
        if case .invalid(let issues) = self { return issues }
        return []
    }
}
