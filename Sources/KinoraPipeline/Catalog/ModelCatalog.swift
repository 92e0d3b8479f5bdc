import Foundation

/// The model families Kinora supports, read from the `models/` folder (one `<family>.yaml` per family).
public struct ModelCatalog: Sendable {
    public private(set) var families: [ModelFamily]

    public init(families: [ModelFamily]) {
        self.families = families.sorted { $0.name < $1.name }
    }

    /// Reads every `*.yaml` in `directory`. Each file's `family` must equal its name without the extension. Throws
    /// `CatalogError.invalid` with every problem of every file.
    public static func load(directory: URL) throws -> ModelCatalog {
        let files: [URL]
        do {
            // Resolved first: Foundation lists a symlinked folder as empty.
            files = try FileManager.default.contentsOfDirectory(at: directory.resolvingSymlinksInPath(),
                                                                includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "yaml" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        } catch {
            throw CatalogError.unreadable(file: directory.path, reason: error.localizedDescription)
        }
        var families: [ModelFamily] = []
        var issues: [SourceIssue] = []
        for file in files {
            let text: String
            do {
                text = try String(contentsOf: file, encoding: .utf8)
            } catch {
                throw CatalogError.unreadable(file: file.path, reason: error.localizedDescription)
            }
            do {
                let family = try parse(text, file: file.path)
                let stem = file.deletingPathExtension().lastPathComponent
                if family.name != stem {
                    issues.append(SourceIssue(location: family.location, field: "family",
                                              message: "'\(family.name)' must match the file name '\(stem)'"))
                }
                families.append(family)
            } catch CatalogError.invalid(let found) {
                issues += found
            } catch WorkflowError.syntax(let location, let message) {
                issues.append(SourceIssue(location: location, field: "(document)", message: message))
            }
        }
        issues += baseIssues(families)
        guard issues.isEmpty else { throw CatalogError.invalid(issues) }
        return ModelCatalog(families: families)
    }

    /// The problems of the families' `base` entries: each must name a family of the same latent space whose weights
    /// come as a diffusers folder.
    private static func baseIssues(_ families: [ModelFamily]) -> [SourceIssue] {
        families.compactMap { family -> SourceIssue? in
            guard let name = family.base else { return nil }
            func issue(_ message: String) -> SourceIssue {
                SourceIssue(location: family.location, field: "base", message: message)
            }
            guard let base = families.first(where: { $0.name == name }) else {
                return issue("no family '\(name)'\(Suggestion.hint(for: name, in: families.map(\.name)))")
            }
            guard base.output == .video, base.layouts.contains(where: { !$0.files.isEmpty }) else {
                return issue("'\(name)' has no diffusers folder layout of a video model to take the parts from")
            }
            guard [base.latentScale, base.latentChannels, base.latentTemporalScale]
                    == [family.latentScale, family.latentChannels, family.latentTemporalScale] else {
                return issue("'\(name)' has another latent space (scale \(base.latentScale), \(base.latentChannels) "
                             + "channels) than \(family.name)'s (scale \(family.latentScale), "
                             + "\(family.latentChannels) channels)")
            }
            return nil
        }
    }

    /// Reads one catalog entry; `file` names it in messages.
    public static func parse(_ text: String, file: String) throws -> ModelFamily {
        let document = try YAMLDocument(text: text, file: file)
        guard let root = document.root, let family = ModelFamily(reading: root), document.issues.isEmpty else {
            let issues = document.sortedIssues
            throw CatalogError.invalid(issues.isEmpty
                ? [SourceIssue(location: SourceLocation(file: file, line: 1, column: 1), field: "(document)",
                               message: "the file is empty")]
                : issues)
        }
        return family
    }

    /// The family named `name`, or nil.
    public func family(named name: String) -> ModelFamily? {
        families.first { $0.name == name }
    }

    /// The family of `model`; throws `CatalogError.unknownFamily` (with the closest name) when there is none.
    public func family(of model: ModelReference) throws -> ModelFamily {
        guard let family = family(named: model.family) else {
            throw CatalogError.unknownFamily(model.family, location: model.location, known: families.map(\.name))
        }
        return family
    }
}
