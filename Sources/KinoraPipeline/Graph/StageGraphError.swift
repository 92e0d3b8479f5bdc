/// Why a workflow could not be expanded into stages.
public enum StageGraphError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Workflow items that do not fit their models (an image model asked to speak, a video shot on an image
    /// family); each names the file, line and field.
    case invalid([SourceIssue])

    public var description: String {
        switch self {
        case .invalid(let issues): return issues.map(\.description).joined(separator: "\n")
        }
    }
}
