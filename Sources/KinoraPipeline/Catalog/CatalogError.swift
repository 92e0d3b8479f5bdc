/// Why the catalog could not be read or a model could not be found.
public enum CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A catalog file could not be read.
    case unreadable(file: String, reason: String)
    /// Catalog files break the format; every problem, each with file, line and field.
    case invalid([SourceIssue])
    /// A workflow names a family the catalog does not have.
    case unknownFamily(String, location: SourceLocation, known: [String])
    /// A model's files were not found anywhere the search looked.
    case notFound(model: String, family: String, location: SourceLocation, searched: [String])
    /// A model was found but its files do not match any of the family's layouts.
    case incomplete(model: String, path: String, location: SourceLocation, problem: String)
    /// A LoRA file a model names was not found anywhere the search looked.
    case loraNotFound(file: String, model: String, location: SourceLocation, field: String, searched: [String])
    /// A LoRA path that names something other than a regular file (a folder, a device).
    case loraNotAFile(path: String, location: SourceLocation, field: String, kind: String)
    /// The diffusers folder a video model's single transformer file takes its other parts from was not found:
    /// `base` says what was looked for, `searched` every place looked in.
    case baseNotFound(model: String, base: String, location: SourceLocation, field: String, searched: [String])
    /// A `base` that cannot serve: given for a model that is no single transformer file, or not a folder.
    case baseRefused(location: SourceLocation, field: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read the catalog entry: \(reason)"
        case .invalid(let issues):
            return issues.map(\.description).joined(separator: "\n")
        case .unknownFamily(let family, let location, let known):
            return "\(location): unknown model family '\(family)'\(Suggestion.hint(for: family, in: known)); "
                + "the catalog has \(known.joined(separator: ", "))"
        case .notFound(let model, let family, let location, let searched):
            return "\(location): model '\(model)' (\(family)) not found; looked in:\n"
                + searched.map { "  \($0)" }.joined(separator: "\n")
        case .incomplete(let model, let path, let location, let problem):
            return "\(location): model '\(model)' at \(path): \(problem)"
        case .loraNotFound(let file, let model, let location, let field, let searched):
            return "\(location): \(field): LoRA '\(file)' of model '\(model)' not found; looked in:\n"
                + searched.map { "  \($0)" }.joined(separator: "\n")
        case .loraNotAFile(let path, let location, let field, let kind):
            return "\(location): \(field): \(path) is \(kind), not a LoRA file; name its .safetensors file"
        case .baseNotFound(let model, let base, let location, let field, let searched):
            return "\(location): \(field): '\(model)' is a single transformer file; its VAE, text encoder, tokenizer "
                + "and configuration come from \(base), which was not found; looked in:\n"
                + searched.map { "  \($0)" }.joined(separator: "\n")
        case .baseRefused(let location, let field, let reason):
            return "\(location): \(field): \(reason)"
        }
    }
}
