import Yams

/// A YAML file parsed into nodes that keep their line and column, with a list that collects every problem the
/// readers find so one run reports them all.
final class YAMLDocument {
    let file: String
    private let node: Node?
    private(set) var issues: [SourceIssue] = []

    /// Parses `text`; `file` is the name used in messages. Throws `WorkflowError.syntax` for malformed YAML.
    init(text: String, file: String) throws {
        self.file = file
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.syntaxError(error, file: file)
        }
    }

    /// The document's top-level value, or nil for an empty file.
    var root: YAMLField? {
        let start = SourceLocation(file: file, line: 1, column: 1)
        return node.map { YAMLField(node: $0, path: "", document: self, fallback: start) }
    }

    /// Records a problem at `location`.
    func report(_ location: SourceLocation, field: String, _ message: String) {
        issues.append(SourceIssue(location: location, field: field.isEmpty ? "(document)" : field, message: message))
    }

    /// The issues sorted by position in the file.
    var sortedIssues: [SourceIssue] {
        issues.enumerated().sorted { lhs, rhs in
            let (a, b) = (lhs.element.location, rhs.element.location)
            return (a.line, a.column, lhs.offset) < (b.line, b.column, rhs.offset)
        }.map(\.element)
    }

    private static func syntaxError(_ error: YamlError, file: String) -> WorkflowError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let prefix = context.map { $0.text + ": " } ?? ""
            return .syntax(location: SourceLocation(file: file, line: mark.line, column: mark.column),
                           message: prefix + problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .syntax(location: SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                           message: "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", "))")
        case .reader(let problem, let offset, _, _):
            return .syntax(location: SourceLocation(file: file, line: 1, column: 1),
                           message: problem + (offset.map { " at byte \($0)" } ?? ""))
        default:
            return .syntax(location: SourceLocation(file: file, line: 1, column: 1), message: "\(error)")
        }
    }
}
